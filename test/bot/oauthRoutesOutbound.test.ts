// SECURITY.md #42 at the browser edge: when the code exchange is refused because the provider's name
// resolves to an internal address, the person holding the browser gets a plain page without the host
// or address, and the operator's log gets both. Real restify server with the real OAuth routes, a
// production-mode engine, and a FAKE resolver (no DNS server here publishes the name).
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import restify, { type Server } from 'restify';
import { createLogger } from '../../bot/logger';
import { registerOAuthRoutes } from '../../bot/web/oauthRoutes';
import type { SigninResumer } from '../../bot/web/signinResumer';
import type { Resolver } from '../../profiles/outboundRequests';
import { createHarness, USER, type Harness } from '../support/engineHarness';

const CLIENT_SECRET = 'edge-outbound-secret-9a8b7c6d5e';
/** FAKE resolver: the provider's public-looking name points at this machine. */
const resolveToLoopback: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];

let harness: Harness;
let server: Server;
let baseUrl: string;
const logLines: string[] = [];

beforeAll(async () => {
  server = restify.createServer({ name: 'oauth-outbound-test', handleUncaughtExceptions: false });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  harness = await createHarness({
    profiles: [
      {
        id: 'named-loopback',
        displayName: 'Named loopback',
        authorizationUrl: 'https://login.provider.example/authorize',
        tokenUrl: 'https://login.provider.example/token',
        clientId: 'edge-client',
        clientSecret: CLIENT_SECRET,
      },
    ],
    publicUrl: baseUrl,
    validation: { allowInsecureLoopback: false },
    resolve: resolveToLoopback,
  });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  registerOAuthRoutes(server, {
    engine: harness.engine,
    resumer: { resume: async () => false } as unknown as SigninResumer,
    publicUrl: baseUrl,
    log: createLogger({ level: 'warn', destination }),
    adminResultUrl: () => '/admin',
  });
});

afterAll(async () => {
  server.server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await harness.close();
});

test('a refused code exchange shows a page without the address; the log names it, without secrets', async () => {
  const profile = await harness.engine.catalog.get('named-loopback');
  const created = await harness.engine.createAuthorizationRequest({
    profile,
    subject: USER,
    createdBy: 'user:test',
  });
  const start = await fetch(created.startUrl, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const state = new URL(start.headers.get('location') as string).searchParams.get('state') as string;
  const cookie = (start.headers.get('set-cookie') as string).split(';')[0] as string;

  const callback = await fetch(
    `${baseUrl}/oauth/callback/named-loopback?${new URLSearchParams({ code: 'edge-code-1234', state })}`,
    { headers: { cookie }, redirect: 'manual' },
  );
  const page = await callback.text();

  expect(callback.status).toBe(502);
  expect(page).toContain('Provider not allowed');
  expect(page).not.toContain('127.0.0.1');
  expect(page).not.toContain('login.provider.example');
  const log = logLines.join('');
  expect(log).toContain('login.provider.example resolves to 127.0.0.1, a loopback address');
  expect(log).not.toContain(CLIENT_SECRET);
  expect(log).not.toContain('edge-code-1234');
});
