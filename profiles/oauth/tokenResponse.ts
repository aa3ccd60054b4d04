import { z } from 'zod';
import { AuthProfilesError } from '../errors';

/** The usable result of a token response, after validation (SECURITY.md #14–#16). */
export interface TokenSet {
  accessToken: string;
  refreshToken: string | null;
  tokenType: string;
  expiresAt: number;
  /** True when the provider sent no `expires_in` and the profile's default lifetime was assumed. */
  expiresAtEstimated: boolean;
  scopes: string[];
  /** OpenID Connect ID token, still unverified (see idToken.ts); null when none came. */
  idToken?: string | null;
  /**
   * The value of the response member the profile names in `apiBaseUrlFrom` (Salesforce's
   * `instance_url`), still unchecked (see providerUrls.ts); null when not asked for or absent.
   */
  apiBaseUrl?: string | null;
}

const expiresIn = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d{1,10}$/)
      .transform(Number),
  ])
  .pipe(
    z
      .number()
      .int()
      .min(0)
      .max(10 * 365 * 86400),
  );

// Loose: providers add fields (id_token, instance_url, hub_id, ...) that are no concern here.
const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1).max(16_384),
  token_type: z.string().min(1).max(40).optional(),
  expires_in: expiresIn.optional(),
  refresh_token: z.string().min(1).max(16_384).optional(),
  scope: z.string().max(8_192).optional(),
  id_token: z.string().min(1).max(16_384).optional(),
});

export interface TokenResponsePolicy {
  tokenTypes: readonly string[];
  defaultTokenTtlSeconds: number;
  requestedScopes: readonly string[];
  /** Response member that holds the connection's API base URL (profile `apiBaseUrlFrom`). */
  apiBaseUrlFrom?: string | undefined;
}

/**
 * Validates a token endpoint's parsed body. Never includes the body in an error: it may hold a
 * token (SECURITY.md #15). An `error` member in a 200 body (GitHub, Slack do this) is treated as an error.
 */
export function processTokenResponse(body: unknown, policy: TokenResponsePolicy, now: number): TokenSet {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('the token response is not a JSON object');
  }
  const error = (body as { error?: unknown }).error;
  if (typeof error === 'string' && !('access_token' in body)) {
    throw providerErrorFromCode(error, 200);
  }
  const parsed = tokenResponseSchema.safeParse(body);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(body)'))].join(
      ', ',
    );
    throw invalid(`the token response has missing or malformed fields: ${fields}`);
  }
  const response = parsed.data;
  // RFC 6749 §5.1 makes token_type required; a missing one is read as bearer, an unknown one refused.
  const tokenType = (response.token_type ?? 'bearer').toLowerCase();
  if (!policy.tokenTypes.some((accepted) => accepted.toLowerCase() === tokenType)) {
    throw invalid(
      `the token response has an unsupported token_type "${tokenType.replace(/[^a-z0-9_-]/g, '')}"`,
    );
  }
  const estimated = response.expires_in === undefined;
  const baseValue = policy.apiBaseUrlFrom === undefined ? undefined : response[policy.apiBaseUrlFrom];
  if (baseValue !== undefined && (typeof baseValue !== 'string' || baseValue.length > 2048)) {
    throw invalid(`the token response has a malformed ${policy.apiBaseUrlFrom}`);
  }
  const lifetime = response.expires_in ?? policy.defaultTokenTtlSeconds;
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token ?? null,
    tokenType,
    expiresAt: now + lifetime * 1000,
    expiresAtEstimated: estimated,
    // §5.1: no `scope` means the requested scope was granted.
    scopes:
      response.scope === undefined
        ? [...policy.requestedScopes]
        : response.scope.split(/[\s,]+/).filter(Boolean),
    idToken: response.id_token ?? null,
    apiBaseUrl: baseValue ?? null,
  };
}

/**
 * Maps an OAuth error code (RFC 6749 §5.2) and the HTTP status it came with to the catalogue; only a
 * safe code is kept, never the `error_description`, which some providers fill with the request.
 */
export function providerErrorFromCode(code: string, httpStatus: number): AuthProfilesError {
  const safe = safeErrorCode(code);
  const provider = { httpStatus, error: safe };
  if (safe === 'invalid_grant') {
    return new AuthProfilesError(
      'invalid-grant',
      'the provider rejected the grant (invalid_grant): authorize again',
      { provider },
    );
  }
  return new AuthProfilesError('provider-error', `the provider answered with error "${safe}"`, { provider });
}

/** An OAuth error code as sent, when it looks like one; `unknown_error` otherwise. */
export function safeErrorCode(code: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : 'unknown_error';
}

function invalid(message: string): AuthProfilesError {
  return new AuthProfilesError('invalid-token-response', message);
}
