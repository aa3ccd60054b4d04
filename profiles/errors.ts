/**
 * The engine's error catalogue. Every failure a caller may need to tell apart has a stable
 * string `code`; messages name the problem but never carry a token, code, secret or verifier.
 */
export type ErrorCode =
  | 'invalid-profile'
  | 'profile-not-found'
  | 'profile-read-only'
  | 'invalid-template-variable'
  | 'invalid-configuration'
  | 'encryption-key-unknown'
  | 'decryption-failed'
  | 'store-unavailable'
  | 'conflict'
  | 'authorization-request-invalid'
  | 'authorization-request-expired'
  | 'authorization-request-used'
  | 'browser-mismatch'
  | 'profile-mismatch'
  | 'issuer-mismatch'
  | 'duplicate-parameter'
  | 'consent-denied'
  | 'provider-error'
  | 'provider-unavailable'
  | 'outbound-refused'
  /** A token request that spent a one-time credential timed out or got a 5xx: it may have been processed (SECURITY.md #48). */
  | 'provider-outcome-unknown'
  | 'invalid-token-response'
  /** The ID token of an OpenID Connect sign-in failed verification (SECURITY.md #50). */
  | 'id-token-invalid'
  | 'invalid-grant'
  | 'not-connected'
  | 'needs-reauthorization'
  | 'pending-verification'
  | 'verification-failed'
  /** The connected account is not the one the profile's `requiredAccount` names (issue 10 point 4). */
  | 'wrong-account'
  | 'invalid-connection-name'
  /** Additional scopes asked for a sign-in are malformed, too many, or declared by nothing (issue 11 point 5). */
  | 'invalid-scopes'
  /** A profile has no declared action of that key (issue 11). */
  | 'action-not-found';

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `scopes.2` or `authorizationUrl`. */
  path: string;
  message: string;
}

/**
 * What the provider itself answered, when it answered: safe to log and to show (the HTTP status, an
 * OAuth error code checked against a strict pattern, an `error_description` cleaned by
 * `cleanProviderText`). Never a body, which may hold a token.
 */
export interface ProviderAnswer {
  /** HTTP status of the provider's answer; absent for a redirect (callback) error. */
  httpStatus?: number;
  /** OAuth `error` code, or null when the answer had none (Glewlwyd's empty 400). */
  error: string | null;
  description?: string;
}

export class AuthProfilesError extends Error {
  readonly code: ErrorCode;
  readonly issues: FieldIssue[];
  /** HTTP status a web edge should answer with. */
  readonly status: number;
  readonly provider: ProviderAnswer | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { issues?: FieldIssue[]; status?: number; cause?: unknown; provider?: ProviderAnswer } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthProfilesError';
    this.code = code;
    this.issues = options.issues ?? [];
    this.status = options.status ?? defaultStatus(code);
    this.provider = options.provider;
  }
}

function defaultStatus(code: ErrorCode): number {
  switch (code) {
    case 'invalid-profile':
    case 'invalid-template-variable':
    case 'authorization-request-invalid':
    case 'authorization-request-expired':
    case 'authorization-request-used':
    case 'browser-mismatch':
    case 'profile-mismatch':
    case 'issuer-mismatch':
    case 'duplicate-parameter':
    case 'consent-denied':
    case 'verification-failed':
    case 'invalid-scopes':
      return 400;
    case 'profile-not-found':
    case 'action-not-found':
    case 'not-connected':
      return 404;
    case 'profile-read-only':
    case 'wrong-account':
      return 403;
    case 'conflict':
      return 409;
    case 'provider-error':
    case 'outbound-refused':
    case 'invalid-token-response':
    case 'invalid-grant':
    case 'id-token-invalid':
      return 502;
    case 'provider-outcome-unknown':
      return 504;
    case 'provider-unavailable':
    case 'store-unavailable':
      return 503;
    default:
      return 500;
  }
}

export function isAuthProfilesError(value: unknown, code?: ErrorCode): value is AuthProfilesError {
  return value instanceof AuthProfilesError && (code === undefined || value.code === code);
}
