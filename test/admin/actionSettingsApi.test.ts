// Issue 11 point 3 through the admin API: GET /admin/api/profiles/{id}/actions and
// PUT /admin/api/profiles/{id}/actions/{key}, on a real restify server on 127.0.0.1 with the real
// engine (a SQLite file, encryption, profile files). A custom profile with actions is written and read
// back through the API; a test-only bundled profile with actions comes from the harness.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import restify, { type Server } from 'restify';
import { registerAdminApi } from '../../bot/admin/api/adminApi';
import { createLogger } from '../../bot/logger';
import { AdminKeys } from '../../profiles/adminKeys';
import { generateKeySpec } from '../../profiles/encryption';
import { BUNDLED_ACTION_PROFILE, customActionProfile } from '../support/actionProfiles';
import { createHarness, USER, type Harness } from '../support/engineHarness';

const ADMIN_KEY = 'actions-admin-key-0123456789abcdef';
const DEV_KEY = 'actions-developer-key-0123456789ab';
const ACME_SECRET = 'acme-actions-secret-5e6f7a8b9c';
const BUNDLED_SECRET = 'bundled-override-secret-1a2b3c4d';
const FILE_SECRET = 'file-profile-secret-9f8e7d6c';
const SECRETS = [ACME_SECRET, BUNDLED_SECRET, FILE_SECRET, ADMIN_KEY, DEV_KEY];
const KEYS = generateKeySpec('actions1');

let dir: string;
let harness: Harness;
let server: Server;
let baseUrl: string;
const seen: string[] = [];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function api(
  method: string,
  path: string,
  options: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: Json }> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? ADMIN_KEY : options.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}/admin/api/${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  seen.push(text);
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

function openHarness(): Promise<Harness> {
  return createHarness({
    dir,
    encryptionKeys: KEYS,
    profiles: [customActionProfile('file-crm', FILE_SECRET)],
    extraSystemProfiles: [BUNDLED_ACTION_PROFILE],
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'authprofiles-actions-api-'));
  harness = await openHarness();
  server = restify.createServer({ name: 'action-settings-test', handleUncaughtExceptions: false });
  registerAdminApi(server, {
    engine: harness.engine,
    keys: new AdminKeys(harness.context, [
      { role: 'admin', key: ADMIN_KEY },
      { role: 'developer', key: DEV_KEY },
    ]),
    log: createLogger({ level: 'silent' }),
    publicUrl: 'http://127.0.0.1',
    secureCookies: false,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const created = await api('POST', 'profiles', { body: customActionProfile('acme', ACME_SECRET) });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  const all = seen.join('\n');
  for (const secret of SECRETS) expect(all).not.toContain(secret);
});

describe('custom profiles declare actions through the API', () => {
  test('actions and currentUser are written with POST and read back with GET, defaults filled in', async () => {
    const read = await api('GET', 'profiles/acme');
    expect(read.status).toBe(200);
    expect(read.json.actions.map((action: Json) => `${action.entity}.${action.action}`)).toEqual([
      'deals.list',
      'deals.create',
      'owners.me',
    ]);
    expect(read.json.actions[0]).toMatchObject({
      method: 'GET',
      access: 'read',
      query: { limit: '{{limit}}' },
      params: { limit: { type: 'integer', default: 10, minimum: 1, maximum: 100, required: false } },
    });
    expect(read.json.currentUser).toEqual({
      path: '/crm/v3/owners',
      query: { email: '{{account.email}}' },
      idPath: 'results.0.id',
      scopes: [],
    });
    expect(read.json.actionSettings).toEqual({});
  });

  test('a bad action is refused naming the field, and nothing is stored', async () => {
    const bad = customActionProfile('beta', 'beta-secret-value');
    (bad.actions as Json[])[1].path = '/crm/../admin';
    const refused = await api('POST', 'profiles', { body: bad });
    expect(refused.status).toBe(400);
    expect(refused.json.error.issues).toContainEqual({
      path: 'actions.1.path',
      message: 'must not contain . or .. segments',
    });
    expect(await harness.engine.findProfile('beta')).toBeNull();
  });
});

describe('GET /admin/api/profiles/{id}/actions', () => {
  test('lists each action with key, access, method, path, scopes, params, enabled and where that comes from', async () => {
    const listed = await api('GET', 'profiles/acme/actions');
    expect(listed.status).toBe(200);
    expect(listed.headers.get('etag')).toBe(`"${listed.json.version}"`);
    expect(listed.json.profileId).toBe('acme');
    expect(listed.json.actions).toEqual([
      {
        key: 'deals.list',
        entity: 'deals',
        action: 'list',
        title: 'Deals',
        description: 'Every deal, newest first',
        access: 'read',
        method: 'GET',
        path: '/crm/v3/objects/deals',
        params: {
          limit: { type: 'integer', default: 10, minimum: 1, maximum: 100, required: false, maxLength: 200 },
        },
        scopes: ['deals.read'],
        phrases: [],
        enabled: true,
        enabledByDefault: true,
        setting: 'default',
      },
      expect.objectContaining({
        key: 'deals.create',
        access: 'write',
        method: 'POST',
        enabled: false,
        enabledByDefault: false,
        setting: 'default',
      }),
      expect.objectContaining({ key: 'owners.me', path: '/crm/v3/owners/{{currentUser}}', enabled: true }),
    ]);
  });

  test('a developer key may read them; unknown profiles are 404 naming the id; no key is 401', async () => {
    expect((await api('GET', 'profiles/bundled-crm/actions', { key: DEV_KEY })).status).toBe(200);
    const missing = await api('GET', 'profiles/nope/actions');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: 'profile-not-found', message: 'no profile "nope"' });
    const anonymous = await api('GET', 'profiles/acme/actions', { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
  });
});

describe('PUT /admin/api/profiles/{id}/actions/{key}', () => {
  test('on a custom profile: saved in actionSettings, every other field and the sealed secret unchanged, audited', async () => {
    const before = await harness.store.profiles.get('acme');
    expect(before).not.toBeNull();
    const saved = await api('PUT', 'profiles/acme/actions/deals.list', { body: { enabled: false } });
    expect(saved.status).toBe(200);
    expect(saved.json).toMatchObject({
      profileId: 'acme',
      version: before!.version + 1,
      action: { key: 'deals.list', enabled: false, enabledByDefault: true, setting: 'admin' },
    });
    expect(saved.headers.get('etag')).toBe(`"${before!.version + 1}"`);

    const after = await harness.store.profiles.get('acme');
    const { actionSettings, ...rest } = after!.document;
    expect(actionSettings).toEqual({ 'deals.list': { enabled: false } });
    expect(rest).toEqual(before!.document);
    // The sealed secret is the very same ciphertext: not re-sealed, not lost.
    expect(after!.clientSecret).toBe(before!.clientSecret);
    expect((await harness.engine.catalog.get('acme')).clientSecret).toBe(ACME_SECRET);
    expect(after!.updatedBy).toBe('admin:env-1');

    // The switch is what running it obeys (checked before anything is sent).
    const profile = await harness.engine.catalog.get('acme');
    expect(await harness.engine.runAction(profile, USER, 'deals.list', {})).toMatchObject({
      ok: false,
      code: 'action-disabled',
    });

    const audit = await harness.engine.listAudit({ limit: 5, target: 'profile:acme' });
    expect(audit[0]).toMatchObject({
      actor: 'admin:env-1',
      action: 'action.disabled',
      details: { action: 'deals.list' },
    });
    expect(audit[1]).toMatchObject({ action: 'profile.updated', details: { changed: 'actionSettings' } });

    const enabled = await api('PUT', 'profiles/acme/actions/deals.create', { body: { enabled: true } });
    expect(enabled.json.action).toMatchObject({ key: 'deals.create', enabled: true, setting: 'admin' });
    expect((await harness.store.profiles.get('acme'))!.document.actionSettings).toEqual({
      'deals.list': { enabled: false },
      'deals.create': { enabled: true },
    });
    const entries = await harness.engine.listAudit({ limit: 1, target: 'profile:acme' });
    expect(entries[0]).toMatchObject({ action: 'action.enabled', details: { action: 'deals.create' } });
  });

  test('on a bundled profile: admins only, in the stored override, keeping its other fields and secret', async () => {
    const override = await api('PUT', 'profiles/bundled-crm', {
      body: {
        id: 'bundled-crm',
        clientId: 'bundled-client',
        clientSecret: BUNDLED_SECRET,
        scopes: ['deals.read'],
      },
    });
    expect(override.status).toBe(200);
    const before = await harness.store.profiles.get('bundled-crm');

    const developer = await api('PUT', 'profiles/bundled-crm/actions/deals.create', {
      key: DEV_KEY,
      body: { enabled: true },
    });
    expect(developer.status).toBe(403);
    expect(developer.json.error.message).toContain('"bundled-crm" is a bundled profile');
    expect((await harness.store.profiles.get('bundled-crm'))!.version).toBe(before!.version);

    const saved = await api('PUT', 'profiles/bundled-crm/actions/deals.create', { body: { enabled: true } });
    expect(saved.status).toBe(200);
    expect(saved.json.action).toMatchObject({ key: 'deals.create', access: 'write', enabled: true });
    const after = await harness.store.profiles.get('bundled-crm');
    expect(after!.kind).toBe('override');
    expect(after!.document).toEqual({
      ...before!.document,
      actionSettings: { 'deals.create': { enabled: true } },
    });
    expect(after!.clientSecret).toBe(before!.clientSecret);
    const profile = await harness.engine.catalog.get('bundled-crm');
    expect(profile).toMatchObject({ clientId: 'bundled-client', clientSecret: BUNDLED_SECRET });
    // The bundled declaration itself (paths, hosts) is untouched.
    expect(profile.actions).toHaveLength(3);
  });

  test('a developer key may switch the actions of a custom profile (it may replace the whole profile anyway)', async () => {
    const saved = await api('PUT', 'profiles/acme/actions/owners.me', {
      key: DEV_KEY,
      body: { enabled: false },
    });
    expect(saved.status).toBe(200);
    const entries = await harness.engine.listAudit({ limit: 1, target: 'profile:acme' });
    expect(entries[0]).toMatchObject({ actor: 'developer:env-2', action: 'action.disabled' });
  });

  test('the settings survive a restart: a new engine on the same store reads them back', async () => {
    const reopened = await openHarness();
    try {
      const acme = await reopened.engine.catalog.get('acme');
      expect(reopened.engine.listAdminActions(acme).map((action) => [action.key, action.enabled])).toEqual([
        ['deals.list', false],
        ['deals.create', true],
        ['owners.me', false],
      ]);
      expect(acme.clientSecret).toBe(ACME_SECRET);
      const bundled = await reopened.engine.catalog.get('bundled-crm');
      expect(
        reopened.engine.listActions(bundled).find((action) => action.key === 'deals.create')?.enabled,
      ).toBe(true);
    } finally {
      await reopened.context.store.close();
    }
  });

  test('bad bodies are 400 naming the field; nothing is stored', async () => {
    const version = (await harness.store.profiles.get('acme'))!.version;
    const cases: [unknown, string][] = [
      [{ enabled: 'yes' }, 'enabled'],
      [{}, 'enabled'],
      [{ enabled: true, colour: 'red' }, 'colour'],
      [[true], '(body)'],
    ];
    for (const [body, field] of cases) {
      const refused = await api('PUT', 'profiles/acme/actions/deals.list', { body });
      expect({ body, status: refused.status, code: refused.json.error.code }).toEqual({
        body,
        status: 400,
        code: 'invalid-request',
      });
      expect(refused.json.error.issues.map((issue: Json) => issue.path)).toContain(field);
    }
    const malformed = await api('PUT', 'profiles/acme/actions/Deals', { body: { enabled: true } });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.issues).toEqual([
      { path: 'key', message: 'must be an action key (entity.action, e.g. deals.list-mine)' },
    ]);
    const notJson = await api('PUT', 'profiles/acme/actions/deals.list', { raw: '{"enabled":' });
    expect(notJson.status).toBe(400);
    expect((await harness.store.profiles.get('acme'))!.version).toBe(version);
  });

  test('unknown profile or action is 404 naming it; a stale If-Match is 409; a file profile is 403', async () => {
    const noProfile = await api('PUT', 'profiles/nope/actions/deals.list', { body: { enabled: true } });
    expect(noProfile.status).toBe(404);
    expect(noProfile.json.error).toMatchObject({ code: 'profile-not-found', message: 'no profile "nope"' });
    const noAction = await api('PUT', 'profiles/acme/actions/deals.delete', { body: { enabled: true } });
    expect(noAction.status).toBe(404);
    expect(noAction.json.error).toMatchObject({
      code: 'action-not-found',
      message: 'profile "acme" has no action "deals.delete"',
    });

    const version = (await harness.store.profiles.get('acme'))!.version;
    const stale = await api('PUT', 'profiles/acme/actions/deals.list', {
      body: { enabled: true },
      headers: { 'if-match': `"${version - 1}"` },
    });
    expect(stale.status).toBe(409);
    const current = await api('PUT', 'profiles/acme/actions/deals.list', {
      body: { enabled: false },
      headers: { 'if-match': `"${version}"` },
    });
    expect(current.status).toBe(200);

    const fromFile = await api('PUT', 'profiles/file-crm/actions/deals.list', { body: { enabled: false } });
    expect(fromFile.status).toBe(403);
    expect(fromFile.json.error.message).toContain('defined in a profile file');
    expect(await harness.store.profiles.get('file-crm')).toBeNull();

    const anonymous = await api('PUT', 'profiles/acme/actions/deals.list', {
      key: null,
      body: { enabled: true },
    });
    expect(anonymous.status).toBe(401);
  });
});

describe('a pre-authorized profile: what the organisation token runs is an admin decision (SECURITY.md #84)', () => {
  beforeAll(async () => {
    const created = await api('POST', 'profiles', {
      body: customActionProfile('org-crm', ACME_SECRET, { authorization: 'pre-authorized' }),
    });
    expect(created.status).toBe(201);
  });

  test('a developer key may not switch on a write, add an action, or open the access policy; an admin may', async () => {
    const versionBefore = (await api('GET', 'profiles/org-crm')).json.version;
    const switched = await api('PUT', 'profiles/org-crm/actions/deals.create', {
      key: DEV_KEY,
      body: { enabled: true },
    });
    expect(switched.status).toBe(403);
    expect(switched.json.error).toMatchObject({ code: 'profile-read-only' });
    expect(switched.json.error.message).toContain('only an admin may change its actions');

    const current = (await api('GET', 'profiles/org-crm')).json;
    const withDelete = {
      ...customActionProfile('org-crm', ACME_SECRET, { authorization: 'pre-authorized' }),
      actions: [
        ...current.actions,
        {
          entity: 'deals',
          action: 'delete',
          title: 'Delete a deal',
          access: 'write',
          method: 'DELETE',
          path: '/crm/v3/objects/deals/{{id}}',
          params: { id: { type: 'string', required: true } },
          enabledByDefault: true,
          results: { fields: [{ path: 'id', label: 'Id' }] },
        },
      ],
    };
    const added = await api('PUT', 'profiles/org-crm', { key: DEV_KEY, body: withDelete });
    expect(added.status).toBe(403);
    const opened = await api('PUT', 'profiles/org-crm', {
      key: DEV_KEY,
      body: {
        ...customActionProfile('org-crm', ACME_SECRET, { authorization: 'pre-authorized' }),
        access: { users: ['webchat:mallory'] },
      },
    });
    expect(opened.status).toBe(403);
    // Nothing was stored by the refused writes.
    expect((await api('GET', 'profiles/org-crm')).json.version).toBe(versionBefore);

    // Other fields stay a developer's to change; the admin decides the rest.
    const renamed = await api('PUT', 'profiles/org-crm', {
      key: DEV_KEY,
      body: {
        ...customActionProfile('org-crm', ACME_SECRET, { authorization: 'pre-authorized' }),
        displayName: 'Org CRM',
      },
    });
    expect(renamed.status).toBe(200);
    const byAdmin = await api('PUT', 'profiles/org-crm/actions/deals.create', { body: { enabled: true } });
    expect(byAdmin.status).toBe(200);
    const profile = await harness.engine.catalog.get('org-crm');
    expect(harness.engine.listActions(profile).find((a) => a.key === 'deals.create')?.enabled).toBe(true);
  });
});
