// SECURITY.md #43: an admin page session belongs to its key. The whole app (bot/app.ts createApp) is
// built over one SQLite store under a temporary DATA_DIR and rebuilt on the same store with other
// ADMIN_API_KEYS, as a restart with a changed environment does; stored keys are created and revoked
// with the real CLI (a child process on the same DATA_DIR) and through the admin API.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SESSION_KEY_PREFIX } from '../../bot/admin/pages/adminPages';
import { createApp, type App } from '../../bot/app';
import { loadConfig } from '../../bot/config';
import { createLogger } from '../../bot/logger';
import { createEngine, type EngineServices } from '../../bot/services';
import { generateKeySpec } from '../../profiles/encryption';
import { Client, csrfOf, signIn } from '../support/adminClient';
import { runCli, type CliRun } from '../support/cliRunner';

jest.setTimeout(60_000);

const KEY_A = `key-a-${randomBytes(24).toString('base64url')}`;
const KEY_B = `key-b-${randomBytes(24).toString('base64url')}`;
const ENCRYPTION_KEYS = generateKeySpec('sessions1');
const ORG_PROFILE = {
  id: 'org-crm',
  displayName: 'Org CRM',
  authorizationUrl: 'https://auth.org.example/authorize',
  tokenUrl: 'https://auth.org.example/token',
  clientId: 'org-client',
  clientSecret: 'org-secret-from-file-5d1e',
  scopes: ['deals.read'],
  authorization: 'pre-authorized',
};

let dir: string;
let running: { app: App; core: EngineServices; base: string } | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'authprofiles-sessions-'));
  mkdirSync(join(dir, 'profiles'));
  writeFileSync(join(dir, 'profiles', 'org-crm.json'), JSON.stringify(ORG_PROFILE));
});

afterAll(async () => {
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

function environment(adminKeys: string): Record<string, string> {
  return {
    NODE_ENV: 'test',
    PORT: '3978',
    DATA_DIR: join(dir, 'data'),
    PROFILES_DIR: join(dir, 'profiles'),
    ENCRYPTION_KEYS,
    ADMIN_API_KEYS: adminKeys,
    LOG_LEVEL: 'silent',
  };
}

/** Starts the service on the shared store with these ADMIN_API_KEYS (stopping the previous one). */
async function start(adminKeys: string): Promise<string> {
  await stop();
  const config = loadConfig(environment(adminKeys));
  const log = createLogger({ level: 'silent' });
  const core = await createEngine(config, log);
  const app = createApp(config, { ...core, demo: null }, log);
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  running = { app, core, base };
  return base;
}

async function stop(): Promise<void> {
  if (!running) return;
  await running.app.close();
  await running.core.close();
  running = undefined;
}

function store() {
  if (!running) throw new Error('not running');
  return running.core.store;
}

/** A browser signed in with `key` on the service at `base`. */
async function signedIn(base: string, key: string): Promise<Client> {
  const client = new Client(base);
  const reply = await signIn(client, key);
  expect(reply.status).toBe(303);
  expect(reply.location).toBe('/admin/profiles');
  return client;
}

/** The same browser (its cookies) talking to the service at `base` after a restart. */
function sameBrowser(client: Client, base: string): Client {
  const moved = new Client(base);
  for (const [name, value] of client.cookies) moved.cookies.set(name, value);
  return moved;
}

function sessionDocumentKey(client: Client): string {
  const id = client.cookies.get('authprofiles_admin') ?? '';
  return `${SESSION_KEY_PREFIX}${createHash('sha256').update(id).digest('base64url')}`;
}

async function authorizationRequests(): Promise<number> {
  return (await store().audit.list({ limit: 200 })).filter(
    (entry) => entry.action === 'authorization.requested',
  ).length;
}

function cli(args: string[]): Promise<CliRun> {
  return runCli(args, { ...environment(''), ADMIN_API_KEYS: undefined }, []);
}

test('a key removed from ADMIN_API_KEYS ends its sessions at the next start (audit, pre-authorize); the other key keeps its own', async () => {
  const before = await start(`admin:${KEY_A},admin:${KEY_B}`);
  const a = await signedIn(before, KEY_A);
  const b = await signedIn(before, KEY_B);
  expect((await a.get('/admin/audit')).status).toBe(200);
  expect((await b.get('/admin/audit')).status).toBe(200);
  const csrf = csrfOf((await a.get('/admin/profiles/org-crm')).html);
  // The session names its key by hash, never by the key itself or its position in the list.
  const stored = (await store().documents.read([sessionDocumentKey(a)])).get(sessionDocumentKey(a))?.value;
  expect(stored?.keyHash).toBe(createHash('sha256').update(KEY_A).digest('base64url'));
  expect(JSON.stringify(stored)).not.toContain(KEY_A);

  const after = await start(`admin:${KEY_B}`);
  const aAfter = sameBrowser(a, after);
  const requestsBefore = await authorizationRequests();
  const audit = await aAfter.get('/admin/audit');
  expect({ status: audit.status, location: audit.location }).toEqual({
    status: 303,
    location: '/admin/login',
  });
  const preAuthorize = await aAfter.post('/admin/profiles/org-crm/authorize', { _csrf: csrf });
  expect({ status: preAuthorize.status, location: preAuthorize.location }).toEqual({
    status: 303,
    location: '/admin/login',
  });
  expect(await authorizationRequests()).toBe(requestsBefore);
  expect((await store().documents.read([sessionDocumentKey(a)])).size).toBe(0);

  // B moved from entry 2 to entry 1: its session follows the key, not the position.
  const bAfter = sameBrowser(b, after);
  const page = await bAfter.get('/admin/audit');
  expect(page.status).toBe(200);
  expect(page.html).toContain('admin:env-1');
  expect((await signIn(new Client(after), KEY_A)).status).toBe(401);
});

test('a key changed to the developer role downgrades its sessions: admin-only pages and actions are 403', async () => {
  const before = await start(`admin:${KEY_B}`);
  const b = await signedIn(before, KEY_B);
  expect((await b.get('/admin/audit')).status).toBe(200);
  expect((await b.get('/admin/connections?subject=org')).html).toContain('organisation</option>');
  const csrf = csrfOf((await b.get('/admin/profiles/org-crm')).html);

  const after = await start(`developer:${KEY_B}`);
  const bAfter = sameBrowser(b, after);
  const requestsBefore = await authorizationRequests();
  expect((await bAfter.get('/admin/audit')).status).toBe(403);
  const profiles = await bAfter.get('/admin/profiles');
  expect(profiles.status).toBe(200);
  expect(profiles.html).toContain('developer:env-1');
  expect((await bAfter.post('/admin/profiles/org-crm/authorize', { _csrf: csrf })).status).toBe(403);
  expect((await bAfter.get('/admin/connections?subject=org')).html).not.toContain('organisation</option>');
  expect(await authorizationRequests()).toBe(requestsBefore);

  // And back: the session has whatever role its key has now.
  const restored = sameBrowser(bAfter, await start(`admin:${KEY_B}`));
  expect((await restored.get('/admin/audit')).status).toBe(200);
});

test('a key revoked with the CLI, or through the API, ends its sessions at once (no restart)', async () => {
  const base = await start(`admin:${KEY_A}`);

  const created = await cli(['keys', 'create', '--name', 'ops', '--role', 'admin', '--json']);
  expect(created.code).toBe(0);
  const cliKey = JSON.parse(created.stdout) as { id: string; key: string };
  const viaCli = await signedIn(base, cliKey.key);
  expect((await viaCli.get('/admin/audit')).status).toBe(200);
  const revoked = await cli(['keys', 'revoke', cliKey.id]);
  expect(revoked.code).toBe(0);
  const afterCli = await viaCli.get('/admin/audit');
  expect({ status: afterCli.status, location: afterCli.location }).toEqual({
    status: 303,
    location: '/admin/login',
  });

  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${base}/admin/api/${path}`, {
      method,
      headers: {
        authorization: `Bearer ${KEY_A}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const made = (await (await api('POST', 'keys', { name: 'api-made', role: 'admin' })).json()) as {
    id: string;
    key: string;
  };
  const viaApi = await signedIn(base, made.key);
  expect((await viaApi.get('/admin/audit')).status).toBe(200);
  expect((await api('DELETE', `keys/${made.id}`)).status).toBe(200);
  expect((await viaApi.get('/admin/audit')).status).toBe(303);
  // The key that revoked them is untouched.
  expect((await (await signedIn(base, KEY_A)).get('/admin/audit')).status).toBe(200);
});
