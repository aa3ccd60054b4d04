import type { Request } from 'restify';
import { readJsonBody as readJson } from '../../http/requestBody';
import { ApiError } from './apiCall';

export const MAX_BODY_BYTES = 64 * 1024;
const MAX_JSON_DEPTH = 20;
/** Past this an oversized body is no longer drained (to answer 413 cleanly) but cut off. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

/**
 * JSON request bodies of the admin API: `application/json` only (415), at most 64 KiB (413), nested
 * at most 20 deep (400, counted before parsing), read by the shared reader (bot/http/requestBody.ts).
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
  const body = await readJson(req, {
    maxBytes: MAX_BODY_BYTES,
    drainLimitBytes: DRAIN_LIMIT_BYTES,
    maxDepth: MAX_JSON_DEPTH,
  });
  if (body.ok) return body.value;
  switch (body.problem) {
    case 'too-large':
      throw tooLarge();
    case 'not-utf8':
      throw new ApiError(400, 'invalid-body', 'the body is not valid UTF-8', [
        { path: '(body)', message: 'must be UTF-8' },
      ]);
    case 'empty':
      throw new ApiError(400, 'invalid-body', 'the body is empty; send a JSON object', [
        { path: '(body)', message: 'must be a JSON object' },
      ]);
    case 'too-deep':
      throw new ApiError(400, 'invalid-body', `the body is nested deeper than ${MAX_JSON_DEPTH} levels`, [
        { path: '(body)', message: `must be nested at most ${MAX_JSON_DEPTH} levels deep` },
      ]);
    case 'not-json':
      throw new ApiError(400, 'invalid-body', 'the body is not valid JSON', [
        { path: '(body)', message: 'must be valid JSON' },
      ]);
  }
}
