import { isAuthProfilesError, type AuthProfilesError } from './errors';

/**
 * THE retry policy: when a failed outbound HTTP call may be sent again, for every caller — the token
 * endpoint (SECURITY.md #48, #19), revocation, and API reads such as the CRM client's.
 *
 * The rule is whether sending the call twice is safe. An authorization code is good for one exchange
 * and many providers rotate refresh tokens; sending either twice is read as theft and revokes the whole
 * grant (RFC 9700 §4.14, oidc-provider, Glewlwyd's one-use mode). So a call that spent one of them is
 * repeated only when it provably never reached the provider, or when the provider said it did not
 * handle it and when to come back. A timeout or a 5xx may come after the provider acted: its outcome
 * is unknown, and only a call that is safe to repeat (revocation, RFC 7009 §2.2; a read) is sent again.
 *
 * A 401 from an API is not a transient failure but a rejected token: the caller asks the token
 * service for a fresh one once (`getToken(…, { rejectedAccessToken })`), which is not a repeat of the
 * same request (hubspotClient.ts, connectionCheck.ts).
 */

/** The three token-endpoint calls. Revocation is idempotent (RFC 7009 §2.2); the other two are not. */
export type TokenCall = 'authorization_code' | 'refresh_token' | 'revocation';

/** A read of an API (a CRM list or search): it changes nothing, so sending it twice is harmless. */
export type ApiCall = 'api-read' | 'api-write';

export type OutboundCall = TokenCall | ApiCall;

/** Whether a call may be sent again when its first sending may have been processed. */
export const SAFE_TO_REPEAT: Readonly<Record<OutboundCall, boolean>> = {
  authorization_code: false,
  refresh_token: false,
  revocation: true,
  'api-read': true,
  // A write (an action that creates or changes something) may have happened when no answer came.
  'api-write': false,
};

export interface HttpPolicy {
  timeoutMs: number;
  /** Attempts in all, counting the first, for the failures `repeatDelay` allows. */
  attempts: number;
  /** First back-off after a failure that may be repeated; doubles each time, with jitter. */
  backoffMs: number;
  /**
   * Longest Retry-After honoured (default 2 s); a longer wait ends the attempt. Small for token calls,
   * because a refresh waits under a lease that must outlast all of its attempts.
   */
  maxRetryAfterMs?: number;
  /** The wait after a 429 that did not say when to come back; without it such a call is not repeated. */
  unsaidRetryAfterMs?: number;
  /**
   * Whether a call that timed out is repeated when it is safe to repeat (default yes). An interactive
   * caller says no: the user has already waited `timeoutMs` once.
   */
  repeatTimeouts?: boolean;
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
  | { kind: 'outcome-unknown'; detail: string; httpStatus?: number; timedOut?: boolean }
  /** A definite answer the caller must handle: a 4xx, or a 2xx that cannot be used. */
  | { kind: 'answered'; error: AuthProfilesError };

/**
 * Milliseconds to wait before sending `call` again after `failure` on attempt number `attempt`
 * (1 = the first), or null when it must not be sent again.
 */
export function repeatDelay(
  call: OutboundCall,
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
      const delay = failure.delayMs ?? policy.unsaidRetryAfterMs ?? null;
      return delay !== null && delay <= limit ? delay : null;
    }
    case 'outcome-unknown':
      // Revoking or reading twice is harmless; spending a code or refresh token twice is not.
      if (!SAFE_TO_REPEAT[call]) return null;
      if (failure.timedOut && policy.repeatTimeouts === false) return null;
      return backoff(policy, attempt);
    case 'answered':
      return null;
  }
}

function backoff(policy: HttpPolicy, attempt: number): number {
  const delay = policy.backoffMs * 2 ** (attempt - 1);
  return delay + Math.floor(Math.random() * delay * 0.2);
}

/**
 * The failure an HTTP status says, or null for an answer the caller handles itself (2xx, and 4xx
 * other than 429). A 429 never did the work; a 503 did not either when it says when to come back.
 * Without Retry-After a 503 may come from a proxy after the provider acted, like any other 5xx.
 */
export function failureOfStatus(
  status: number,
  retryAfter: string | string[] | null | undefined,
  now: number = Date.now(),
): CallFailure | null {
  if (status === 429 || status === 503) {
    const delayMs = retryAfterMs(retryAfter ?? undefined, now);
    if (status === 429 || delayMs !== null) return { kind: 'retry-after', httpStatus: status, delayMs };
  }
  if (status >= 500) return { kind: 'outcome-unknown', detail: `HTTP ${status}`, httpStatus: status };
  return null;
}

/**
 * What a `fetch` that threw (the engine's outbound client, or the global one) was: a refused address
 * (SECURITY.md #42) is a definite answer, a timeout an unknown outcome, a failed connect or lookup
 * never sent anything.
 */
export function failureOfFetchError(error: unknown): CallFailure {
  if (isAuthProfilesError(error, 'outbound-refused')) return { kind: 'answered', error };
  // AbortSignal.timeout() rejects with a DOMException named TimeoutError (not always instanceof Error).
  if ((error as { name?: unknown } | null)?.name === 'TimeoutError') {
    return { kind: 'outcome-unknown', detail: 'timeout', timedOut: true };
  }
  const cause = (error as { cause?: { code?: unknown; syscall?: unknown } } | null)?.cause ?? {};
  return notSentFailure(cause) ?? { kind: 'outcome-unknown', detail: 'network error' };
}

/** A failure raised before a single byte went out (connect() or the name lookup failed), else null. */
export function notSentFailure(cause: { code?: unknown; syscall?: unknown }): CallFailure | null {
  if (
    (typeof cause.syscall === 'string' && NOT_SENT_SYSCALLS.has(cause.syscall)) ||
    (typeof cause.code === 'string' && NOT_SENT_CODES.has(cause.code))
  ) {
    return { kind: 'not-sent', detail: notSentDetail(cause.code) };
  }
  return null;
}

// Errors raised before a single byte went out: the connect() or the name lookup failed.
export const NOT_SENT_SYSCALLS = new Set(['connect', 'getaddrinfo', 'getaddrinfo6']);
export const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
]);

export function notSentDetail(code: unknown): string {
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (typeof code === 'string' && code.startsWith('E') && NOT_SENT_CODES.has(code))
    return 'name not resolved';
  return 'no connection';
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date; null when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  if (/^\d{1,9}$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
