import type { Request } from 'restify';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { readBodyBytes } from '../http/requestBody';
import { ApiError } from './responses';

/**
 * Bodies through the proxy, both bounded. The request body is read whole before anything is sent (it
 * may have to be sent twice: after a refresh on 401, or after a short 429), at most 1 MiB (413). The
 * response body is at most what the engine's outbound client reads (8 MiB, profiles/outboundRequests.ts)
 * and is decoded here when the provider compressed it despite `Accept-Encoding: identity`, so the token
 * can be looked for in it (profiles/actions/tokenRedaction.ts).
 */

export const MAX_REQUEST_BYTES = 1024 * 1024;
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export async function readProxyRequestBody(req: Request): Promise<Buffer | undefined> {
  const sends =
    Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!sends) return undefined;
  const body = await readBodyBytes(req, {
    maxBytes: MAX_REQUEST_BYTES,
    drainLimitBytes: 2 * MAX_REQUEST_BYTES,
  });
  if (body.ok) return body.value;
  throw new ApiError(
    413,
    'payload-too-large',
    `the request body is larger than ${MAX_REQUEST_BYTES / 1024 / 1024} MiB`,
    [{ path: '(body)', message: `must be at most ${MAX_REQUEST_BYTES} bytes` }],
    { Connection: 'close' },
  );
}

/** The body as plain bytes; null when its encoding is one this service does not decode. */
export function decodedBody(body: Buffer, contentEncoding: string | null): Buffer | null {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  const options = { maxOutputLength: MAX_RESPONSE_BYTES };
  try {
    switch (encoding) {
      case '':
      case 'identity':
        return body;
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body, options);
      case 'deflate':
        return inflateSync(body, options);
      case 'br':
        return brotliDecompressSync(body, options);
      default:
        return null;
    }
  } catch {
    return null;
  }
}
