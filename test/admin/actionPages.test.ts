// Issue 11 on the admin pages, over HTTP against an in-process restify server with the real engine
// (SQLite, encryption, profile files): a profile's page lists its actions with an Enable/Disable
// button each (session + CSRF like every admin form), and the custom profile form declares actions
// as JSON, refused naming the field with the text kept. A test-only bundled profile with actions
// comes from the harness.
import type { AddressInfo } from 'node:net';
import restify from 'restify';
import type { AdminContext } from '../../bot/admin/adminContext';
import { registerAdminPages } from '../../bot/admin/pages/adminPages';
import { createLogger } from '../../bot/logger';
import { AdminKeys } from '../../profiles/adminKeys';
import { BUNDLED_ACTION_PROFILE, customActionProfile, testActions } from '../support/actionProfiles';
import { Client, csrfOf, signIn } from '../support/adminClient';
import { createHarness, type Harness } from '../support/engineHarness';

const ADMIN_KEY = 'action-pages-admin-key-0123456789';
const DEVELOPER_KEY = 'action-pages-developer-key-01234567';
const SECRET = 'action-pages-secret-never-shown-4e5f';
const XSS_TITLE = '<script>alert("x")</script>';

let harness: Harness;
let server: restify.Server;
let base: string;
const pages: string[] = [];

function unescapeHtml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&#x3D;/g, '=')
    .replace(/&#x60;/g, '`')
    .replace(/&amp;/g, '&');
}

/** The text of the "Actions (JSON)" textarea as the browser shows it. */
function actionsText(html: string): string {
  const match = /<textarea id="f-actionsJson"[^>]*>([\s\S]*?)<\/textarea>/.exec(html);
  if (match?.[1] === undefined) throw new Error('no Actions (JSON) field on the page');
  return unescapeHtml(match[1]);
}

function fieldErrors(html: string, name: string): string[] {
  const block = new RegExp(`<div class="field[^"]*" data-field="${name}">([\\s\\S]*?)</div>`).exec(html)?.[1];
  if (block === undefined) throw new Error(`no field ${name} on the page`);
  return [...block.matchAll(/<p class="field-error"[^>]*>([^<]*)<\/p>/g)].map((m) =>
    unescapeHtml(m[1] ?? ''),
  );
}

/** `key` → `{ enabled, button }` from the profile page's action table. */
function actionRows(html: string): Map<string, { enabled: string; button: string | null; html: string }> {
  const rows = new Map<string, { enabled: string; button: string | null; html: string }>();
  for (const match of html.matchAll(
    /<tr data-action="([^"]+)" data-enabled="(true|false)">([\s\S]*?)<\/tr>/g,
  )) {
    const button = /<button[^>]*>(Enable|Disable)<\/button>/.exec(match[3] ?? '')?.[1] ?? null;
    rows.set(match[1] ?? '', { enabled: match[2] ?? '', button, html: match[3] ?? '' });
  }
  return rows;
}

function formFields(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    id: 'acme',
    displayName: 'Acme CRM',
    authorizationUrl: 'https://auth.acme.example/authorize',
    tokenUrl: 'https://auth.acme.example/token',
    refreshUrl: '',
    revocationUrl: '',
    issuer: '',
    clientId: 'acme-client',
    clientSecret: SECRET,
    scopes: 'deals.read',
    pkce: 'on',
    tokenEndpointAuthMethod: 'client_secret_basic',
    authorization: 'per-user',
    apiBaseUrl: 'https://api.acme.example',
    checkUrl: '',
    ...overrides,
  };
}

async function client(key: string): Promise<Client> {
  const browser = new Client(base);
  expect((await signIn(browser, key)).status).toBe(303);
  return browser;
}

async function get(browser: Client, path: string): Promise<string> {
  const page = await browser.get(path);
  expect({ path, status: page.status }).toEqual({ path, status: 200 });
  pages.push(page.html);
  return page.html;
}

beforeAll(async () => {
  harness = await createHarness({
    profiles: [customActionProfile('file-crm', 'file-secret-3c4d5e')],
    extraSystemProfiles: [BUNDLED_ACTION_PROFILE],
  });
  server = restify.createServer({ name: 'action-pages-test', handleUncaughtExceptions: false });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ctx: AdminContext = {
    engine: harness.engine,
    keys: new AdminKeys(harness.context, [
      { role: 'admin', key: ADMIN_KEY },
      { role: 'developer', key: DEVELOPER_KEY },
    ]),
    log: createLogger({ level: 'silent' }),
    publicUrl: base,
    secureCookies: false,
  };
  registerAdminPages(server, ctx);
});

afterAll(async () => {
  server.server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await harness.close();
  for (const html of pages) expect(html).not.toContain(SECRET);
});

describe('declaring actions on the custom profile form', () => {
  test('actions and currentUser entered as JSON are saved and shown again on the edit form', async () => {
    const admin = await client(ADMIN_KEY);
    const actions = testActions();
    (actions[0] as { title: string }).title = XSS_TITLE;
    const text = JSON.stringify({ actions, currentUser: customActionProfile('x', 'y').currentUser }, null, 2);
    const created = await admin.submit(
      '/admin/profiles/new',
      '/admin/profiles/new',
      formFields({ actionsJson: text }),
    );
    expect(created.status).toBe(303);
    expect(created.location).toBe('/admin/profiles/acme?saved=created');
    const profile = await harness.engine.catalog.get('acme');
    expect(profile.actions.map((action) => `${action.entity}.${action.action}`)).toEqual([
      'deals.list',
      'deals.create',
      'owners.me',
    ]);
    expect(profile.currentUser?.idPath).toBe('results.0.id');
    expect(profile.clientSecret).toBe(SECRET);
    const edit = await get(admin, '/admin/profiles/acme/edit');
    expect(JSON.parse(actionsText(edit))).toEqual(JSON.parse(text));
  });

  test('text that is not JSON is refused naming the field; the text and the other fields are kept', async () => {
    const admin = await client(ADMIN_KEY);
    const version = (await harness.store.profiles.get('acme'))!.version;
    const typed = '{ "actions": [ { "entity": "deals", <oops> ';
    const { id: _id, ...fields } = formFields({ displayName: 'Acme renamed', actionsJson: typed });
    const refused = await admin.submit('/admin/profiles/acme/edit', '/admin/profiles/acme/edit', fields);
    pages.push(refused.html);
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('Nothing was saved');
    const errors = fieldErrors(refused.html, 'actionsJson');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^Actions \(JSON\) is not valid JSON \(/);
    expect(actionsText(refused.html)).toBe(typed);
    expect(refused.html).toContain('value="Acme renamed"');
    expect((await harness.store.profiles.get('acme'))!.version).toBe(version);
  });

  test('JSON nested deeper than the admin API allows is refused naming the field, not a 500', async () => {
    const admin = await client(ADMIN_KEY);
    const version = (await harness.store.profiles.get('acme'))!.version;
    // A body template nested 20,000 deep fits in the form (about 40 KB) and overflowed the stack of
    // the schema's checks; the admin API refuses such a body before parsing (at most 20 deep).
    const deep = `${'['.repeat(20_000)}"x"${']'.repeat(20_000)}`;
    const typed = `{"actions": [{"entity": "deals", "action": "deep", "title": "Deep", "method": "POST", "path": "/x", "body": ${deep}, "results": {"fields": [{"path": "id", "label": "Id"}]}}]}`;
    const { id: _id, ...fields } = formFields({ actionsJson: typed });
    const refused = await admin.submit('/admin/profiles/acme/edit', '/admin/profiles/acme/edit', fields);
    pages.push(refused.html);
    expect(refused.status).toBe(400);
    expect(fieldErrors(refused.html, 'actionsJson')).toEqual([
      'Actions (JSON) is nested more than 20 levels deep',
    ]);
    expect((await harness.store.profiles.get('acme'))!.version).toBe(version);
  });

  test('a schema problem inside the JSON is named by its path next to the field; the text is kept', async () => {
    const admin = await client(ADMIN_KEY);
    const version = (await harness.store.profiles.get('acme'))!.version;
    const actions = testActions();
    (actions[1] as { path: string }).path = 'crm/v3/objects/deals';
    const typed = JSON.stringify(
      { actions, currentUser: { path: '/me', idPath: 'id', colour: 'red' } },
      null,
      1,
    );
    const { id: _id, ...fields } = formFields({ actionsJson: typed });
    const refused = await admin.submit('/admin/profiles/acme/edit', '/admin/profiles/acme/edit', fields);
    pages.push(refused.html);
    expect(refused.status).toBe(400);
    const errors = fieldErrors(refused.html, 'actionsJson');
    expect(errors).toContain('Actions (JSON) currentUser.colour: is not a known field');
    expect(actionsText(refused.html)).toBe(typed);
    // The path problem is judged once the shape is right: fix the first, the second is named.
    const second = JSON.stringify({ actions }, null, 1);
    const again = await admin.submit('/admin/profiles/acme/edit', '/admin/profiles/acme/edit', {
      ...fields,
      actionsJson: second,
    });
    pages.push(again.html);
    expect(again.status).toBe(400);
    expect(fieldErrors(again.html, 'actionsJson')).toContain(
      'Actions (JSON) actions.1.path: must start with /',
    );
    expect(actionsText(again.html)).toBe(second);
    const wrongKey = await admin.submit('/admin/profiles/acme/edit', '/admin/profiles/acme/edit', {
      ...fields,
      actionsJson: '{"actions": [], "actionSettings": {}}',
    });
    pages.push(wrongKey.html);
    expect(fieldErrors(wrongKey.html, 'actionsJson')).toEqual([
      'Actions (JSON) may hold only "actions" and "currentUser", not "actionSettings"',
    ]);
    expect((await harness.store.profiles.get('acme'))!.version).toBe(version);
  });
  test('a long catalogue of actions fits in the form (over the old 32 KiB form limit)', async () => {
    const admin = await client(ADMIN_KEY);
    const [template] = testActions();
    const actions = Array.from({ length: 80 }, (_, index) => ({
      ...template,
      entity: `things${index}`,
      description: 'A description long enough to make this catalogue as large as a real one would be.',
    }));
    const text = JSON.stringify({ actions }, null, 2);
    expect(new URLSearchParams({ actionsJson: text }).toString().length).toBeGreaterThan(64 * 1024);
    const created = await admin.submit(
      '/admin/profiles/new',
      '/admin/profiles/new',
      formFields({ id: 'big-crm', actionsJson: text }),
    );
    expect(created.status).toBe(303);
    expect((await harness.engine.catalog.get('big-crm')).actions).toHaveLength(80);
  });
});

describe('switching actions on the profile page', () => {
  test('the page lists each action escaped, with its key, kind, request, scopes, state and a button', async () => {
    const admin = await client(ADMIN_KEY);
    const html = await get(admin, '/admin/profiles/acme');
    const rows = actionRows(html);
    expect([...rows.keys()]).toEqual(['deals.list', 'deals.create', 'owners.me']);
    expect(rows.get('deals.list')).toMatchObject({ enabled: 'true', button: 'Disable' });
    expect(rows.get('deals.create')).toMatchObject({ enabled: 'false', button: 'Enable' });
    const list = rows.get('deals.list')!.html;
    expect(list).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).not.toContain(XSS_TITLE);
    expect(list).toContain('<code>GET /crm/v3/objects/deals</code>');
    expect(list).toContain('<td>deals.read</td>');
    expect(rows.get('deals.create')!.html).toContain('<strong>write</strong>');
    expect(rows.get('deals.create')!.html).toContain('<code>POST /crm/v3/objects/deals</code>');
  });

  test('Disable and Enable save the switch, show a notice and are audited', async () => {
    const admin = await client(ADMIN_KEY);
    const page = await get(admin, '/admin/profiles/acme');
    const version = (await harness.store.profiles.get('acme'))!.version;
    const off = await admin.post('/admin/profiles/acme/actions/deals.list', {
      _csrf: csrfOf(page),
      version: String(version),
      enabled: 'false',
    });
    expect(off.status).toBe(303);
    expect(off.location).toBe('/admin/profiles/acme?action=deals.list&switched=off#actions');
    const after = await get(admin, '/admin/profiles/acme?action=deals.list&switched=off');
    expect(after).toContain('Action deals.list turned off.');
    expect(actionRows(after).get('deals.list')).toMatchObject({ enabled: 'false', button: 'Enable' });
    expect(actionRows(after).get('deals.list')!.html).toContain('(set by an admin)');
    const profile = await harness.engine.catalog.get('acme');
    expect(profile.actionSettings).toEqual({ 'deals.list': { enabled: false } });
    expect(profile.clientSecret).toBe(SECRET);
    const audit = await harness.engine.listAudit({ limit: 1, target: 'profile:acme' });
    expect(audit[0]).toMatchObject({ action: 'action.disabled', details: { action: 'deals.list' } });

    const on = await admin.post('/admin/profiles/acme/actions/deals.create', {
      _csrf: csrfOf(after),
      enabled: 'true',
    });
    expect(on.status).toBe(303);
    expect((await harness.engine.catalog.get('acme')).actionSettings).toEqual({
      'deals.list': { enabled: false },
      'deals.create': { enabled: true },
    });
  });

  test('saving the edit form keeps the switches of the actions it still declares', async () => {
    const admin = await client(ADMIN_KEY);
    const edit = await get(admin, '/admin/profiles/acme/edit');
    const { id: _id, ...fields } = formFields({
      displayName: 'Acme CRM 2',
      actionsJson: actionsText(edit),
      clientSecret: '',
    });
    const saved = await admin.post('/admin/profiles/acme/edit', {
      _csrf: csrfOf(edit),
      version: /name="version" value="(\d+)"/.exec(edit)?.[1] ?? '',
      ...fields,
    });
    expect(saved.status).toBe(303);
    const profile = await harness.engine.catalog.get('acme');
    expect(profile.displayName).toBe('Acme CRM 2');
    expect(profile.actionSettings).toEqual({
      'deals.list': { enabled: false },
      'deals.create': { enabled: true },
    });
    expect(profile.clientSecret).toBe(SECRET);

    // Dropping an action from the JSON drops its switch too (the schema refuses a switch of nothing).
    const again = await get(admin, '/admin/profiles/acme/edit');
    const declared = JSON.parse(actionsText(again)) as { actions: { action: string }[] };
    declared.actions = declared.actions.filter((action) => action.action !== 'list');
    const fewer = await admin.post('/admin/profiles/acme/edit', {
      _csrf: csrfOf(again),
      ...fields,
      actionsJson: JSON.stringify(declared),
    });
    expect(fewer.status).toBe(303);
    const trimmed = await harness.engine.catalog.get('acme');
    expect(trimmed.actions.map((action) => action.action)).toEqual(['create', 'me']);
    expect(trimmed.actionSettings).toEqual({ 'deals.create': { enabled: true } });
    // Put it back for the tests that follow (its switch was dropped with it).
    const restore = await get(admin, '/admin/profiles/acme/edit');
    const restored = await admin.post('/admin/profiles/acme/edit', {
      _csrf: csrfOf(restore),
      ...fields,
      actionsJson: actionsText(edit),
    });
    expect(restored.status).toBe(303);
    const off = await admin.post('/admin/profiles/acme/actions/deals.list', {
      _csrf: csrfOf(restore),
      enabled: 'false',
    });
    expect(off.status).toBe(303);
  });

  test('a POST without the CSRF token, from another site or without a session changes nothing', async () => {
    const admin = await client(ADMIN_KEY);
    const page = await get(admin, '/admin/profiles/acme');
    const version = (await harness.store.profiles.get('acme'))!.version;
    const noToken = await admin.post('/admin/profiles/acme/actions/deals.list', { enabled: 'true' });
    expect(noToken.status).toBe(403);
    expect(noToken.html).toContain('nothing was changed');
    const crossSite = await admin.post(
      '/admin/profiles/acme/actions/deals.list',
      { _csrf: csrfOf(page), enabled: 'true' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    );
    expect(crossSite.status).toBe(403);
    const anonymous = await new Client(base).post('/admin/profiles/acme/actions/deals.list', {
      _csrf: csrfOf(page),
      enabled: 'true',
    });
    expect({ status: anonymous.status, location: anonymous.location }).toEqual({
      status: 303,
      location: '/admin/login',
    });
    expect((await harness.store.profiles.get('acme'))!.version).toBe(version);
    expect((await harness.engine.catalog.get('acme')).actionSettings['deals.list']).toEqual({
      enabled: false,
    });
  });

  test('bad forms, unknown actions and stale versions are refused with a message', async () => {
    const admin = await client(ADMIN_KEY);
    const page = await get(admin, '/admin/profiles/acme');
    const csrf = csrfOf(page);
    const badValue = await admin.post('/admin/profiles/acme/actions/deals.list', {
      _csrf: csrf,
      enabled: 'yes',
    });
    expect(badValue.status).toBe(400);
    expect(badValue.html).toContain('The field &quot;enabled&quot; must be true or false.');
    const extra = await admin.post('/admin/profiles/acme/actions/deals.list', {
      _csrf: csrf,
      enabled: 'true',
      colour: 'red',
    });
    expect(extra.status).toBe(400);
    expect(extra.html).toContain('&quot;colour&quot; is not a field of this form.');
    const unknown = await admin.post('/admin/profiles/acme/actions/deals.delete', {
      _csrf: csrf,
      enabled: 'true',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.html).toContain('Profile &quot;acme&quot; has no action &quot;deals.delete&quot;.');
    const stale = await admin.post('/admin/profiles/acme/actions/deals.list', {
      _csrf: csrf,
      enabled: 'true',
      version: '1',
    });
    expect(stale.status).toBe(409);
    expect(stale.html).toContain('Someone changed this profile meanwhile');
    expect((await harness.engine.catalog.get('acme')).actionSettings['deals.list']).toEqual({
      enabled: false,
    });
  });

  test('bundled profiles: admins switch them (stored override); developers see no buttons and are refused', async () => {
    const developer = await client(DEVELOPER_KEY);
    const devPage = await get(developer, '/admin/profiles/bundled-crm');
    expect([...actionRows(devPage).values()].map((row) => row.button)).toEqual([null, null, null]);
    const refused = await developer.post('/admin/profiles/bundled-crm/actions/deals.create', {
      _csrf: csrfOf(devPage),
      enabled: 'true',
    });
    expect(refused.status).toBe(403);
    expect(await harness.store.profiles.get('bundled-crm')).toBeNull();

    const admin = await client(ADMIN_KEY);
    const page = await get(admin, '/admin/profiles/bundled-crm');
    expect(actionRows(page).get('deals.create')).toMatchObject({ enabled: 'false', button: 'Enable' });
    const on = await admin.post('/admin/profiles/bundled-crm/actions/deals.create', {
      _csrf: csrfOf(page),
      enabled: 'true',
    });
    expect(on.status).toBe(303);
    const stored = await harness.store.profiles.get('bundled-crm');
    expect(stored).toMatchObject({
      kind: 'override',
      document: { id: 'bundled-crm', actionSettings: { 'deals.create': { enabled: true } } },
    });

    // A developer may switch a custom profile's actions, as they may edit it.
    const devCustom = await get(developer, '/admin/profiles/acme');
    expect(actionRows(devCustom).get('owners.me')?.button).toBe('Disable');
    const devSwitch = await developer.post('/admin/profiles/acme/actions/owners.me', {
      _csrf: csrfOf(devCustom),
      enabled: 'false',
    });
    expect(devSwitch.status).toBe(303);
  });

  test('a profile defined in a file lists its actions without buttons and refuses a switch', async () => {
    const admin = await client(ADMIN_KEY);
    const page = await get(admin, '/admin/profiles/file-crm');
    expect([...actionRows(page).values()].map((row) => row.button)).toEqual([null, null, null]);
    expect(page).toContain('set <code>actionSettings</code> in the file');
    const refused = await admin.post('/admin/profiles/file-crm/actions/deals.list', {
      _csrf: csrfOf(page),
      enabled: 'false',
    });
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('defined in a profile file');
    expect(await harness.store.profiles.get('file-crm')).toBeNull();
  });
});
