import { AuthProfilesError, isAuthProfilesError } from '../errors';
import { OutboundRefusedError } from '../outboundRequests';
import { failureOfStatus, notSentFailure, type CallFailure, type TokenCall } from '../retryPolicy';
import { providerErrorFromCode } from './tokenResponse';

/**
 * What a failed token-endpoint call was, read from simple-oauth2's errors (Wreck errors wrapped in
 * Boom), and the error its caller sees once the retry policy (profiles/retryPolicy.ts) said no more.
 */

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
    return (
      notSentFailure(boom.data ?? {}) ?? { kind: 'outcome-unknown', detail: 'network error after connecting' }
    );
  }
  if (boom.data?.isResponseError !== true && isBodyReadFailure(boom)) {
    // The status line came, then the body timed out or the connection dropped (Wreck: clientTimeout
    // 408, stream errors 500): whatever the status said, the answer is lost.
    return { kind: 'outcome-unknown', detail: 'the answer was cut off', httpStatus: status };
  }
  const transient = failureOfStatus(status, res?.headers?.['retry-after'], now);
  if (transient) return transient;
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

/** Wreck's own errors while reading a body: 408 (read timeout) and 500 (stream error or cut short). */
function isBodyReadFailure(boom: BoomLike): boolean {
  const code = boom.output?.statusCode;
  return code === 408 || code === 500;
}
