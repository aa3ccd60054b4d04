import type { IncomingHttpHeaders } from 'node:http';
import { redactToken } from '../../profiles';

/**
 * What crosses the proxy in headers: allow-lists both ways (SECURITY.md, header smuggling). The caller's
 * own credentials and routing (`Authorization`, `Cookie`, `Host`, `X-AuthProfiles-*`, `X-Forwarded-*`,
 * hop-by-hop headers) never reach the provider; the provider's cookies and hop-by-hop headers never reach
 * the caller, and every response header value has the token replaced should it appear there.
 */

/** Request headers passed to the provider as the caller sent them. */
export const FORWARDED_REQUEST_HEADERS: readonly string[] = [
  'accept',
  'accept-language',
  'content-type',
  'content-language',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'idempotency-key',
  'prefer',
  'x-request-id',
];

/** Response headers passed back to the caller. */
export const RETURNED_RESPONSE_HEADERS: readonly string[] = [
  'content-type',
  'content-language',
  'content-disposition',
  'etag',
  'last-modified',
  'location',
  'link',
  'retry-after',
  'x-request-id',
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'x-hubspot-ratelimit-daily',
  'x-hubspot-ratelimit-daily-remaining',
  'x-hubspot-ratelimit-interval-milliseconds',
  'x-hubspot-ratelimit-max',
  'x-hubspot-ratelimit-remaining',
  'x-hubspot-ratelimit-secondly',
  'x-hubspot-ratelimit-secondly-remaining',
];

const MAX_HEADER_VALUE = 8 * 1024;

/** The provider request's headers, without Authorization (added by the one who holds the token). */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = incoming[name];
    const joined = Array.isArray(value) ? value.join(', ') : value;
    if (joined !== undefined && joined.length <= MAX_HEADER_VALUE) headers[name] = joined;
  }
  // The body is read back to redact the token, which a compressed body would hide.
  headers['accept-encoding'] = 'identity';
  return headers;
}

/** The caller's response headers: allow-listed, each with the token redacted. */
export function callerResponseHeaders(upstream: Headers, token: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of RETURNED_RESPONSE_HEADERS) {
    const value = upstream.get(name);
    if (value !== null && value.length <= MAX_HEADER_VALUE) headers[name] = redactToken(value, token);
  }
  return headers;
}
