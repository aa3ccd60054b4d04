import debugModule from 'debug';
import { AuthorizationCode, type ModuleOptions } from 'simple-oauth2';
import { AuthProfilesError, isAuthProfilesError } from '../errors';
import { OutboundRefusedError, type CheckedUrl, type OutboundRequests } from '../outboundRequests';
import { providerErrorFromCode } from './tokenResponse';

/**
 * Token-endpoint calls (code exchange, refresh, revocation) through simple-oauth2, with a timeout,
 * bounded retries for transient failures (SECURITY row 19) and errors mapped to the catalogue
 * without the response body, which may contain tokens.
 */

// simple-oauth2 logs the Basic authorization header through `debug` when DEBUG names it; strip
// its namespaces so an operator's DEBUG=* cannot put client secrets in the logs (row 32).
if (process.env.DEBUG) {
  const kept = process.env.DEBUG.split(',').filter(
    (ns) => ns.trim() !== '' && !/^(simple-oauth2|\*)/.test(ns.trim()),
  );
  debugModule.enable(kept.join(','));
}

export interface TokenEndpointClient {
  clientId: string;
  clientSecret: string;
  authMethod: 'client_secret_basic' | 'client_secret_post';
}

export interface HttpPolicy {
  timeoutMs: number;
  /** Attempts in all, for transient failures only. */
  attempts: number;
  /** First back-off; doubles each time, with jitter. */
  backoffMs: number;
}

export const DEFAULT_HTTP_POLICY: HttpPolicy = { timeoutMs: 8000, attempts: 3, backoffMs: 250 };

function oauthFor(
  endpoint: CheckedUrl,
  client: TokenEndpointClient,
  policy: HttpPolicy,
  outbound: OutboundRequests,
): { oauth: AuthorizationCode; path: string } {
  // Only a checked URL is requested, and through the outbound lookup that refuses internal DNS
  // answers in production (SECURITY #41, #42); Wreck hands `lookup` to http.request.
  const url = new URL(outbound.check(endpoint.href, endpoint.field).href);
  const options: ModuleOptions = {
    client: { id: client.clientId, secret: client.clientSecret },
    auth: {
      tokenHost: url.origin,
      tokenPath: `${url.pathname}${url.search}`,
      revokePath: `${url.pathname}${url.search}`,
    },
    options: { authorizationMethod: client.authMethod === 'client_secret_basic' ? 'header' : 'body' },
    http: {
      timeout: policy.timeoutMs,
      redirects: 0,
      ...(outbound.lookup ? { lookup: outbound.lookup } : {}),
    },
  };
  return { oauth: new AuthorizationCode(options), path: url.pathname };
}

/** `grant_type=authorization_code`; returns the raw parsed body for `processTokenResponse`. */
export async function requestCodeToken(
  tokenUrl: CheckedUrl,
  client: TokenEndpointClient,
  params: { code: string; redirectUri: string; codeVerifier: string | null },
  policy: HttpPolicy,
  outbound: OutboundRequests,
): Promise<unknown> {
  const { oauth } = oauthFor(tokenUrl, client, policy, outbound);
  return withRetries(policy, async () => {
    const token = await oauth.getToken({
      code: params.code,
      redirect_uri: params.redirectUri,
      ...(params.codeVerifier ? { code_verifier: params.codeVerifier } : {}),
    } as Parameters<AuthorizationCode['getToken']>[0]);
    return token.token;
  });
}

/** `grant_type=refresh_token`. simple-oauth2's own copy of a missing refresh_token is unreliable; callers keep theirs. */
export async function requestRefreshToken(
  refreshUrl: CheckedUrl,
  client: TokenEndpointClient,
  refreshToken: string,
  policy: HttpPolicy,
  outbound: OutboundRequests,
): Promise<unknown> {
  const { oauth } = oauthFor(refreshUrl, client, policy, outbound);
  return withRetries(policy, async () => {
    const refreshed = await oauth.createToken({ refresh_token: refreshToken }).refresh();
    const body = { ...refreshed.token } as Record<string, unknown>;
    // simple-oauth2 adds `refresh_token: undefined` and `expires_at` of its own; drop both so the
    // body is what the provider sent.
    if (body.refresh_token === undefined) delete body.refresh_token;
    delete body.expires_at;
    return body;
  });
}

/** RFC 7009 revocation of one token. */
export async function revokeToken(
  revocationUrl: CheckedUrl,
  client: TokenEndpointClient,
  token: string,
  hint: 'access_token' | 'refresh_token',
  policy: HttpPolicy,
  outbound: OutboundRequests,
): Promise<void> {
  const { oauth } = oauthFor(revocationUrl, client, policy, outbound);
  await withRetries(policy, async () => {
    // `json: true` accepts the empty 200 most servers answer with (FACTS: simple-oauth2 revoke).
    await oauth.createToken({ [hint]: token }).revoke(hint, { json: true });
  });
}

async function withRetries<T>(policy: HttpPolicy, call: () => Promise<T>): Promise<T> {
  let delay = policy.backoffMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      const mapped = classifyTokenEndpointError(error);
      const retryable = mapped.code === 'provider-unavailable';
      if (!retryable || attempt >= policy.attempts) throw mapped;
      await new Promise((resolve) => setTimeout(resolve, delay + Math.floor(Math.random() * delay * 0.2)));
      delay *= 2;
    }
  }
}

interface BoomLike {
  isBoom?: boolean;
  message?: string;
  output?: { statusCode?: number };
  data?: { isResponseError?: boolean; payload?: unknown; res?: { statusCode?: number } } | null;
}

/** Maps a Wreck/Boom failure to the catalogue; the body is read for an `error` code only. */
export function classifyTokenEndpointError(error: unknown): AuthProfilesError {
  // Wreck "boomifies" the lookup's refusal (prefixing its message); hand on a clean copy. Never retried.
  if (error instanceof OutboundRefusedError) return new OutboundRefusedError(error.refusal);
  if (isAuthProfilesError(error)) return error;
  const boom = error as BoomLike;
  if (!boom || boom.isBoom !== true) {
    // simple-oauth2 chokes on odd bodies (a string, null) before we see them.
    return new AuthProfilesError(
      'invalid-token-response',
      'the token endpoint answered with an unreadable body',
    );
  }
  if (boom.data?.isResponseError !== true && boom.data?.res && isBodyReadFailure(boom)) {
    // The status line came, then the body timed out or the connection dropped: as transient as no
    // answer at all, whatever the status said (Wreck: clientTimeout 408, stream errors 500).
    return new AuthProfilesError(
      'provider-unavailable',
      'the provider stopped answering in the middle of a response (network error or timeout)',
    );
  }
  const status =
    boom.data?.res?.statusCode ?? (boom.data?.isResponseError ? boom.output?.statusCode : undefined);
  if (status === undefined) {
    // No response at all: connection refused, DNS, timeout.
    return new AuthProfilesError(
      'provider-unavailable',
      'the provider could not be reached (network error or timeout)',
    );
  }
  if (status >= 500 || status === 429) {
    return new AuthProfilesError('provider-unavailable', `the provider is unavailable (HTTP ${status})`);
  }
  if (status < 400) {
    return new AuthProfilesError(
      'invalid-token-response',
      'the token endpoint answered with a body that is not JSON',
    );
  }
  const payload = boom.data?.payload;
  const code =
    payload && typeof payload === 'object' && !Buffer.isBuffer(payload)
      ? (payload as { error?: unknown }).error
      : undefined;
  if (typeof code === 'string') return providerErrorFromCode(code);
  return new AuthProfilesError('provider-error', `the token endpoint refused the request (HTTP ${status})`);
}

/** Wreck's own errors while reading a body: 408 (read timeout) and 500 (stream error or cut short). */
function isBodyReadFailure(boom: BoomLike): boolean {
  const code = boom.output?.statusCode;
  return code === 408 || code === 500;
}
