import type { CheckedUrl, OutboundFetch, OutboundRequestInit, OutboundResponse } from '../outboundRequests';
import {
  failureOfFetchError,
  failureOfStatus,
  repeatDelay,
  type CallFailure,
  type HttpPolicy,
} from '../retryPolicy';
import type { TokenResult, TokenUnavailableReason } from '../tokens';

/**
 * One API request with a connection's token, shared by actions, the execute API and the proxy so all
 * three behave alike (issue 11 point 4): a 401 refreshes the token once and the request is sent again;
 * a 429 (or a 503 that says when) is waited out once when the wait is short; a network failure is
 * retried with back-off, and an unknown outcome (timeout, 5xx) only for a call that is safe to repeat.
 * Whatever the API answered last is returned for the caller to map; failures with no answer throw an
 * `ApiRequestError`. The token is only ever put in the Authorization header.
 */

/** For a person waiting in chat: one repeat at most, no second wait after a timeout. */
export const INTERACTIVE_API_POLICY: HttpPolicy = {
  timeoutMs: 10_000,
  attempts: 2,
  backoffMs: 300,
  maxRetryAfterMs: 10_000,
  unsaidRetryAfterMs: 1_000,
  // A timeout has already cost the user `timeoutMs`; another attempt would double it.
  repeatTimeouts: false,
};

export interface ApiTokenSource {
  get(): Promise<TokenResult>;
  /** The API answered 401 to `token`: refresh it (once) and return the new one. */
  refreshAfterRejection(token: string): Promise<TokenResult>;
}

export type ApiRequestErrorCode =
  | TokenUnavailableReason
  /** No answer: network failure, timeout, or a refused internal address (SECURITY.md #42). */
  | 'unavailable';

export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    readonly code: ApiRequestErrorCode,
    message: string,
    readonly details: { connectionId?: string; timedOut?: boolean; refused?: boolean } = {},
  ) {
    super(message);
  }
}

export interface AuthorizedRequest {
  url: CheckedUrl;
  method: NonNullable<OutboundRequestInit['method']>;
  /** Extra headers (never `authorization`: it is set here). */
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array;
  /** Safe to send twice when the first sending may have been processed (reads; not writes). */
  repeatable: boolean;
  tokens: ApiTokenSource;
  fetch: OutboundFetch;
  policy: HttpPolicy;
  /** Who the API is, for messages ("HubSpot"). */
  apiName: string;
  signal?: AbortSignal;
}

export interface AuthorizedResponse {
  response: OutboundResponse;
  /** The token the answer was obtained with, to redact it from anything shown (never shown itself). */
  accessToken: string;
  /** The token was refreshed after a 401 on the way. */
  refreshed: boolean;
}

/** Sends the request; see the module comment for what is repeated. */
export async function authorizedRequest(request: AuthorizedRequest): Promise<AuthorizedResponse> {
  let token = usable(await request.tokens.get());
  let refreshed = false;
  let rateLimited = 0;
  let failed = 0;
  const call = request.repeatable ? 'api-read' : 'api-write';
  // Each kind of repeat is bounded by the policy's attempts, and a refresh happens at most once.
  for (;;) {
    const sent = await send(request, token.accessToken, token.tokenType);
    if (isCallFailure(sent)) {
      const delay = repeatDelay(call, sent, (failed += 1), request.policy);
      if (delay === null) throw unavailable(request, sent);
      await sleep(delay, request.signal);
      continue;
    }
    if (sent.status === 401 && !refreshed) {
      await sent.body?.cancel();
      refreshed = true;
      token = usable(await request.tokens.refreshAfterRejection(token.accessToken));
      continue;
    }
    const failure = failureOfStatus(sent.status, sent.headers.get('retry-after'));
    if (failure) {
      const delay = repeatDelay(
        call,
        failure,
        failure.kind === 'retry-after' ? (rateLimited += 1) : (failed += 1),
        request.policy,
      );
      if (delay !== null) {
        await sent.body?.cancel();
        await sleep(delay, request.signal);
        continue;
      }
    }
    return { response: sent, accessToken: token.accessToken, refreshed };
  }
}

/** A send that got no usable answer, as opposed to an answer (which has a status). */
function isCallFailure(sent: OutboundResponse | CallFailure): sent is CallFailure {
  return 'kind' in sent;
}

function usable(result: TokenResult): { accessToken: string; tokenType: string } {
  if (result.ok) return { accessToken: result.accessToken, tokenType: result.tokenType };
  throw new ApiRequestError(result.reason, result.message, {
    ...(result.connectionId !== undefined ? { connectionId: result.connectionId } : {}),
  });
}

async function send(
  request: AuthorizedRequest,
  token: string,
  tokenType: string,
): Promise<OutboundResponse | CallFailure> {
  const headers: Record<string, string> = {
    ...request.headers,
    authorization: `${schemeOf(tokenType)} ${token}`,
  };
  const timeout = AbortSignal.timeout(request.policy.timeoutMs);
  try {
    return await request.fetch(request.url, {
      method: request.method,
      headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      signal: request.signal ? AbortSignal.any([request.signal, timeout]) : timeout,
    });
  } catch (error) {
    return failureOfFetchError(error);
  }
}

/** RFC 6750 names the scheme `Bearer`; providers with other token types (Slack's `bot`) still take Bearer. */
function schemeOf(_tokenType: string): string {
  return 'Bearer';
}

function unavailable(request: AuthorizedRequest, failure: CallFailure): ApiRequestError {
  if (failure.kind === 'answered') {
    // The API's host is internal and not allow-listed (SECURITY.md #42): no retry, no address shown.
    return new ApiRequestError('unavailable', `${request.apiName} cannot be reached from this service`, {
      refused: true,
    });
  }
  const timedOut = failure.kind === 'outcome-unknown' && failure.timedOut === true;
  return new ApiRequestError(
    'unavailable',
    timedOut
      ? `${request.apiName} did not answer within ${Math.round(request.policy.timeoutMs / 1000)} s`
      : failure.kind === 'outcome-unknown' && failure.httpStatus !== undefined
        ? `${request.apiName} is not answering properly right now (HTTP ${failure.httpStatus})`
        : `${request.apiName} could not be reached`,
    { timedOut },
  );
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
