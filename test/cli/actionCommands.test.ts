// `authprofiles actions list|enable|disable` (issue 11 point 3), run as a child process exactly as a
// user runs it (`node --import tsx bot/cli.ts ...`): on the local store (a temporary DATA_DIR with
// fixed ENCRYPTION_KEYS) and against a running admin API (restify on 127.0.0.1, real engine).

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import restify, { type Server } from 'restify';
import { registerAdminApi } from '../../bot/admin/api/adminApi';
import { loadConfig } from '../../bot/config';
import { createLogger } from '../../bot/logger';
import { createEngine, type EngineServices } from '../../bot/services';
import { AdminKeys } from '../../profiles/adminKeys';
import { customActionProfile } from '../support/actionProfiles';
import { runCli, type CliRun } from '../support/cliRunner';

jest.setTimeout(120_000);

const KEYS = `k1:${randomBytes(32).toString('base64')}`;
const SECRET = `acme-secret-${randomBytes(12).toString('hex')}`;
const ADMIN_KEY = `admin-${randomBytes(16).toString('hex')}`;
const DEVELOPER_KEY = `developer-${randomBytes(16).toString('hex')}`;
const printed: string[] = [];
const dirs: string[] = [];

type Run = CliRun;

function cli(args: string[], dir: string, env: Record<string, string | undefined> = {}): Promise<Run> {
  return runCli(
    args,
    { DATA_DIR: dir, PROFILES_DIR: join(dir, 'profiles'), ENCRYPTION_KEYS: KEYS, ...env },
    printed,
  );
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authprofiles-cli-actions-'));
  dirs.push(dir);
  return dir;
}

function openEngine(dir: string): Promise<EngineServices> {
  return createEngine(
    loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: dir,
      PROFILES_DIR: join(dir, 'profiles'),
      ENCRYPTION_KEYS: KEYS,
    }),
    createLogger({ level: 'silent' }),
  );
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  const all = printed.join('\n');
  for (const secret of [SECRET, ADMIN_KEY, DEVELOPER_KEY, KEYS.slice(3)]) expect(all).not.toContain(secret);
});

describe('actions on the local store', () => {
  let dir: string;

  beforeAll(async () => {
    dir = tempDir();
    mkdirSync(join(dir, 'profiles'));
    // A custom profile in a file (switched only in its file) next to the stored one.
    writeFileSync(
      join(dir, 'profiles', 'file-crm.json'),
      JSON.stringify(customActionProfile('file-crm', 'f-secret-1')),
    );
    const file = join(dir, 'acme.json');
    const title = { ...customActionProfile('acme', SECRET) };
    // A title with a terminal escape sequence: the table shows it inert.
    (title.actions as { title: string }[])[2]!.title = 'My \u001b[31mowner\u001b[0m record';
    writeFileSync(file, JSON.stringify(title));
    const imported = await cli(['profiles', 'import', file], dir);
    expect(imported).toMatchObject({ code: 0, stderr: '' });
  });

  test('list shows key, on/off (default or chosen), access and title; --json the details', async () => {
    const listed = await cli(['actions', 'list', 'acme'], dir);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toBe(
      [
        'KEY           ENABLED        ACCESS  TITLE',
        'deals.list    on (default)   read    Deals',
        'deals.create  off (default)  write   Create a deal',
        'owners.me     on (default)   read    My ?[31mowner?[0m record',
        '',
      ].join('\n'),
    );
    const json = await cli(['actions', 'list', 'acme', '--json'], dir);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)[1]).toEqual({
      key: 'deals.create',
      title: 'Create a deal',
      access: 'write',
      method: 'POST',
      path: '/crm/v3/objects/deals',
      scopes: ['deals.write'],
      enabled: false,
      setting: 'default',
    });
  });

  test('enable and disable save the switch (secret kept, audited as cli) and list shows it', async () => {
    const enabled = await cli(['--actor', 'alice', 'actions', 'enable', 'acme', 'deals.create'], dir);
    expect(enabled).toMatchObject({ code: 0, stdout: 'enabled deals.create of acme\n', stderr: '' });
    const disabled = await cli(['actions', 'disable', 'acme', 'deals.list'], dir);
    expect(disabled).toMatchObject({ code: 0, stdout: 'disabled deals.list of acme\n' });
    const listed = await cli(['actions', 'list', 'acme'], dir);
    expect(listed.stdout).toContain('\ndeals.list    off           read    Deals\n');
    expect(listed.stdout).toContain('\ndeals.create  on            write   Create a deal\n');

    const services = await openEngine(dir);
    try {
      const profile = await services.catalog.get('acme');
      expect(profile.actionSettings).toEqual({
        'deals.list': { enabled: false },
        'deals.create': { enabled: true },
      });
      expect(profile.clientSecret).toBe(SECRET);
      const audit = await services.engine.listAudit({ limit: 3, target: 'profile:acme' });
      expect(audit.map((entry) => [entry.actor, entry.action, entry.details.action ?? null])).toEqual([
        ['cli', 'action.disabled', 'deals.list'],
        ['cli', 'profile.updated', null],
        ['cli:alice', 'action.enabled', 'deals.create'],
      ]);
    } finally {
      await services.close();
    }
    // The switches travel with the profile's export.
    const exported = JSON.parse((await cli(['profiles', 'export', 'acme'], dir)).stdout) as Record<
      string,
      unknown
    >;
    expect(exported.actionSettings).toEqual({
      'deals.list': { enabled: false },
      'deals.create': { enabled: true },
    });
    expect(exported).not.toHaveProperty('clientSecret');
  });

  test('errors name the problem: unknown action or profile (1), a malformed key (2), a file profile (1)', async () => {
    const unknownKey = await cli(['actions', 'enable', 'acme', 'deals.nope'], dir);
    expect(unknownKey).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'authprofiles: profile "acme" has no action "deals.nope" (action-not-found)\n',
    });
    const unknownProfile = await cli(['actions', 'list', 'nope'], dir);
    expect(unknownProfile).toMatchObject({ code: 1, stderr: 'authprofiles: no profile "nope"\n' });
    const malformed = await cli(['actions', 'disable', 'acme', 'Deals List'], dir);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain(
      "value 'Deals List' is invalid for argument 'key'. must be an action key (entity.action",
    );
    const missing = await cli(['actions', 'enable', 'acme'], dir);
    expect(missing.code).toBe(2);
    const fromFile = await cli(['actions', 'disable', 'file-crm', 'deals.list'], dir);
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toContain(
      '"file-crm" is defined in a profile file: set actionSettings in the file',
    );
  });
});

describe('actions --remote against a running admin API', () => {
  let serviceDir: string;
  let cliDir: string;
  let services: EngineServices;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    serviceDir = tempDir();
    cliDir = join(tempDir(), 'unused');
    services = await openEngine(serviceDir);
    await services.engine.saveProfile('acme', customActionProfile('acme', SECRET), {
      name: 'test',
      role: 'admin',
    });
    server = restify.createServer({ name: 'cli-actions-test', handleUncaughtExceptions: false });
    registerAdminApi(server, {
      engine: services.engine,
      keys: new AdminKeys(services.engine.context, [
        { role: 'admin', key: ADMIN_KEY },
        { role: 'developer', key: DEVELOPER_KEY },
      ]),
      log: createLogger({ level: 'silent' }),
      publicUrl: 'http://127.0.0.1',
      secureCookies: false,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await services.close();
  });

  const remote = (args: string[], key = ADMIN_KEY) =>
    cli(['--remote', url, ...args], cliDir, { AUTHPROFILES_ADMIN_KEY: key, ENCRYPTION_KEYS: undefined });

  test('list, enable and disable go through the API', async () => {
    const listed = await remote(['actions', 'list', 'acme']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toContain('\ndeals.create  off (default)  write   Create a deal\n');
    const enabled = await remote(['actions', 'enable', 'acme', 'deals.create']);
    expect(enabled).toMatchObject({ code: 0, stdout: 'enabled deals.create of acme\n' });
    const disabled = await remote(['actions', 'disable', 'acme', 'owners.me'], DEVELOPER_KEY);
    expect(disabled).toMatchObject({ code: 0, stdout: 'disabled owners.me of acme\n' });
    const profile = await services.catalog.get('acme');
    expect(profile.actionSettings).toEqual({
      'deals.create': { enabled: true },
      'owners.me': { enabled: false },
    });
    expect(profile.clientSecret).toBe(SECRET);
    const json = JSON.parse((await remote(['actions', 'list', 'acme', '--json'])).stdout) as {
      key: string;
    }[];
    expect(json.map((action) => action)).toContainEqual(
      expect.objectContaining({ key: 'deals.create', enabled: true, setting: 'admin' }),
    );
  });

  test('errors name the problem: unknown action or profile, a refused key', async () => {
    const unknownKey = await remote(['actions', 'enable', 'acme', 'deals.nope']);
    expect(unknownKey.code).toBe(1);
    expect(unknownKey.stderr).toBe(
      'authprofiles: profile "acme" has no action "deals.nope" (action-not-found, HTTP 404)\n',
    );
    const unknownProfile = await remote(['actions', 'list', 'nope']);
    expect(unknownProfile).toMatchObject({ code: 1, stderr: 'authprofiles: no profile "nope"\n' });
    const noProfileSwitch = await remote(['actions', 'disable', 'nope', 'deals.list']);
    expect(noProfileSwitch.stderr).toBe('authprofiles: no profile "nope" (profile-not-found, HTTP 404)\n');
    const refused = await remote(['actions', 'list', 'acme'], `wrong-${randomBytes(8).toString('hex')}`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the service refused the admin key (401)');
  });
});
