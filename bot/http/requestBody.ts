import { TextDecoder } from 'node:util';
import type { Request } from 'restify';

/**
 * The one request-body reader of every surface (admin API and pages, local Direct Line, demo CRM).
 * restify's bodyParser answers limits with its own error format and a reset connection; each surface
 * here answers in its own shape (JSON errors, an HTML page, Direct Line's or HubSpot's errors), so the
 * reader returns a problem for the caller to word instead of answering itself.
 *
 * Bounded: a body over `maxBytes` is read on (and discarded) up to `drainLimitBytes`, so the client
 * sees the answer rather than a reset connection; past that, or when Content-Length already says so,
 * the request is cut off. Text must be UTF-8 (a bad byte is refused, never replaced).
 */

export interface BodyLimits {
  maxBytes: number;
  /** Past this an oversized body is no longer drained but cut off; default 1 MiB (at least `maxBytes`). */
  drainLimitBytes?: number;
}

export type BodyProblem = 'too-large' | 'not-utf8' | 'empty' | 'too-deep' | 'not-json';

export type BodyResult<T> = { ok: true; value: T } | { ok: false; problem: BodyProblem };

const DEFAULT_DRAIN_LIMIT_BYTES = 1024 * 1024;

/** The body as UTF-8 text; an empty body is `''`. */
export async function readBodyText(req: Request, limits: BodyLimits): Promise<BodyResult<string>> {
  const bytes = await readBodyBytes(req, limits);
  if (!bytes.ok) return bytes;
  try {
    return { ok: true, value: new TextDecoder('utf-8', { fatal: true }).decode(bytes.value) };
  } catch {
    return { ok: false, problem: 'not-utf8' };
  }
}

/**
 * The body as JSON. `maxDepth` is checked before parsing, so a hostile nesting never reaches the
 * parser or the validators. A body a restify parser already parsed is taken as it is.
 */
export async function readJsonBody(
  req: Request,
  limits: BodyLimits & { maxDepth?: number },
): Promise<BodyResult<unknown>> {
  const parsed = (req as { body?: unknown }).body;
  if (parsed !== undefined && typeof parsed !== 'string' && !Buffer.isBuffer(parsed)) {
    return { ok: true, value: parsed };
  }
  const text = await readBodyText(req, limits);
  if (!text.ok) return text;
  if (text.value.trim() === '') return { ok: false, problem: 'empty' };
  if (limits.maxDepth !== undefined && jsonDepth(text.value) > limits.maxDepth) {
    return { ok: false, problem: 'too-deep' };
  }
  try {
    return { ok: true, value: JSON.parse(text.value) as unknown };
  } catch {
    return { ok: false, problem: 'not-json' };
  }
}

export async function readBodyBytes(req: Request, limits: BodyLimits): Promise<BodyResult<Buffer>> {
  const drainLimit = Math.max(limits.maxBytes, limits.drainLimitBytes ?? DEFAULT_DRAIN_LIMIT_BYTES);
  // Read already (a restify parser ran first): it never reads the stream twice.
  const already = (req as { body?: unknown }).body;
  if (typeof already === 'string' || Buffer.isBuffer(already)) {
    const bytes = Buffer.isBuffer(already) ? already : Buffer.from(already, 'utf8');
    return bytes.length > limits.maxBytes ? { ok: false, problem: 'too-large' } : { ok: true, value: bytes };
  }
  if (req.readableEnded) return { ok: true, value: Buffer.alloc(0) };
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > drainLimit) {
    req.destroy();
    return { ok: false, problem: 'too-large' };
  }
  let oversized = Number.isFinite(declared) && declared > limits.maxBytes;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > drainLimit) {
      req.destroy();
      return { ok: false, problem: 'too-large' };
    }
    if (size > limits.maxBytes) oversized = true;
    if (!oversized) chunks.push(buffer);
  }
  return oversized ? { ok: false, problem: 'too-large' } : { ok: true, value: Buffer.concat(chunks) };
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
