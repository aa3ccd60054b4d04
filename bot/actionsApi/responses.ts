import type { Response } from 'restify';
import { ApiError } from '../admin/api/apiCall';

/**
 * Answers of the execute API and the proxy's own refusals, in the admin API's error shape
 * (`{ "error": { "code", "message", "issues"? } }`, bot/admin/api/apiCall.ts `ApiError`). Every answer is
 * `no-store`: it describes a user's or the organisation's data. A refusal of the proxy itself also says so
 * in `X-AuthProfiles-Error: <code>`, so a caller can tell it from an upstream answer with the same status.
 */

const HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'X-Content-Type-Options': 'nosniff',
};

export const ERROR_HEADER = 'X-AuthProfiles-Error';

export function sendJson(
  res: Response,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...HEADERS,
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** An ApiError with more members in `error` (e.g. `missingScopes`), for the execute API's outcomes. */
export class DetailedApiError extends ApiError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>>,
    issues: ApiError['issues'] = [],
    headers: Record<string, string> = {},
  ) {
    super(status, code, message, issues, headers);
  }

  override body(): { error: Record<string, unknown> } {
    const base = super.body();
    return { error: { ...base.error, ...this.details } };
  }
}

export function sendError(res: Response, error: ApiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, error.status, error.body(), { ...error.headers, [ERROR_HEADER]: error.code });
}

export { ApiError };
