import type { Response } from 'restify';
import { TokenServiceError } from './tokenServiceError';

/**
 * HTTP answers of the token service. Every answer is `no-store`: token responses carry a token,
 * and the rest describe a user's connections.
 */

const HEADERS = { 'Cache-Control': 'no-store', Pragma: 'no-cache', 'X-Content-Type-Options': 'nosniff' };

export function sendJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * "No token": 404 with an EMPTY body. botframework-connector deserializes a 404 body of GetToken
 * as a TokenResponse, so any JSON here would make OAuthPrompt report a sign-in without a token.
 */
export function sendNoToken(res: Response): void {
  res.writeHead(404, { ...HEADERS, 'Content-Length': 0 });
  res.end();
}

export function sendServiceError(res: Response, error: TokenServiceError): void {
  if (error.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  if (error.status === 503) res.setHeader('Retry-After', '5');
  sendJson(res, error.status, {
    error: {
      code: error.code,
      message: error.message,
      ...(error.issues.length > 0 ? { issues: error.issues } : {}),
    },
  });
}

export function unexpectedError(): TokenServiceError {
  return new TokenServiceError(500, 'internal-error', 'the token service failed; try again');
}

export { TokenServiceError };
