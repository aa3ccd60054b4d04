// FAKE token endpoints, named by behaviour (as simple-oauth2's own tests do). They exist because a
// real authorization server (oidc-provider) never answers with a malformed body, and SECURITY rows
// 14–16 are about exactly those answers. Everything else is tested against the real server.
//
// Each behaviour lives at `/<behaviour>/token` on one small node:http server. Every body that
// carries a token carries FAKE_TOKEN_MARKER, so a test can prove the body reached no message or log.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** In every token (and most bodies) the fakes send; must never show up in an error or a log line. */
export const FAKE_TOKEN_MARKER = 'FAKE-TOKEN-MARKER-7f3c9a';

export const FAKE_BEHAVIOURS = [
  /** 200 with token_type and expires_in but no access_token (row 14). */
  'tokenSuccessWithoutAccessToken',
  /** 200 text/html page that contains a token (row 15). */
  'htmlBody',
  /** 200 JSON array around an otherwise valid token response (row 15). */
  'arrayBody',
  /** 200 JSON string (a bare token) instead of an object (row 15). */
  'stringBody',
  /** 200 object whose fields have the wrong types (row 15). */
  'wrongTypes',
  /** 200 valid body with token_type "MAC" (row 15). */
  'unknownTokenType',
  /** 200 valid bodies without expires_in; refresh works and also omits it (row 16). */
  'noExpiresIn',
  /** Like noExpiresIn but never issues a refresh token. */
  'noExpiresInNoRefreshToken',
  /** 200 with an OAuth error and no token, as GitHub answers a bad code. */
  'errorIn200Body',
  /** 503 with a JSON error body, every time (row 19). */
  'serverError503',
  /** Accepts the request and never answers (row 19). */
  'hangs',
  /** Sends 200 headers, then never finishes the body (row 19). */
  'hangsAfterHeaders',
  /** Proxies to `upstream` and drops refresh_token from refresh answers (row 17). */
  'refreshWithoutRefreshToken',
] as const;

export type FakeBehaviour = (typeof FAKE_BEHAVIOURS)[number];

export interface FakeTokenRequest {
  behaviour: string;
  grantType: string | null;
  /** The client authenticated with Basic credentials or client_secret in the form. */
  clientAuthenticated: boolean;
}

export interface FakeTokenEndpoints {
  port: number;
  url(behaviour: FakeBehaviour): string;
  requests: FakeTokenRequest[];
  /** Requests received by one behaviour, optionally of one grant type. */
  calls(behaviour: FakeBehaviour, grantType?: string): number;
  close(): Promise<void>;
}

export interface FakeTokenEndpointOptions {
  /** The real token endpoint `refreshWithoutRefreshToken` forwards to. */
  upstream?: string;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'cache-control': 'no-store' });
  res.end(text);
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startFakeTokenEndpoints(
  options: FakeTokenEndpointOptions = {},
): Promise<FakeTokenEndpoints> {
  const requests: FakeTokenRequest[] = [];
  let issued = 0;
  const token = (kind: 'at' | 'rt'): string => `${kind}-${FAKE_TOKEN_MARKER}-${(issued += 1)}`;

  const handlers: Record<
    FakeBehaviour,
    (
      req: http.IncomingMessage,
      res: http.ServerResponse,
      form: URLSearchParams,
      raw: Buffer,
    ) => void | Promise<void>
  > = {
    tokenSuccessWithoutAccessToken: (_req, res) =>
      sendJson(res, 200, { token_type: 'Bearer', expires_in: 3600, refresh_token: token('rt') }),
    htmlBody: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><body><p>Signed in</p><code>${token('at')}</code></body></html>`);
    },
    arrayBody: (_req, res) =>
      sendJson(res, 200, [{ access_token: token('at'), token_type: 'Bearer', expires_in: 3600 }]),
    stringBody: (_req, res) => sendJson(res, 200, token('at')),
    wrongTypes: (_req, res) =>
      sendJson(res, 200, {
        access_token: { value: token('at') },
        token_type: 7,
        expires_in: `3600 ${FAKE_TOKEN_MARKER}`,
        refresh_token: [token('rt')],
      }),
    unknownTokenType: (_req, res) =>
      sendJson(res, 200, {
        access_token: token('at'),
        token_type: 'MAC',
        mac_key: token('rt'),
        expires_in: 3600,
      }),
    noExpiresIn: (_req, res, form) =>
      sendJson(res, 200, {
        access_token: token('at'),
        token_type: 'bearer',
        // Rotates on every grant, like many SaaS providers.
        refresh_token: token('rt'),
        ...(form.get('grant_type') === 'authorization_code' ? { scope: 'crm.objects.deals.read' } : {}),
      }),
    noExpiresInNoRefreshToken: (_req, res) =>
      sendJson(res, 200, { access_token: token('at'), token_type: 'bearer' }),
    errorIn200Body: (_req, res) =>
      sendJson(res, 200, {
        error: 'bad_verification_code',
        error_description: `The code passed is incorrect or expired (${FAKE_TOKEN_MARKER}).`,
        error_uri: 'https://docs.github.com/apps/troubleshooting',
      }),
    serverError503: (_req, res) =>
      sendJson(res, 503, { error: 'temporarily_unavailable', error_description: FAKE_TOKEN_MARKER }),
    hangs: () => undefined,
    hangsAfterHeaders: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"access_token":"${token('at')}",`);
    },
    refreshWithoutRefreshToken: async (req, res, form, raw) => {
      if (!options.upstream) return sendJson(res, 500, { error: 'no upstream configured' });
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type', 'accept']) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const upstream = await fetch(options.upstream, { method: 'POST', headers, body: new Uint8Array(raw) });
      const text = await upstream.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        res.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'text/plain',
        });
        res.end(text);
        return;
      }
      if (form.get('grant_type') === 'refresh_token' && body && typeof body === 'object') {
        delete (body as Record<string, unknown>).refresh_token;
      }
      sendJson(res, upstream.status, body);
    },
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const match = /^\/([A-Za-z0-9]+)\/token$/.exec(new URL(req.url ?? '/', 'http://fake').pathname);
      const behaviour = match?.[1] as FakeBehaviour | undefined;
      const raw = await readBody(req);
      const form = new URLSearchParams(raw.toString('utf8'));
      if (req.method !== 'POST' || !behaviour || !(behaviour in handlers)) {
        return sendJson(res, 404, { error: 'not_found' });
      }
      requests.push({
        behaviour,
        grantType: form.get('grant_type'),
        clientAuthenticated: /^Basic\s/i.test(req.headers.authorization ?? '') || form.has('client_secret'),
      });
      await handlers[behaviour](req, res, form, raw);
    })().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'fake_failed', error_description: String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    port,
    url: (behaviour) => `http://127.0.0.1:${port}/${behaviour}/token`,
    requests,
    calls: (behaviour, grantType) =>
      requests.filter(
        (r) => r.behaviour === behaviour && (grantType === undefined || r.grantType === grantType),
      ).length,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on (bound, then released), for "connection refused". */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
