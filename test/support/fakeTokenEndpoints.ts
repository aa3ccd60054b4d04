// FAKE token endpoints, named by behaviour (as simple-oauth2's own tests do). They exist because a
// real authorization server (oidc-provider) never answers with a malformed body, times out after
// using a code, answers an empty 400 (Glewlwyd) or a tampered ID token, and SECURITY.md #14–#16 and
// #48–#50 are about exactly those answers. Everything else is tested against the real server.
//
// The fakes that "process" a request (timeoutAfterReceipt, serverError500AfterReceipt, ...) spend
// its code or refresh token as a real provider would: the same credential sent again is answered
// 400 invalid_grant, and `replays()` counts such second sendings.
//
// Each behaviour lives at `/<behaviour>/token` on one small node:http server. Every body that
// carries a token carries FAKE_TOKEN_MARKER, so a test can prove the body reached no message or log.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** In every token (and most bodies) the fakes send; must never show up in an error or a log line. */
export const FAKE_TOKEN_MARKER = 'FAKE-TOKEN-MARKER-7f3c9a';

export const FAKE_BEHAVIOURS = [
  /** 200 with token_type and expires_in but no access_token (SECURITY.md #14). */
  'tokenSuccessWithoutAccessToken',
  /** 200 text/html page that contains a token (SECURITY.md #15). */
  'htmlBody',
  /** 200 JSON array around an otherwise valid token response (SECURITY.md #15). */
  'arrayBody',
  /** 200 JSON string (a bare token) instead of an object (SECURITY.md #15). */
  'stringBody',
  /** 200 object whose fields have the wrong types (SECURITY.md #15). */
  'wrongTypes',
  /** 200 valid body with token_type "MAC" (SECURITY.md #15). */
  'unknownTokenType',
  /** 200 valid bodies without expires_in; refresh works and also omits it (SECURITY.md #16). */
  'noExpiresIn',
  /** Like noExpiresIn but never issues a refresh token. */
  'noExpiresInNoRefreshToken',
  /** 200 with an OAuth error and no token, as GitHub answers a bad code. */
  'errorIn200Body',
  /** 503 with a JSON error body, every time (SECURITY.md #19). */
  'serverError503',
  /** Accepts the request and never answers (SECURITY.md #19). */
  'hangs',
  /** Sends 200 headers, then never finishes the body (SECURITY.md #19). */
  'hangsAfterHeaders',
  /** Proxies to `upstream` and drops refresh_token from refresh answers (SECURITY.md #17). */
  'refreshWithoutRefreshToken',
  /** Spends the code or refresh token, then never answers: a timeout after receipt (SECURITY.md #48). */
  'timeoutAfterReceipt',
  /** Spends the code or refresh token, then answers 500 without Retry-After (SECURITY.md #48). */
  'serverError500AfterReceipt',
  /** 400 with an empty body, as Glewlwyd answers a dead refresh token (SECURITY.md #49). */
  'emptyBadRequest',
  /** 400 {"error":"invalid_grant"} to every refresh (SECURITY.md #18, #49). */
  'invalidGrant',
  /** 429 with `Retry-After: 1` the first time a credential is sent, a valid answer the second time. */
  'rateLimitedWithRetryAfter',
  /** 503 with `Retry-After: 1` the first time a credential is sent, a valid answer the second time. */
  'unavailableWithRetryAfter',
  /** 429 with `Retry-After: 3600`, every time: longer than anyone should wait inside a request. */
  'rateLimitedForAnHour',
  /** 429 without Retry-After, every time. */
  'rateLimitedWithoutRetryAfter',
  /** Valid answers whose access tokens live 60 s (issue 7 point 15: the refresh margin). */
  'shortLivedTokens',
  /** Valid answers with a Salesforce-style `instance_url` (`/instance-a/` on codes, `/instance-b/` on refreshes). */
  'withInstanceUrl',
  /** Valid answers whose `instance_url` is `http://169.254.169.254/latest` (cloud metadata). */
  'withUnsafeInstanceUrl',
  /** Proxies to `upstream` and changes the ID token's `sub`, keeping its signature (SECURITY.md #50). */
  'idTokenTampered',
  /** Proxies to `upstream` and answers with the first ID token it ever saw: valid signature, another sign-in's nonce. */
  'idTokenFromAnotherSignIn',
  /** Proxies to `upstream` and drops the ID token. */
  'idTokenMissing',
] as const;

export type FakeBehaviour = (typeof FAKE_BEHAVIOURS)[number];

export interface FakeTokenRequest {
  behaviour: string;
  grantType: string | null;
  /** The code or refresh token sent: for counting sendings of one credential. */
  credential: string | null;
  /** The client authenticated with Basic credentials or client_secret in the form. */
  clientAuthenticated: boolean;
}

export interface FakeTokenEndpoints {
  port: number;
  url(behaviour: FakeBehaviour): string;
  requests: FakeTokenRequest[];
  /** Requests received by one behaviour, optionally of one grant type. */
  calls(behaviour: FakeBehaviour, grantType?: string): number;
  /** Requests of one behaviour that carried a code or refresh token already sent to it before. */
  replays(behaviour: FakeBehaviour): number;
  /** A FAKE API check URL: `okTrue` answers 200 {"ok":true}, `okFalse` 200 {"ok":false,"error":"invalid_auth"} (Slack). */
  checkUrl(kind: 'okTrue' | 'okFalse'): string;
  /** Bearer tokens the FAKE check URLs received. */
  checkRequests: string[];
  close(): Promise<void>;
}

export interface FakeTokenEndpointOptions {
  /** The real token endpoint the proxying behaviours forward to. */
  upstream?: string;
  /** Listen on this port (default: any free one). */
  port?: number;
}

function credentialOf(form: URLSearchParams): string | null {
  return form.get('code') ?? form.get('refresh_token');
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
  /** Known once listening; the handlers that build URLs run after that. */
  let port = 0;
  const requests: FakeTokenRequest[] = [];
  const checkRequests: string[] = [];
  let issued = 0;
  const token = (kind: 'at' | 'rt'): string => `${kind}-${FAKE_TOKEN_MARKER}-${(issued += 1)}`;
  /** Credentials already received, per behaviour: what a provider that processed them knows. */
  const seen = new Map<string, number>();
  const sendings = (behaviour: string, form: URLSearchParams): number =>
    seen.get(`${behaviour}|${credentialOf(form)}`) ?? 0;
  const validAnswer = (form: URLSearchParams, extra: Record<string, unknown> = {}) => ({
    access_token: token('at'),
    token_type: 'Bearer',
    expires_in: 3600,
    refresh_token: token('rt'),
    ...(form.get('grant_type') === 'authorization_code' ? { scope: 'crm.objects.deals.read' } : {}),
    ...extra,
  });
  /** A second sending of a spent credential, as a provider that processed the first one answers it. */
  const spent = (res: http.ServerResponse) =>
    sendJson(res, 400, { error: 'invalid_grant', error_description: 'grant already used' });
  let firstIdToken: string | undefined;
  const proxy = async (
    req: http.IncomingMessage,
    raw: Buffer,
  ): Promise<{ status: number; body: Record<string, unknown> | null; text: string; type: string }> => {
    if (!options.upstream) throw new Error('no upstream configured');
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'accept']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const upstream = await fetch(options.upstream, { method: 'POST', headers, body: new Uint8Array(raw) });
    const text = await upstream.text();
    let body: Record<string, unknown> | null = null;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        body = parsed as Record<string, unknown>;
    } catch {
      body = null;
    }
    return {
      status: upstream.status,
      body,
      text,
      type: upstream.headers.get('content-type') ?? 'text/plain',
    };
  };
  const withIdToken = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    raw: Buffer,
    change: (idToken: string) => string | undefined,
  ) => {
    const answer = await proxy(req, raw);
    if (answer.body && typeof answer.body.id_token === 'string') {
      const changed = change(answer.body.id_token);
      if (changed === undefined) delete answer.body.id_token;
      else answer.body.id_token = changed;
    }
    if (!answer.body) {
      res.writeHead(answer.status, { 'content-type': answer.type });
      res.end(answer.text);
      return;
    }
    sendJson(res, answer.status, answer.body);
  };

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
      const answer = await proxy(req, raw);
      if (!answer.body) {
        res.writeHead(answer.status, { 'content-type': answer.type });
        res.end(answer.text);
        return;
      }
      if (form.get('grant_type') === 'refresh_token') delete answer.body.refresh_token;
      sendJson(res, answer.status, answer.body);
    },
    timeoutAfterReceipt: (_req, res, form) => {
      if (sendings('timeoutAfterReceipt', form) > 1) return spent(res);
      // Processed (the credential is spent); the answer never comes.
      return undefined;
    },
    serverError500AfterReceipt: (_req, res, form) => {
      if (sendings('serverError500AfterReceipt', form) > 1) return spent(res);
      sendJson(res, 500, { error: 'server_error', error_description: FAKE_TOKEN_MARKER });
    },
    emptyBadRequest: (_req, res) => {
      res.writeHead(400, { 'content-length': '0' });
      res.end();
    },
    invalidGrant: (_req, res) =>
      sendJson(res, 400, { error: 'invalid_grant', error_description: FAKE_TOKEN_MARKER }),
    rateLimitedWithRetryAfter: (_req, res, form) => {
      if (sendings('rateLimitedWithRetryAfter', form) > 1) return sendJson(res, 200, validAnswer(form));
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'slow_down' }));
    },
    unavailableWithRetryAfter: (_req, res, form) => {
      if (sendings('unavailableWithRetryAfter', form) > 1) return sendJson(res, 200, validAnswer(form));
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/html' });
      res.end('<html><body>Down for maintenance</body></html>');
    },
    rateLimitedForAnHour: (_req, res) => {
      res.writeHead(429, { 'retry-after': '3600', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'rate_limited' }));
    },
    rateLimitedWithoutRetryAfter: (_req, res) => sendJson(res, 429, { error: 'rate_limited' }),
    shortLivedTokens: (_req, res, form) => sendJson(res, 200, validAnswer(form, { expires_in: 60 })),
    withInstanceUrl: (_req, res, form) => {
      const instance = form.get('grant_type') === 'refresh_token' ? 'instance-b' : 'instance-a';
      sendJson(res, 200, validAnswer(form, { instance_url: `http://127.0.0.1:${port}/${instance}/` }));
    },
    withUnsafeInstanceUrl: (_req, res, form) =>
      sendJson(res, 200, validAnswer(form, { instance_url: 'http://169.254.169.254/latest' })),
    idTokenTampered: (req, res, _form, raw) =>
      withIdToken(req, res, raw, (idToken) => {
        const [header = '', payload = '', signature = ''] = idToken.split('.');
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
          string,
          unknown
        >;
        claims.sub = 'mallory';
        return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
      }),
    idTokenFromAnotherSignIn: (req, res, _form, raw) =>
      withIdToken(req, res, raw, (idToken) => {
        firstIdToken ??= idToken;
        return firstIdToken;
      }),
    idTokenMissing: (req, res, _form, raw) => withIdToken(req, res, raw, () => undefined),
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const pathname = new URL(req.url ?? '/', 'http://fake').pathname;
      const check = /^\/check\/(okTrue|okFalse)$/.exec(pathname);
      if (req.method === 'GET' && check) {
        checkRequests.push((req.headers.authorization ?? '').replace(/^Bearer\s+/i, ''));
        return sendJson(
          res,
          200,
          check[1] === 'okTrue' ? { ok: true } : { ok: false, error: 'invalid_auth' },
        );
      }
      const match = /^\/([A-Za-z0-9]+)\/token$/.exec(pathname);
      const behaviour = match?.[1] as FakeBehaviour | undefined;
      const raw = await readBody(req);
      const form = new URLSearchParams(raw.toString('utf8'));
      if (req.method !== 'POST' || !behaviour || !(behaviour in handlers)) {
        return sendJson(res, 404, { error: 'not_found' });
      }
      const credential = credentialOf(form);
      const key = `${behaviour}|${credential}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      requests.push({
        behaviour,
        grantType: form.get('grant_type'),
        credential,
        clientAuthenticated: /^Basic\s/i.test(req.headers.authorization ?? '') || form.has('client_secret'),
      });
      await handlers[behaviour](req, res, form, raw);
    })().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'fake_failed', error_description: String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    port,
    url: (behaviour) => `http://127.0.0.1:${port}/${behaviour}/token`,
    requests,
    checkRequests,
    checkUrl: (kind) => `http://127.0.0.1:${port}/check/${kind}`,
    replays: (behaviour) => {
      const counted = new Map<string, number>();
      let replays = 0;
      for (const request of requests) {
        if (request.behaviour !== behaviour || request.credential === null) continue;
        const times = (counted.get(request.credential) ?? 0) + 1;
        counted.set(request.credential, times);
        if (times > 1) replays += 1;
      }
      return replays;
    },
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
