// SECURITY.md #41 and #42 at request time: in production the engine resolves a profile's host when it
// connects and refuses a loopback, private or link-local answer, so a name that points at the service's
// own network gets no connection at all; the operator's allow-list lets a private provider through.
//
// The "provider" is a real TCP server on 127.0.0.1 that counts connections and keeps the first bytes
// each one sent (a TLS ClientHello, which names the host). The profiles use public-looking names, which
// a FAKE resolver maps to 127.0.0.1 or 10.0.0.5: there is no DNS server here to publish such records.
import net, { type AddressInfo } from 'node:net';
import { checkConnection } from '../../profiles/connectionCheck';
import { saveConnection } from '../../profiles/connections';
import { isAuthProfilesError } from '../../profiles/errors';
import { requestRefreshToken } from '../../profiles/oauth/tokenEndpoint';
import { parseOutboundAllowList } from '../../profiles/outboundAddress';
import {
  checkOutboundUrl,
  guardedLookup,
  OutboundRefusedError,
  OutboundRequests,
  type CheckedUrl,
  type ResolvedAddress,
  type Resolver,
} from '../../profiles/outboundRequests';
import type { ProfileValidationOptions } from '../../profiles/profileSchema';
import { ORGANIZATION, subjectKey, type Subject } from '../../profiles/subjects';
import { createHarness, FAST_SETTINGS, USER, type Harness } from '../support/engineHarness';

const CLIENT_SECRET = 'ssrf-client-secret-5e6f7a8b9c0d';
const ACCESS_TOKEN = 'ssrf-access-token-1a2b3c4d5e6f';
const REFRESH_TOKEN = 'ssrf-refresh-token-7g8h9i0j1k2l';
const CODE = 'ssrf-authorization-code-3m4n5o6p';
const SECRETS = [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, CODE];

const PRODUCTION: ProfileValidationOptions = { allowInsecureLoopback: false };
/** One attempt per request, so a counted connection is one request. */
const ONE_ATTEMPT = { http: { ...FAST_SETTINGS.http, attempts: 1 } };

interface CountingServer {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** The first bytes of each connection, as latin1 text. */
  firstBytes: string[];
  close(): Promise<void>;
}

/** A real server on 127.0.0.1 that counts connections, keeps the first bytes, then hangs up. */
async function startCountingServer(): Promise<CountingServer> {
  const sockets = new Set<net.Socket>();
  const state: CountingServer = {
    port: 0,
    connections: 0,
    firstBytes: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', (chunk) => {
      state.firstBytes.push(chunk.toString('latin1'));
      socket.destroy();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.port = (server.address() as AddressInfo).port;
  return state;
}

/** FAKE resolver: answers from a fixed table (no DNS server here publishes these names). */
function fakeResolver(table: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve: Resolver = async (hostname) => {
    asked.push(hostname);
    const answers = table[hostname];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return answers.map((address): ResolvedAddress => ({ address, family: net.isIP(address) }));
  };
  return Object.assign(resolve, { asked });
}

function providerProfile(id: string, origin: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    displayName: `Provider ${id}`,
    authorizationUrl: `${origin}/authorize`,
    tokenUrl: `${origin}/token`,
    revocationUrl: `${origin}/revoke`,
    checkUrl: `${origin}/me`,
    clientId: 'ssrf-client',
    clientSecret: CLIENT_SECRET,
    scopes: ['read'],
    pkce: true,
    ...extra,
  };
}

/** A stored connection with the test tokens; expired unless `validForMs` says otherwise. */
async function connect(harness: Harness, profileId: string, subject: Subject = USER, validForMs = -1000) {
  const profile = await harness.engine.catalog.get(profileId);
  const { connection } = await saveConnection(
    harness.context,
    profile,
    subjectKey(subject),
    {
      accessToken: ACCESS_TOKEN,
      refreshToken: REFRESH_TOKEN,
      tokenType: 'bearer',
      expiresAt: harness.clock() + validForMs,
      expiresAtEstimated: false,
      scopes: ['read'],
    },
    { createdBy: 'test', requireVerification: false },
  );
  return { profile, connection };
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

let server: CountingServer;
const harnesses: Harness[] = [];

async function harnessFor(
  profiles: Record<string, unknown>[],
  resolve: Resolver,
  validation: ProfileValidationOptions = PRODUCTION,
): Promise<Harness> {
  const harness = await createHarness({ profiles, validation, resolve, settings: ONE_ATTEMPT });
  harnesses.push(harness);
  return harness;
}

beforeEach(async () => {
  server = await startCountingServer();
});

afterEach(async () => {
  await server.close();
  while (harnesses.length > 0) await harnesses.pop()?.close();
});

describe('#42: a name that resolves to an internal address gets no connection in production', () => {
  test('refresh: the token endpoint is never contacted; the log names host and address, no secret', async () => {
    const resolve = fakeResolver({ 'auth.provider.example': ['127.0.0.1'] });
    const harness = await harnessFor(
      [providerProfile('named-loopback', `https://auth.provider.example:${server.port}`)],
      resolve,
    );
    const { profile } = await connect(harness, 'named-loopback');

    const result = await harness.engine.getToken(profile, USER);

    expect(server.connections).toBe(0);
    expect(result).toMatchObject({
      ok: false,
      reason: 'provider-unavailable',
      message:
        'Provider named-loopback cannot be reached from this service (its address is not allowed); ask an administrator',
    });
    expect(server.connections).toBe(0);
    // Resolved once (the refusal is not retried), then refused.
    expect(resolve.asked).toEqual(['auth.provider.example']);
    const line = harness.log.lines.find((entry) => entry.message === 'refresh failed');
    expect(line?.fields).toMatchObject({
      errorCode: 'outbound-refused',
      refusal:
        'auth.provider.example resolves to 127.0.0.1, a loopback address; outbound requests to internal addresses are refused unless allow-listed',
    });
    expectNoSecret(harness.log.text());
    expectNoSecret(JSON.stringify(result));
  });

  test('pre-authorization: the code exchange does not send the client credentials to 127.0.0.1', async () => {
    const resolve = fakeResolver({ 'login.provider.example': ['127.0.0.1'] });
    const harness = await harnessFor(
      [
        providerProfile('org-named-loopback', `https://login.provider.example:${server.port}`, {
          authorization: 'pre-authorized',
        }),
      ],
      resolve,
    );
    const profile = await harness.engine.catalog.get('org-named-loopback');
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject: ORGANIZATION,
      createdBy: 'admin:ops',
    });
    const started = await harness.engine.startAuthorization(created.requestId, undefined);
    const state = new URL(started.redirectUrl).searchParams.get('state') ?? '';

    const outcome = await harness.engine.completeCallback({
      profileId: profile.id,
      query: new URLSearchParams({ code: CODE, state }).toString(),
      browserBinding: started.binding,
    });

    expect(server.connections).toBe(0);
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.code).toBe('outbound-refused');
    expect(outcome.error.message).toBe(
      'login.provider.example resolves to 127.0.0.1, a loopback address; outbound requests to internal addresses are refused unless allow-listed',
    );
    expect(await harness.store.connections.get(profile.id, 'org')).toBeNull();
    expectNoSecret(`${outcome.error.message} ${harness.log.text()}`);
  });

  test('connection check: a check URL whose name resolves to 10.0.0.5 is not called, and says why', async () => {
    const resolve = fakeResolver({ 'api.provider.example': ['10.0.0.5'] });
    const harness = await harnessFor(
      [
        providerProfile('named-private', 'https://auth.acme.example', {
          checkUrl: 'https://api.provider.example/me',
        }),
      ],
      resolve,
    );
    const { connection } = await connect(harness, 'named-private', USER, 3_600_000);

    const check = await checkConnection(harness.context, harness.engine.tokens, connection.id);

    expect(check).toMatchObject({
      ok: false,
      reason: 'outbound-refused',
      detail:
        'api.provider.example resolves to 10.0.0.5, a private address; outbound requests to internal addresses are refused unless allow-listed',
      refreshed: false,
    });
    expect(resolve.asked).toEqual(['api.provider.example']);
  });

  test('revocation: a revocation URL that resolves to 127.0.0.1 is not called; the connection is deleted here', async () => {
    const resolve = fakeResolver({ 'auth.provider.example': ['127.0.0.1'] });
    const harness = await harnessFor(
      [providerProfile('revoke-named-loopback', `https://auth.provider.example:${server.port}`)],
      resolve,
    );
    const { connection } = await connect(harness, 'revoke-named-loopback', USER, 3_600_000);

    const outcome = await harness.engine.revokeById(connection.id, 'admin:ops');

    expect(server.connections).toBe(0);
    expect(outcome).toEqual({ revokedAtProvider: false, providerError: 'outbound-refused' });
    expect(await harness.store.connections.getById(connection.id)).toBeNull();
  });

  test('API calls (actions): an API base on a name that resolves to 127.0.0.1 is not called', async () => {
    // Chat's CRM commands are actions of the profile now (issue 11 point 6): engine.runAction's request
    // goes through the same outbound client as the token endpoint's.
    const resolve = fakeResolver({
      'auth.provider.example': ['93.184.216.34'],
      'api.crm.example': ['127.0.0.1'],
    });
    const harness = await harnessFor(
      [
        providerProfile('api-loopback', 'https://auth.provider.example', {
          displayName: 'HubSpot',
          apiBaseUrl: `https://api.crm.example:${server.port}`,
          actions: [
            {
              entity: 'deals',
              action: 'list',
              title: 'Deals',
              path: '/crm/v3/objects/deals',
              results: { path: 'results', fields: [{ path: 'id', label: 'Id' }] },
            },
          ],
        }),
      ],
      resolve,
    );
    const { profile } = await connect(harness, 'api-loopback', USER, 60_000);

    const outcome = await harness.engine.runAction(profile, USER, 'deals.list', {});

    expect(server.connections).toBe(0);
    expect(outcome).toMatchObject({
      ok: false,
      code: 'unavailable',
      message: 'HubSpot cannot be reached from this service',
    });
    expectNoSecret(JSON.stringify(outcome) + harness.log.text());
  });

  test('any internal answer among public ones is enough to refuse', async () => {
    const lookup = guardedLookup(
      PRODUCTION,
      fakeResolver({ 'mixed.example': ['93.184.216.34', '127.0.0.1'], 'public.example': ['93.184.216.34'] }),
    );
    const ask = (host: string) =>
      new Promise<{ error: Error | null; addresses: unknown }>((resolve) =>
        lookup(host, { all: true }, (error, addresses) => resolve({ error, addresses })),
      );

    const mixed = await ask('mixed.example');
    expect(isAuthProfilesError(mixed.error, 'outbound-refused')).toBe(true);
    expect(mixed.error?.message).toMatch(/^mixed\.example resolves to 127\.0\.0\.1, a loopback address/);
    expect(await ask('public.example')).toEqual({
      error: null,
      addresses: [{ address: '93.184.216.34', family: 4 }],
    });
  });
});

describe('#41: the rendered URL is checked again right before each request', () => {
  test('a stored profile that escaped the save-time rule still gets no request (host from a variable)', async () => {
    const resolve = fakeResolver({});
    // The catalog was built under the dev rule (so the profile loads), the engine sends under production's.
    const harness = await harnessFor(
      [
        providerProfile('templated-loopback', `https://{{h}}:${server.port}`, {
          variables: { h: {} },
          variableValues: { h: '127.0.0.1' },
        }),
      ],
      resolve,
      { allowInsecureLoopback: true },
    );
    harness.context.outbound = new OutboundRequests(PRODUCTION, { resolve });
    const { profile } = await connect(harness, 'templated-loopback');

    const result = await harness.engine.getToken(profile, USER);

    expect(server.connections).toBe(0);
    expect(result).toMatchObject({ ok: false, reason: 'provider-unavailable' });
    expect(harness.log.lines.find((entry) => entry.message === 'refresh failed')?.fields).toMatchObject({
      errorCode: 'outbound-refused',
      refusal: 'refreshUrl must not point at a loopback, private or link-local address',
    });
    expect(resolve.asked).toEqual([]);
  });

  test('a forged CheckedUrl is checked again by the token endpoint client', async () => {
    const outbound = new OutboundRequests(PRODUCTION, { resolve: fakeResolver({}) });
    const forged = {
      href: `https://127.0.0.1:${server.port}/token`,
      field: 'refreshUrl',
    } as unknown as CheckedUrl;

    const error = await requestRefreshToken(
      forged,
      { clientId: 'ssrf-client', clientSecret: CLIENT_SECRET, authMethod: 'client_secret_basic' },
      REFRESH_TOKEN,
      ONE_ATTEMPT.http,
      outbound,
    ).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(server.connections).toBe(0);
    expect(isAuthProfilesError(error, 'outbound-refused')).toBe(true);
  });
});

test('#41: a URL checked under the dev rule is checked again by the production fetch', async () => {
  const dev = new OutboundRequests({ allowInsecureLoopback: true });
  const production = new OutboundRequests(PRODUCTION, { resolve: fakeResolver({}) });
  const devChecked = dev.check(`https://127.0.0.1:${server.port}/me`, 'checkUrl');

  const error = await production.fetch(devChecked).then(
    () => undefined,
    (caught: unknown) => caught,
  );

  expect(server.connections).toBe(0);
  expect(isAuthProfilesError(error, 'outbound-refused')).toBe(true);
});

describe('#42: the operator allow-list lets a provider on a private network be reached', () => {
  test.each([['auth.provider.example'], ['127.0.0.0/8']])(
    'OUTBOUND_ALLOWLIST=%s: the refresh reaches the server behind the name',
    async (entry) => {
      const resolve = fakeResolver({ 'auth.provider.example': ['127.0.0.1'] });
      const harness = await harnessFor(
        [providerProfile('allowed', `https://auth.provider.example:${server.port}`)],
        resolve,
        { allowInsecureLoopback: false, outboundAllowList: parseOutboundAllowList([entry]) },
      );
      const { profile } = await connect(harness, 'allowed');

      const result = await harness.engine.getToken(profile, USER);

      // The TLS handshake reached the server (which speaks no TLS, so the refresh then fails as an
      // provider whose answer was lost would: the connection was made, so the outcome is unknown,
      // SECURITY.md #48); the ClientHello names the profile's host.
      expect(server.connections).toBe(1);
      expect(server.firstBytes[0]?.charCodeAt(0)).toBe(0x16);
      expect(server.firstBytes[0]).toContain('auth.provider.example');
      expect(result).toMatchObject({ ok: false, reason: 'provider-unavailable' });
      expect(harness.log.lines.find((line) => line.message === 'refresh failed')?.fields).toMatchObject({
        errorCode: 'provider-outcome-unknown',
      });
    },
  );

  test('the fetch used by the connection check and the CRM client honours the allow-list too', async () => {
    const table = { 'api.provider.example': ['127.0.0.1'] };
    const refused = new OutboundRequests(PRODUCTION, { resolve: fakeResolver(table) });
    const allowed = new OutboundRequests(
      { allowInsecureLoopback: false, outboundAllowList: parseOutboundAllowList(['127.0.0.1']) },
      { resolve: fakeResolver(table) },
    );
    const url = `https://api.provider.example:${server.port}/me`;

    await expect(refused.fetch(refused.check(url, 'checkUrl'))).rejects.toMatchObject({
      code: 'outbound-refused',
    });
    expect(server.connections).toBe(0);
    await expect(allowed.fetch(allowed.check(url, 'checkUrl'))).rejects.not.toMatchObject({
      code: 'outbound-refused',
    });
    expect(server.connections).toBe(1);
  });
});

describe('kept host verdicts (issue 12): a scheme and host are judged once per rule, the rest of the URL each time', () => {
  test('the same host under the dev rule, the production rule and an allow-list rule', () => {
    const dev = { allowInsecureLoopback: true };
    const allowing = {
      allowInsecureLoopback: false,
      outboundAllowList: parseOutboundAllowList(['10.0.0.0/8']),
    };
    const loopback = 'http://127.0.0.1:4000/token';
    const privateHost = 'https://10.1.2.3/api';

    for (let i = 0; i < 2; i += 1) {
      expect(checkOutboundUrl(loopback, 'tokenUrl', dev)).toMatchObject({
        href: 'http://127.0.0.1:4000/token',
        field: 'tokenUrl',
      });
    }
    // Refused under production however often it is asked, naming the field it came from.
    for (const field of ['tokenUrl', 'tokenUrl', 'refreshUrl']) {
      expect(() => checkOutboundUrl(loopback, field, PRODUCTION)).toThrow(`${field} must use https`);
    }
    expect(() => checkOutboundUrl(privateHost, 'apiBaseUrl', PRODUCTION)).toThrow(
      /apiBaseUrl .*(private|internal)/,
    );
    expect(checkOutboundUrl(privateHost, 'apiBaseUrl', allowing).href).toBe('https://10.1.2.3/api');
    // The allowed verdict did not leak into the production rule.
    expect(() => checkOutboundUrl(privateHost, 'apiBaseUrl', PRODUCTION)).toThrow(OutboundRefusedError);
    expect(checkOutboundUrl(loopback, 'refreshUrl', dev).field).toBe('refreshUrl');
  });

  test('credentials, a fragment or a bad URL on a host already judged are still refused', () => {
    const ok = 'https://api.example.com/crm/v3/owners?email=a%40b.example';
    expect(checkOutboundUrl(ok, 'apiBaseUrl', PRODUCTION).href).toBe(ok);
    expect(() => checkOutboundUrl('https://user:pw@api.example.com/x', 'apiBaseUrl', PRODUCTION)).toThrow(
      'apiBaseUrl must not contain credentials',
    );
    expect(() => checkOutboundUrl('https://api.example.com/x#frag', 'apiBaseUrl', PRODUCTION)).toThrow(
      'apiBaseUrl must not contain a fragment',
    );
    expect(() => checkOutboundUrl('http://api.example.com/x', 'apiBaseUrl', PRODUCTION)).toThrow(
      'apiBaseUrl must use https',
    );
    expect(() => checkOutboundUrl('not a url', 'apiBaseUrl', PRODUCTION)).toThrow(
      'apiBaseUrl must be an absolute URL',
    );
  });
});
