// A STAND-IN for a provider's API (what a profile's apiBaseUrl points at), on a real HTTP server on
// 127.0.0.1: it checks bearer tokens by real RFC 7662 introspection at the test authorization server
// (oidc-provider), records every request exactly as it arrived, and answers either what a test
// scripted for a path or an echo of the request (Authorization included, as a careless API might), so
// tests can prove what the proxy forwards and that the token never comes back to the caller.
import { gzipSync } from 'node:zlib';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The request target as received (path and query). */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The bearer token it carried, if any. */
  token: string | undefined;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  /** A string, or a function of the request (e.g. to echo its token). */
  body?: string | ((request: RecordedRequest) => string);
  /** Send the body gzip-compressed with Content-Encoding: gzip. */
  gzip?: boolean;
}

export interface StandInApi {
  /** e.g. http://127.0.0.1:PORT */
  origin: string;
  requests: RecordedRequest[];
  /** The next requests to `path` (without query) get these answers, in order; then the echo again. */
  script(path: string, answers: ScriptedAnswer[]): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startStandInApi(
  options: { introspect?: (token: string) => Promise<{ active: boolean }> } = {},
): Promise<StandInApi> {
  const requests: RecordedRequest[] = [];
  const scripts = new Map<string, ScriptedAnswer[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const authorization = req.headers.authorization;
        const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
        const request: RecordedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          token,
        };
        requests.push(request);
        const path = (req.url ?? '').split('?')[0] ?? '';
        const scripted = scripts.get(path)?.shift();
        let answer: ScriptedAnswer;
        if (scripted) {
          answer = scripted;
        } else if (!token || (options.introspect && !(await options.introspect(token)).active)) {
          answer = {
            status: 401,
            headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
            body: JSON.stringify({ message: 'invalid token' }),
          };
        } else {
          answer = { status: 200, body: (r) => JSON.stringify({ echo: r }) };
        }
        let body: Buffer = Buffer.from(
          typeof answer.body === 'function' ? answer.body(request) : (answer.body ?? ''),
        );
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          ...answer.headers,
        };
        if (answer.gzip) {
          body = gzipSync(body);
          headers['content-encoding'] = 'gzip';
        }
        headers['content-length'] = String(body.length);
        res.writeHead(answer.status, headers);
        res.end(req.method === 'HEAD' ? undefined : body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    script(path, answers) {
      scripts.set(path, [...answers]);
    },
    reset() {
      requests.length = 0;
      scripts.clear();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
