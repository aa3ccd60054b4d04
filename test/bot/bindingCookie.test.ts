// SECURITY.md #2 on https deployments: the binding cookie is `__Host-` prefixed (Secure, Path=/, no Domain),
// so a sibling subdomain cannot plant a binding of its choice; the unprefixed name is ignored.
import pino from 'pino';
import restify from 'restify';
import { registerOAuthRoutes } from '../../bot/web/oauthRoutes';
import type { SigninResumer } from '../../bot/web/signinResumer';
import { createHarness, USER, type Harness } from '../support/engineHarness';
import { freePort } from '../support/botHarness';

let harness: Harness;
let server: restify.Server;
let base: string;

beforeAll(async () => {
  harness = await createHarness({
    publicUrl: 'https://bot.example.test',
    profiles: [
      {
        id: 'edge',
        displayName: 'Edge',
        authorizationUrl: 'https://login.example.test/authorize',
        tokenUrl: 'https://login.example.test/token',
        clientId: 'edge-client',
        clientSecret: 'edge-client-secret-123456',
        scopes: ['read'],
      },
    ],
  });
  server = restify.createServer();
  registerOAuthRoutes(server, {
    engine: harness.engine,
    // Never reached: these tests stop before any callback.
    resumer: {} as SigninResumer,
    publicUrl: harness.context.publicUrl,
    log: pino({ level: 'silent' }),
    adminResultUrl: () => '/admin',
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await harness.close();
});

async function newRequestId(): Promise<string> {
  const profile = await harness.engine.catalog.get('edge');
  const created = await harness.engine.createAuthorizationRequest({
    profile,
    subject: USER,
    createdBy: 'user:test',
  });
  return created.requestId;
}

test('on https the cookie is __Host- prefixed, Secure, with Path=/', async () => {
  const response = await fetch(`${base}/oauth/start/${await newRequestId()}`, { redirect: 'manual' });
  expect(response.status).toBe(302);
  const cookie = response.headers.get('set-cookie') as string;
  expect(cookie).toMatch(/^__Host-authprofiles_binding=[A-Za-z0-9_-]{43};/);
  expect(cookie).toMatch(/; Secure/i);
  expect(cookie).toMatch(/; Path=\/(;|$)/);
  expect(cookie).not.toMatch(/Domain=/i);
});

test('a planted unprefixed cookie does not become the binding', async () => {
  const planted = 'P'.repeat(43);
  const response = await fetch(`${base}/oauth/start/${await newRequestId()}`, {
    redirect: 'manual',
    headers: { cookie: `authprofiles_binding=${planted}` },
  });
  const cookie = response.headers.get('set-cookie') as string;
  expect(cookie).not.toContain(planted);
});
