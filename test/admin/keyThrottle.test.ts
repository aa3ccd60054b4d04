// SECURITY.md #46: admin key guessing is throttled per client and overall, with backoff, on the API's
// Bearer check and on the admin pages' sign-in. A real restify server with the real admin API and
// pages on a real engine (SQLite); clients are real sockets from different loopback addresses
// (127.0.0.x). Only the throttle's clock is the test's, so the backoff is checked without waiting.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import restify, { type Request } from 'restify';
import { registerAdminApi } from '../../bot/admin/api/adminApi';
import { clientAddress, type AdminContext } from '../../bot/admin/adminContext';
import { registerAdminPages } from '../../bot/admin/pages/adminPages';
import { createLogger } from '../../bot/logger';
import { AdminKeys } from '../../profiles/adminKeys';
import { AttemptThrottle, DEFAULT_THROTTLE } from '../../profiles/attemptThrottle';
import type { EngineContext } from '../../profiles/engineContext';
import type { Store } from '../../profiles/store/types';
import { Client, signIn } from '../support/adminClient';
import { createHarness, type Harness } from '../support/engineHarness';

const ADMIN_KEY = `ap_${randomBytes(32).toString('base64url')}`;
const guess = () => `guess-${randomBytes(12).toString('hex')}`;

let harness: Harness;
let server: restify.Server | undefined;
let base: string;
let now: number;

beforeAll(async () => {
  harness = await createHarness({ profiles: [] });
});

afterAll(async () => {
  await close();
  await harness.close();
});

beforeEach(() => {
  now = 1_700_000_000_000;
});

afterEach(close);

async function close(): Promise<void> {
  if (!server) return;
  server.server.closeAllConnections?.();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  server = undefined;
}

/** A fresh service (fresh throttle with the default settings and the test's clock). */
async function serve(options: { trustedProxyHops?: number; keyLookupDelayMs?: number } = {}): Promise<void> {
  await close();
  server = restify.createServer({ name: 'throttle-test', handleUncaughtExceptions: false });
  const ctx: AdminContext = {
    engine: harness.engine,
    keys: new AdminKeys(keysContext(options.keyLookupDelayMs), [{ role: 'admin', key: ADMIN_KEY }], {
      throttle: new AttemptThrottle({ clock: () => now }),
    }),
    log: createLogger({ level: 'silent' }),
    publicUrl: 'http://127.0.0.1',
    secureCookies: false,
    ...(options.trustedProxyHops === undefined ? {} : { trustedProxyHops: options.trustedProxyHops }),
  };
  registerAdminApi(server, ctx);
  registerAdminPages(server, ctx);
  await new Promise<void>((resolve) => server?.listen(0, '0.0.0.0', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * The engine context the keys see. With a delay, the real SQLite store answers key look-ups that much
 * later, as a networked store (MongoDB) does: requests then overlap while their keys are looked up.
 */
function keysContext(delayMs: number | undefined): EngineContext {
  if (delayMs === undefined) return harness.context;
  const real = harness.store.adminKeys;
  const store = Object.create(harness.store) as Store & { adminKeys: Store['adminKeys'] };
  Object.defineProperty(store, 'adminKeys', {
    value: {
      ...real,
      findByHash: async (hash: string) => {
        await sleep(delayMs);
        return real.findByHash(hash);
      },
    },
  });
  return { ...harness.context, store };
}

/** GET /admin/api/profiles with `key`, sent from `from` (a 127.0.0.x address). */
async function api(
  from: string,
  key: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; retryAfter: string | null; code?: string }> {
  const reply = await new Client(base, from).get('/admin/api/profiles', {
    authorization: `Bearer ${key}`,
    ...headers,
  });
  const code =
    reply.status >= 400 ? (JSON.parse(reply.html) as { error: { code: string } }).error.code : undefined;
  return { status: reply.status, retryAfter: reply.headers.get('retry-after'), ...(code ? { code } : {}) };
}

test('API: after 5 wrong keys a client gets 429 with Retry-After, even with the right key; the wait doubles; another client is unaffected', async () => {
  await serve();
  const attacker = '127.0.0.2';
  for (let i = 0; i < DEFAULT_THROTTLE.clientFree; i += 1) {
    expect(await api(attacker, guess())).toEqual({ status: 401, retryAfter: null, code: 'unauthorized' });
  }
  expect(await api(attacker, guess())).toEqual({ status: 429, retryAfter: '1', code: 'too-many-attempts' });
  // While it waits its keys are not even looked at: the right one would tell a guesser "found".
  expect(await api(attacker, ADMIN_KEY)).toMatchObject({ status: 429 });
  // The admin at another address is not slowed at all.
  expect(await api('127.0.0.3', ADMIN_KEY)).toEqual({ status: 200, retryAfter: null });

  const waits: string[] = [];
  for (let round = 0; round < 4; round += 1) {
    now += Number(waits[waits.length - 1] ?? '1') * 1000;
    expect((await api(attacker, guess())).status).toBe(401);
    const refused = await api(attacker, guess());
    expect(refused.status).toBe(429);
    waits.push(refused.retryAfter ?? '');
  }
  expect(waits).toEqual(['2', '4', '8', '16']);

  // Once the wait is over the right key works, and clears the count.
  now += 16_000;
  expect((await api(attacker, ADMIN_KEY)).status).toBe(200);
  expect((await api(attacker, guess())).status).toBe(401);
});

test('a burst of parallel guesses gets no more than the free attempts checked (each counts before its look-up)', async () => {
  await serve({ keyLookupDelayMs: 50 });
  const replies = await Promise.all(Array.from({ length: 30 }, () => api('127.0.0.12', guess())));
  const statuses = replies.map((reply) => reply.status).sort();
  expect(statuses.filter((status) => status === 401)).toHaveLength(DEFAULT_THROTTLE.clientFree);
  expect(statuses.filter((status) => status === 429)).toHaveLength(30 - DEFAULT_THROTTLE.clientFree);
});

test('the wait is capped at 15 minutes, and a client quiet for an hour starts afresh', async () => {
  await serve();
  const attacker = '127.0.0.4';
  let retryAfter = 0;
  for (let round = 0; round < 20; round += 1) {
    expect((await api(attacker, guess())).status).toBe(401);
    const refused = await api(attacker, guess());
    retryAfter = Number(refused.retryAfter);
    now += retryAfter * 1000;
  }
  expect(retryAfter).toBe(15 * 60);
  now += 60 * 60_000;
  for (let i = 0; i < DEFAULT_THROTTLE.clientFree; i += 1)
    expect((await api(attacker, guess())).status).toBe(401);
});

test('admin pages: sign-in is throttled the same way (429, Retry-After, no session) and shares the count with the API', async () => {
  await serve();
  const attacker = new Client(base, '127.0.0.5');
  for (let i = 0; i < 3; i += 1) expect((await signIn(attacker, guess())).status).toBe(401);
  for (let i = 0; i < 2; i += 1) expect((await api('127.0.0.5', guess())).status).toBe(401);
  const refused = await signIn(attacker, ADMIN_KEY);
  expect(refused.status).toBe(429);
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(refused.html).toContain('Too many keys were refused. Try again in 1 second.');
  expect(attacker.cookies.has('authprofiles_admin')).toBe(false);

  // The admin at another address signs in at once; the page shows no delay for a good key.
  const admin = new Client(base, '127.0.0.6');
  const started = Date.now();
  const ok = await signIn(admin, ADMIN_KEY);
  expect(ok.status).toBe(303);
  expect(Date.now() - started).toBeLessThan(1000);
  expect((await admin.get('/admin/profiles')).status).toBe(200);

  now += 1000;
  expect((await signIn(attacker, ADMIN_KEY)).status).toBe(303);
});

test('overall: wrong keys spread over many addresses slow down every client without a recent sign-in, not the admins at work', async () => {
  await serve();
  const working = '127.0.0.7';
  expect((await api(working, ADMIN_KEY)).status).toBe(200);
  // 10 addresses × 5 guesses: each stays under its own limit's first wait, together they reach 50.
  for (let host = 10; host < 20; host += 1) {
    for (let i = 0; i < DEFAULT_THROTTLE.clientFree; i += 1) {
      expect((await api(`127.0.0.${host}`, guess())).status).toBe(401);
    }
  }
  expect(await api('127.0.0.30', ADMIN_KEY)).toEqual({
    status: 429,
    retryAfter: '1',
    code: 'too-many-attempts',
  });
  expect(await api('127.0.0.31', guess())).toMatchObject({ status: 429 });
  expect((await api(working, ADMIN_KEY)).status).toBe(200);
  now += 1000;
  expect((await api('127.0.0.30', ADMIN_KEY)).status).toBe(200);
});

test('X-Forwarded-For is ignored by default; with TRUSTED_PROXY_HOPS=1 the proxy-added entry names the client', async () => {
  await serve();
  for (let i = 0; i < DEFAULT_THROTTLE.clientFree; i += 1) {
    expect((await api('127.0.0.8', guess(), { 'x-forwarded-for': `198.51.100.${i}` })).status).toBe(401);
  }
  expect((await api('127.0.0.8', guess(), { 'x-forwarded-for': '198.51.100.99' })).status).toBe(429);

  await serve({ trustedProxyHops: 1 });
  const proxy = '127.0.0.9';
  for (let i = 0; i < DEFAULT_THROTTLE.clientFree; i += 1) {
    expect((await api(proxy, guess(), { 'x-forwarded-for': '203.0.113.7' })).status).toBe(401);
  }
  // Whatever the client writes on the left, the proxy's entry on the right is what counts.
  expect((await api(proxy, ADMIN_KEY, { 'x-forwarded-for': '192.0.2.1, 203.0.113.7' })).status).toBe(429);
  expect((await api(proxy, ADMIN_KEY, { 'x-forwarded-for': '203.0.113.8' })).status).toBe(200);
});

test('memory stays bounded: the throttle remembers at most maxClients clients', () => {
  const throttle = new AttemptThrottle({ maxClients: 1000, overallFree: 1e9, clock: () => now });
  for (let i = 0; i < 50_000; i += 1) throttle.begin(`198.18.${i >> 8}.${i & 255}`);
  expect(throttle.trackedClients).toBe(1000);
});

test('clients are told apart by address: IPv4-mapped IPv6 is the IPv4 address, other IPv6 count by their /64', () => {
  const from = (remoteAddress: string) =>
    clientAddress({ socket: { remoteAddress }, headers: {} } as unknown as Request);
  expect(from('::ffff:192.0.2.10')).toBe('192.0.2.10');
  expect(from('192.0.2.10')).toBe('192.0.2.10');
  expect(from('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
  expect(from('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
  expect(from('2001:db8:1:3::9')).toBe('2001:db8:1:3::/64');
  expect(from('::1')).toBe('0:0:0:0::/64');
});
