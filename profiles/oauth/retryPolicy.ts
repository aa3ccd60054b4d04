import { AuthProfilesError, isAuthProfilesError } from '../errors';
import { OutboundRefusedError } from '../outboundRequests';
import { providerErrorFromCode } from './tokenResponse';

/**
 * When a failed token-endpoint call may be sent again (SECURITY.md #48, #19).
 *
 * An authorization code is good for one exchange and many providers rotate refresh tokens; sending
 * either twice is read as theft and revokes the whole grant (RFC 9700 §4.14, oidc-provider,
 * Glewlwyd's one-use mode). So a call that spent one of them is repeated only when it provably
 * never reached the provider, or when the provider said it did not handle it and when to come
 * back. A timeout or a 5xx may come after the provider acted, so its outcome is reported as
 * unknown (`provider-outcome-unknown`) and nothing is re-sent.
 */

/** The three token-endpoint calls. Revocation is idempotent (RFC 7009 §2.2); the other two are not. */
export type TokenCall = 'authorization_code' | 'refresh_token' | 'revocation';

export interface HttpPolicy {
  timeoutMs: number;
  /** Attempts in all, counting the first, for the failures `repeatDelay` allows. */
  attempts: number;
  /** First back-off after a request that never left; doubles each time, with jitter. */
  backoffMs: number;
  /**
   * Longest Retry-After honoured (default 2 s); a longer wait ends the attempt. Small, because a
   * refresh waits under a lease that must outlast all of its attempts.
   */
  maxRetryAfterMs?: number;
}

export const DEFAULT_HTTP_POLICY: HttpPolicy = {
  timeoutMs: 8000,
  attempts: 3,
  backoffMs: 250,
  maxRetryAfterMs: 2000,
};

/** What is known about one failed call. */
export type CallFailure =
  /** It never reached the provider: connection refused, the name did not resolve, no route. */
  | { kind: 'not-sent'; detail: string }
  /** The provider declined to handle it now (429, or 503 with Retry-After); `delayMs` null when it did not say when. */
  | { kind: 'retry-after'; httpStatus: number; delayMs: number | null }
  /** It may have been processed: a timeout, a 5xx, a connection cut after sending, an answer cut short. */
  | { kind: 'outcome-unknown'; detail: string; httpStatus?: number }
  /** A definite answer the caller must handle: a 4xx, or a 2xx that cannot be used. */
  | { kind: 'answered'; error: AuthProfilesError };

/**
 * THE policy: milliseconds to wait before sending `call` again after `failure` on attempt number
 * `attempt` (1 = the first), or null when it must not be sent again.
 */
export function repeatDelay(
  call: TokenCall,
  failure: CallFailure,
  attempt: number,
  policy: HttpPolicy,
): number | null {
  if (attempt >= policy.attempts) return null;
  switch (failure.kind) {
    case 'not-sent':
      return backoff(policy, attempt);
    case 'retry-after': {
      const limit = policy.maxRetryAfterMs ?? DEFAULT_HTTP_POLICY.maxRetryAfterMs ?? 0;
      return failure.delayMs !== null && failure.delayMs <= limit ? failure.delayMs : null;
    }
    case 'outcome-unknown':
      // Revoking twice is harmless; spending a code or refresh token twice is not.
      return call === 'revocation' ? backoff(policy, attempt) : null;
    case 'answered':
      return null;
  }
}

/** The error a caller sees once `repeatDelay` said no more. */
export function failureError(call: TokenCall, failure: CallFailure): AuthProfilesError {
  switch (failure.kind) {
    case 'not-sent':
      return new AuthProfilesError(
        'provider-unavailable',
        `the provider could not be reached (${failure.detail})`,
      );
    case 'retry-after':
      return new AuthProfilesError(
        'provider-unavailable',
        failure.delayMs === null
          ? `the provider is busy (HTTP ${failure.httpStatus})`
          : `the provider is busy (HTTP ${failure.httpStatus}) and asked to wait ${Math.ceil(failure.delayMs / 1000)} s`,
        { provider: { httpStatus: failure.httpStatus, error: null } },
      );
    case 'outcome-unknown':
      if (call === 'revocation') {
        return new AuthProfilesError(
          'provider-unavailable',
          `the provider did not answer (${failure.detail})`,
        );
      }
      return new AuthProfilesError(
        'provider-outcome-unknown',
        `the provider did not answer (${failure.detail}); it may already have used the ${
          call === 'authorization_code' ? 'authorization code' : 'refresh token'
        }, so it was not sent again`,
        failure.httpStatus === undefined ? {} : { provider: { httpStatus: failure.httpStatus, error: null } },
      );
    case 'answered':
      return failure.error;
  }
}

function backoff(policy: HttpPolicy, attempt: number): number {
  const delay = policy.backoffMs * 2 ** (attempt - 1);
  return delay + Math.floor(Math.random() * delay * 0.2);
}

// Errors raised before a single byte went out: the connect() or the name lookup failed.
const NOT_SENT_SYSCALLS = new Set(['connect', 'getaddrinfo', 'getaddrinfo6']);
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
]);

interface BoomLike {
  isBoom?: boolean;
  output?: { statusCode?: number };
  data?: {
    isResponseError?: boolean;
    payload?: unknown;
    res?: { statusCode?: number; headers?: Record<string, string | string[] | undefined> };
    code?: unknown;
    syscall?: unknown;
  } | null;
}

/**
 * Reads a failure of simple-oauth2 (Wreck errors wrapped in Boom) without its body, which may hold
 * a token: only the status, the Retry-After header and an `error` code are looked at.
 */
export function classifyFailure(error: unknown, now: number = Date.now()): CallFailure {
  // The outbound lookup refused an internal address (SECURITY.md #42): nothing was sent, and nothing may
  // be; Wreck "boomifies" the refusal (prefixing its message), so hand on a clean copy.
  if (error instanceof OutboundRefusedError) {
    return { kind: 'answered', error: new OutboundRefusedError(error.refusal) };
  }
  if (isAuthProfilesError(error)) return { kind: 'answered', error };
  const boom = error as BoomLike | null;
  if (!boom || boom.isBoom !== true) {
    // Wreck's "aborted before a socket" is a plain ECONNRESET; anything else is simple-oauth2
    // choking on an odd body (a string, null) after the provider answered.
    if ((boom as { code?: unknown } | null)?.code === 'ECONNRESET') {
      return { kind: 'outcome-unknown', detail: 'connection reset' };
    }
    return {
      kind: 'answered',
      error: new AuthProfilesError(
        'invalid-token-response',
        'the token endpoint answered with an unreadable body',
      ),
    };
  }
  const res = boom.data?.res;
  const status = res?.statusCode;
  if (status === undefined) {
    if (boom.output?.statusCode === 504) return { kind: 'outcome-unknown', detail: 'timeout' };
    const cause = boom.data ?? {};
    if (
      (typeof cause.syscall === 'string' && NOT_SENT_SYSCALLS.has(cause.syscall)) ||
      (typeof cause.code === 'string' && NOT_SENT_CODES.has(cause.code))
    ) {
      return { kind: 'not-sent', detail: notSentDetail(cause.code) };
    }
    return { kind: 'outcome-unknown', detail: 'network error after connecting' };
  }
  if (boom.data?.isResponseError !== true && isBodyReadFailure(boom)) {
    // The status line came, then the body timed out or the connection dropped (Wreck: clientTimeout
    // 408, stream errors 500): whatever the status said, the answer is lost.
    return { kind: 'outcome-unknown', detail: 'the answer was cut off', httpStatus: status };
  }
  if (status === 429 || status === 503) {
    const delayMs = retryAfterMs(res?.headers?.['retry-after'], now);
    // A 429 never did the work. A 503 did not either when it says when to come back; without
    // Retry-After it may come from a proxy after the provider acted.
    if (status === 429 || delayMs !== null) return { kind: 'retry-after', httpStatus: status, delayMs };
  }
  if (status >= 500) return { kind: 'outcome-unknown', detail: `HTTP ${status}`, httpStatus: status };
  if (status < 400) {
    return {
      kind: 'answered',
      error: new AuthProfilesError(
        'invalid-token-response',
        'the token endpoint answered with a body that is not JSON',
      ),
    };
  }
  const payload = boom.data?.payload;
  const code =
    payload && typeof payload === 'object' && !Buffer.isBuffer(payload)
      ? (payload as { error?: unknown }).error
      : undefined;
  if (typeof code === 'string') return { kind: 'answered', error: providerErrorFromCode(code, status) };
  return {
    kind: 'answered',
    error: new AuthProfilesError(
      'provider-error',
      `the token endpoint refused the request (HTTP ${status}, no error code)`,
      { provider: { httpStatus: status, error: null } },
    ),
  };
}

function notSentDetail(code: unknown): string {
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (typeof code === 'string' && code.startsWith('E') && NOT_SENT_CODES.has(code))
    return 'name not resolved';
  return 'no connection';
}

/** Wreck's own errors while reading a body: 408 (read timeout) and 500 (stream error or cut short). */
function isBodyReadFailure(boom: BoomLike): boolean {
  const code = boom.output?.statusCode;
  return code === 408 || code === 500;
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date; null when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  if (/^\d{1,9}$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
