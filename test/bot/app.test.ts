// The composed app in-process (no demo provider): /healthz reports the store, and turns run
// through the real CloudAdapter on POST /api/messages.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createApp, type App } from '../../bot/app';
import { loadConfig } from '../../bot/config';
import { createEngine, type EngineServices } from '../../bot/services';
import { saveConnection } from '../../profiles/connections';
import { generateKeySpec, KeyRing, parseEncryptionKeys, secretContext } from '../../profiles/encryption';
import { freePort } from '../support/botHarness';
import { holdWriteLock, watchEventLoop } from '../support/sqliteLock';

const ADMIN_KEY = 'app-test-admin-key-123';
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
    ADMIN_API_KEYS: `admin:${ADMIN_KEY}`,
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

/** Sends one chat message through /api/messages; returns the texts the bot replied with. */
async function chat(text: string, userId: string): Promise<string[]> {
  // A channel's connector endpoint, to receive the bot's replies (named as the fake it is).
  const { createServer } = await import('node:http');
  const replies: string[] = [];
  const fakeConnector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      replies.push(String((JSON.parse(body) as { text?: unknown }).text ?? ''));
      res.setHeader('content-type', 'application/json');
      res.end('{"id":"reply"}');
    });
  });
  await new Promise<void>((resolve) => fakeConnector.listen(0, '127.0.0.1', () => resolve()));
  try {
    const response = await fetch(`${base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        id: `act-${userId}`,
        text,
        channelId: 'webchat',
        serviceUrl: `http://127.0.0.1:${(fakeConnector.address() as { port: number }).port}/`,
        from: { id: userId, name: 'User' },
        recipient: { id: 'bot', name: 'Bot' },
        conversation: { id: `conv-${userId}` },
      }),
    });
    expect(response.status).toBe(200);
    return replies;
  } finally {
    fakeConnector.closeAllConnections();
    await new Promise((resolve) => fakeConnector.close(resolve));
  }
}

/** Signs in to the admin pages with the test's admin key; returns a fetch that keeps the session cookie. */
async function adminPages(): Promise<(path: string) => Promise<{ status: number; html: string }>> {
  const cookies = new Map<string, string>();
  const send = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const res = await fetch(`${base}${path}`, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return { status: res.status, html: await res.text() };
  };
  const login = await send('/admin/login');
  const token = /name="_login" value="([^"]+)"/.exec(login.html)?.[1] ?? '';
  const signedIn = await send('/admin/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ _login: token, key: ADMIN_KEY }).toString(),
  });
  expect(signedIn.status).toBe(303);
  return (path) => send(path);
}

// SECURITY.md #52: records sealed with a key this service does not have (what the README's first
// rotation recipe produced) are shown as unreadable, naming the key id, by the admin API, the admin
// pages and "my connections"; everything else keeps working and both records can be deleted.
test('records sealed with a key the service lacks are listed as unreadable by the API, the pages and chat, and can be deleted', async () => {
  const foreign = new KeyRing(parseEncryptionKeys(generateKeySpec('k9')));
  const ring = services.engine.context.keyRing;
  const document = (id: string, displayName: string) => ({
    id,
    displayName,
    authorizationUrl: `https://${id}.example/authorize`,
    tokenUrl: `https://${id}.example/token`,
    clientId: `${id}-client`,
  });
  const storedProfile = (id: string, displayName: string, sealedBy: KeyRing) =>
    services.store.profiles.put(
      {
        id,
        kind: 'custom',
        document: document(id, displayName),
        clientSecret: sealedBy.encrypt(`${id}-secret-value`, secretContext('profiles', id, 'clientSecret')),
        createdAt: 1,
        updatedAt: 1,
        updatedBy: 'admin:test',
      },
      0,
    );
  await storedProfile('vault', 'Vault', foreign); // its client secret is unreadable here
  await storedProfile('ledger', 'Ledger', ring); // readable, but the user's connection is not
  const ledger = await services.catalog.get('ledger');
  const saved = await saveConnection(
    { ...services.engine.context, keyRing: foreign },
    ledger,
    'user:webchat:dl_unreadable',
    {
      accessToken: 'ledger-access-plain',
      refreshToken: 'ledger-refresh-plain',
      tokenType: 'bearer',
      expiresAt: Date.now() + 3_600_000,
      expiresAtEstimated: false,
      scopes: [],
    },
    { createdBy: 'user:test', requireVerification: false },
  );
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const unreadable = { keyId: 'k9', code: 'encryption-key-unknown' };
  const text = 'unreadable: sealed with key "k9", which is not in ENCRYPTION_KEYS';

  const profiles = await fetch(`${base}/admin/api/profiles`, { headers: auth });
  expect(profiles.status).toBe(200);
  const listed = ((await profiles.json()) as { profiles: Record<string, unknown>[] }).profiles;
  expect(listed.find((profile) => profile.id === 'vault')).toMatchObject({
    usable: false,
    hasClientSecret: false,
    unreadableSecret: unreadable,
    missing: [`clientSecret (${text})`],
  });
  expect(listed.find((profile) => profile.id === 'ledger')).toMatchObject({
    usable: true,
    unreadableSecret: null,
  });

  const connections = await fetch(`${base}/admin/api/connections?profileId=ledger`, { headers: auth });
  expect(connections.status).toBe(200);
  expect(((await connections.json()) as { connections: unknown[] }).connections).toEqual([
    expect.objectContaining({ id: saved.connection.id, status: 'active', unreadable }),
  ]);

  const page = await adminPages();
  const escaped = text.replace(/"/g, '&quot;');
  const profilesPage = await page('/admin/profiles');
  expect(profilesPage.status).toBe(200);
  expect(profilesPage.html).toContain(`missing settings: clientSecret (${escaped})`);
  const vaultPage = await page('/admin/profiles/vault');
  expect(vaultPage.status).toBe(200);
  expect(vaultPage.html).toContain(`set, but ${escaped}`);
  const connectionsPage = await page('/admin/connections');
  expect(connectionsPage.status).toBe(200);
  expect(connectionsPage.html).toContain(`active (${escaped})`);

  expect(await chat('my connections', 'dl_unreadable')).toEqual([
    expect.stringContaining(`• Ledger: ${text}; sign in again to replace it`),
  ]);
  const [report] = await chat('my connections', 'dl_unreadable');
  expect(report).toContain(`• Vault: unavailable, its client secret is ${text}; an admin must fix it`);
  expect(report).not.toMatch(/plain|secret-value/);

  const revoked = await fetch(`${base}/admin/api/connections/${saved.connection.id}`, {
    method: 'DELETE',
    headers: auth,
  });
  expect(revoked.status).toBe(200);
  const deleted = await fetch(`${base}/admin/api/profiles/vault`, { method: 'DELETE', headers: auth });
  expect(deleted.status).toBe(200);
  expect(await services.store.profiles.get('vault')).toBeNull();
  expect(await services.store.connections.getById(saved.connection.id)).toBeNull();
  await services.store.profiles.delete('ledger');
});

// SECURITY.md #53: another process holds the SQLite write lock. /healthz notices (its write probe
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
