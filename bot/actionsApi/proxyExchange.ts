import {
  ApiRequestError,
  authorizedRequest,
  withPath,
  type ApiTokenSource,
  type AuthorizationEngine,
  type HttpPolicy,
  type TokenResult,
} from '../../profiles';
import type { ConnectionTarget } from './connectionTarget';
import { upstreamUrl, type ProxyTarget } from './proxyPath';
import { ApiError } from './responses';
import { tokenUnavailable } from './tokenUnavailable';

/**
 * One proxied exchange with the provider, through the engine's one authorized request
 * (profiles/actions/authorizedRequest.ts, shared with actions and chat): the token goes in the
 * Authorization header only; a 401 refreshes it once and the (buffered) request is sent again; a 429
 * with a Retry-After of at most 10 s is waited out and sent once more, a longer one is answered as is;
 * a 5xx or a timeout is repeated only for idempotent methods (RFC 9110 §9.2.2), never for POST or PATCH.
 * Whatever the provider answered last is returned, with the token it was obtained with (for redaction).
 */

export type ProxyMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const IDEMPOTENT: ReadonlySet<ProxyMethod> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

export const PROXY_POLICY: HttpPolicy = {
  timeoutMs: 15_000,
  attempts: 2,
  backoffMs: 300,
  maxRetryAfterMs: 10_000,
  unsaidRetryAfterMs: 1_000,
  // A caller that waited 15 s once should decide itself whether to wait again.
  repeatTimeouts: false,
};

export interface ProxyRequest {
  method: ProxyMethod;
  target: Pick<ProxyTarget, 'path' | 'search'>;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface ProxyAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
  /** Never sent anywhere: only to redact it from the answer. */
  token: string;
}

export async function proxyExchange(
  engine: AuthorizationEngine,
  target: ConnectionTarget,
  request: ProxyRequest,
): Promise<ProxyAnswer> {
  const { profile, subject } = target;
  const named = target.connection !== undefined ? { connection: target.connection } : {};
  const first = await engine.getToken(profile, subject, named);
  if (!first.ok) throw tokenUnavailable(target, first.reason);
  const base = engine.apiBaseUrl(profile, first);
  if (!base) {
    throw new ApiError(503, 'no-api-base', `${profile.displayName} has no API base URL configured`);
  }
  // Proven to stay under the base (proxyPath.ts), then made the checked URL the outbound client takes.
  const href = upstreamUrl(base.href, request.target);
  const url = withPath(base, `${request.target.path}${request.target.search}`);
  if (url.href !== href)
    throw new ApiError(400, 'invalid-proxy-path', 'the proxied path does not stay under the API base');

  let held: TokenResult | undefined = first;
  const tokens: ApiTokenSource = {
    get: async () => {
      const token = held;
      held = undefined;
      return token ?? engine.getToken(profile, subject, named);
    },
    refreshAfterRejection: (rejected) =>
      engine.getToken(profile, subject, { ...named, rejectedAccessToken: rejected }),
  };
  try {
    const { response, accessToken } = await authorizedRequest({
      url,
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      repeatable: IDEMPOTENT.has(request.method),
      tokens,
      fetch: engine.outboundFetch,
      policy: PROXY_POLICY,
      apiName: profile.displayName,
    });
    const body = Buffer.from(await response.arrayBuffer());
    const headers = new Headers(response.headers);
    // A 429 passed on says when to come back, as the provider said or after a second.
    if (response.status === 429 && !headers.has('retry-after')) headers.set('retry-after', '1');
    return { status: response.status, headers, body, token: accessToken };
  } catch (error) {
    if (!(error instanceof ApiRequestError)) throw error;
    if (error.code !== 'unavailable') throw tokenUnavailable(target, error.code);
    if (error.details.refused) {
      // The API host is internal and not allow-listed (SECURITY.md #42); the address is not repeated.
      throw new ApiError(
        502,
        'outbound-refused',
        `${profile.displayName} cannot be reached from this service`,
      );
    }
    throw new ApiError(
      error.details.timedOut ? 504 : 502,
      error.details.timedOut ? 'upstream-timeout' : 'upstream-unavailable',
      error.message,
    );
  }
}
