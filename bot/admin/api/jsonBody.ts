import type { Request } from 'restify';
import { TextDecoder } from 'node:util';
import { ApiError } from './apiCall';

export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_JSON_DEPTH = 20;
/** Past this an oversized body is no longer drained (to answer 413 cleanly) but cut off. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

/**
 * JSON request bodies of the admin API: `application/json` only (415), at most 64 KiB (413), nested
 * at most 20 deep (400, counted before parsing).
 */

function isJsonContentType(header: string | undefined): boolean | 'charset' {
  if (!header) return false;
  const [type = '', ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  for (const param of params) {
    const [key, value = ''] = param.split('=').map((part) => part.trim());
    if (key === 'charset' && value.replace(/"/g, '') !== 'utf-8') return 'charset';
  }
  return true;
}

function tooLarge(): ApiError {
  return new ApiError(
    413,
    'payload-too-large',
    `the request body is larger than ${MAX_BODY_BYTES / 1024} KiB`,
    [{ path: '(body)', message: `must be at most ${MAX_BODY_BYTES} bytes` }],
    { Connection: 'close' },
  );
}

/** Deepest nesting of arrays/objects in JSON text, counted without parsing (strings skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i += 1;
      else if (char === 0x22) inString = false;
      continue;
    }
    if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) {
      depth += 1;
      if (depth > max) max = depth;
    } else if (char === 0x7d || char === 0x5d) depth -= 1;
  }
  return max;
}

export async function readJsonBody(req: Request): Promise<unknown> {
  const type = isJsonContentType(req.headers['content-type']);
  if (type !== true) {
    throw new ApiError(
      415,
      'unsupported-media-type',
      type === 'charset'
        ? 'the body must be UTF-8 encoded JSON'
        : 'the body must be JSON sent as Content-Type: application/json',
    );
  }
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  const chunks: Buffer[] = [];
  let size = 0;
  let oversized = Number.isFinite(declared) && declared > MAX_BODY_BYTES;
  if (Number.isFinite(declared) && declared > DRAIN_LIMIT_BYTES) {
    req.destroy();
    throw tooLarge();
  }
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > DRAIN_LIMIT_BYTES) {
      req.destroy();
      throw tooLarge();
    }
    if (size > MAX_BODY_BYTES) oversized = true;
    // Keep reading (and discarding) so the client sees the 413 rather than a reset connection.
    if (!oversized) chunks.push(buffer);
  }
  if (oversized) throw tooLarge();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new ApiError(400, 'invalid-body', 'the body is not valid UTF-8', [
      { path: '(body)', message: 'must be UTF-8' },
    ]);
  }
  if (text.trim() === '') {
    throw new ApiError(400, 'invalid-body', 'the body is empty; send a JSON object', [
      { path: '(body)', message: 'must be a JSON object' },
    ]);
  }
  // Checked before parsing, so a hostile nesting never reaches the parser or the validators.
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new ApiError(400, 'invalid-body', `the body is nested deeper than ${MAX_JSON_DEPTH} levels`, [
      { path: '(body)', message: `must be nested at most ${MAX_JSON_DEPTH} levels deep` },
    ]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'invalid-body', 'the body is not valid JSON', [
      { path: '(body)', message: 'must be valid JSON' },
    ]);
  }
}
