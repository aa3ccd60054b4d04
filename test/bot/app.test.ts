// The composed app in-process (no demo provider): /healthz reports the store, and turns run
// through the real CloudAdapter on POST /api/messages.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createApp, type App } from '../../bot/app';
import { loadConfig } from '../../bot/config';
import { createEngine, type EngineServices } from '../../bot/services';
import { freePort } from '../support/botHarness';
import { holdWriteLock, watchEventLoop } from '../support/sqliteLock';

let dir: string;
let app: App;
let services: EngineServices;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'authprofiles-app-'));
  const port = await freePort();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    DATA_DIR: dir,
    PROFILES_DIR: join(dir, 'profiles'),
    ADMIN_API_KEYS: 'admin:app-test-admin-key-123',
  });
  const log = pino({ level: 'silent' });
  services = await createEngine(config, log);
  app = createApp(config, { ...services, demo: null }, log);
  await app.listen();
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await app?.close();
  await services?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('GET /healthz names the store and its status', async () => {
  const response = await fetch(`${base}/healthz`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    status: string;
    store: { kind: string; status: string; ms: number };
  };
  expect(body.status).toBe('ok');
  expect(body.store.kind).toBe('sqlite');
  expect(body.store.status).toBe('ok');
  expect(body.store.ms).toBeGreaterThanOrEqual(0);
});

test('POST /api/messages runs a turn through the CloudAdapter; the reply goes to the serviceUrl', async () => {
  // A channel's connector endpoint, to receive the bot's reply (named as the fake it is).
  const { createServer } = await import('node:http');
  const replies: Record<string, unknown>[] = [];
  const fakeConnector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      replies.push(JSON.parse(body) as Record<string, unknown>);
      res.setHeader('content-type', 'application/json');
      res.end('{"id":"reply-1"}');
    });
  });
  await new Promise<void>((resolve) => fakeConnector.listen(0, '127.0.0.1', () => resolve()));
  const connector = `http://127.0.0.1:${(fakeConnector.address() as { port: number }).port}/`;
  try {
    const response = await fetch(`${base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        id: 'act-1',
        text: 'help',
        channelId: 'webchat',
        serviceUrl: connector,
        from: { id: 'dl_user', name: 'User' },
        recipient: { id: 'bot', name: 'Bot' },
        conversation: { id: 'conv-app-1' },
      }),
    });
    expect(response.status).toBe(200);
    expect(replies.map((reply) => reply.text)).toEqual([expect.stringMatching(/^Here is what I can do:/)]);
    // The dialog state went to the store, not to memory.
    const stored = await services.store.documents.read(['webchat/conversations/conv-app-1/']);
    expect(stored.size).toBe(1);
  } finally {
    fakeConnector.closeAllConnections();
    await new Promise((resolve) => fakeConnector.close(resolve));
  }
});

// SECURITY #53: another process holds the SQLite write lock. /healthz notices (its write probe
// cannot write) within its bound, other requests are served meanwhile, and this process's event
// loop keeps turning; after the lock is released /healthz is 200 again.
test('GET /healthz answers 503 naming the failing write while another process locks the store, 200 after', async () => {
  const lock = await holdWriteLock(join(dir, 'authprofiles.db'), 'EXCLUSIVE');
  try {
    const watch = watchEventLoop();
    const health = fetch(`${base}/healthz`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const otherStarted = Date.now();
    const other = await fetch(`${base}/static/pages.css`);
    const otherMs = Date.now() - otherStarted;
    const locked = await health;
    const { ticks, maxGapMs } = watch.stop();
    expect(other.status).toBe(200);
    expect(otherMs).toBeLessThan(500);
    expect(locked.status).toBe(503);
    expect(await locked.json()).toEqual({
      status: 'unavailable',
      store: {
        kind: 'sqlite',
        status: 'unavailable',
        failing: 'write',
        error: 'timeout',
        ms: expect.any(Number),
      },
    });
    expect(ticks).toBeGreaterThanOrEqual(30);
    expect(maxGapMs).toBeLessThan(300);
    await lock.release();
    const after = await fetch(`${base}/healthz`);
    expect(after.status).toBe(200);
    expect(((await after.json()) as { store: { status: string } }).store.status).toBe('ok');
  } finally {
    await lock.stop();
  }
});

test('GET /healthz answers 503 when the store is down', async () => {
  await services.store.close();
  const response = await fetch(`${base}/healthz`);
  expect(response.status).toBe(503);
  expect(await response.json()).toEqual({
    status: 'unavailable',
    store: {
      kind: 'sqlite',
      status: 'unavailable',
      failing: 'read',
      error: 'store-unavailable',
      ms: expect.any(Number),
    },
  });
});

describe('production (NODE_ENV=production)', () => {
  let prodDir: string;
  let prodApp: App;
  let prodServices: EngineServices;
  let prodBase: string;

  beforeAll(async () => {
    prodDir = mkdtempSync(join(tmpdir(), 'authprofiles-prod-'));
    const port = await freePort();
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_URL: 'https://bot.example.com',
      DATA_DIR: prodDir,
      PROFILES_DIR: join(prodDir, 'profiles'),
      ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
      MicrosoftAppId: '00000000-0000-0000-0000-0000000000aa',
      MicrosoftAppPassword: 'not-a-real-password',
    });
    const log = pino({ level: 'silent' });
    prodServices = await createEngine(config, log);
    prodApp = createApp(config, { ...prodServices, demo: null }, log);
    await prodApp.listen();
    prodBase = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await prodApp?.close();
    await prodServices?.close();
    rmSync(prodDir, { recursive: true, force: true });
  });

  test('no Web Chat, local Direct Line or demo routes, and no dev key files', async () => {
    expect((await fetch(`${prodBase}/`)).status).toBe(404);
    expect((await fetch(`${prodBase}/v3/directline/conversations`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${prodBase}/demo/crm/crm/v3/objects/deals`)).status).toBe(404);
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(prodDir, 'encryption-key.dev'))).toBe(false);
    expect(existsSync(join(prodDir, 'admin-key.dev'))).toBe(false);
    expect((await fetch(`${prodBase}/healthz`)).status).toBe(200);
  });

  test('activities without a Bot Framework token are refused', async () => {
    const response = await fetch(`${prodBase}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        text: 'show my deals',
        channelId: 'msteams',
        serviceUrl: 'https://smba.trafficmanager.net/emea/',
        from: { id: '29:spoofed' },
        recipient: { id: 'bot' },
        conversation: { id: 'a:conv' },
      }),
    });
    expect(response.status).toBe(401);
  });

  test('the admin API needs a key (none is generated in production)', async () => {
    expect((await fetch(`${prodBase}/admin/api/profiles`)).status).toBe(401);
  });
});
