// The `authprofiles` CLI (issue 4, point 4), run as a child process exactly as a user runs it
// (`node --import tsx bot/cli.ts ...`), against a temporary DATA_DIR with fixed ENCRYPTION_KEYS.
// What the CLI wrote is checked in-process afterwards through the same engine the service builds.

import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import restify, { type Server } from 'restify';
import { registerAdminApi } from '../../bot/admin/api/adminApi';
import { loadConfig } from '../../bot/config';
import { createLogger } from '../../bot/logger';
import { createEngine, type EngineServices } from '../../bot/services';
import { AdminKeys } from '../../profiles/adminKeys';
import { openTokens, saveConnection } from '../../profiles/connections';
import { KeyRing } from '../../profiles/encryption';
import { DEV_KEY_FILE } from '../../profiles/encryptionKeys';
import { sha256 } from '../../profiles/ids';
import type { TokenSet } from '../../profiles/oauth/tokenResponse';
import type { Profile } from '../../profiles/profileCatalog';
import { startService, type RunningService } from '../support/serviceProcess';
import { runCli, type CliRun } from '../support/cliRunner';

jest.setTimeout(120_000);

const keyMaterial = () => randomBytes(32).toString('base64');
const K0 = `k0:${keyMaterial()}`;
const K1 = `k1:${keyMaterial()}`;
const K2 = `k2:${keyMaterial()}`;
const CLIENT_SECRET = `acme-secret-${randomBytes(12).toString('hex')}`;

/** Everything any CLI run printed, scanned at the end for secrets. */
const printed: string[] = [];
/** Values that must never appear in the CLI's output. */
const secrets: string[] = [CLIENT_SECRET, ...[K0, K1, K2].map((spec) => spec.slice(3))];

type Run = CliRun;

function cli(args: string[], dir: string, env: Record<string, string | undefined> = {}): Promise<Run> {
  return runCli(
    args,
    { DATA_DIR: dir, PROFILES_DIR: join(dir, 'profiles'), ENCRYPTION_KEYS: K1, ...env },
    printed,
  );
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authprofiles-cli-'));
  dirs.push(dir);
  return dir;
}
const dirs: string[] = [];

function writeJson(dir: string, name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

const ACME = {
  id: 'acme',
  displayName: 'Acme CRM',
  authorizationUrl: 'https://auth.acme.example/authorize',
  tokenUrl: 'https://auth.acme.example/token',
  clientId: 'acme-client',
  clientSecret: CLIENT_SECRET,
  scopes: ['deals.read'],
  authorization: 'per-user',
};

/** The service's engine on `dir`, in this process (what the CLI opened is closed by then). */
function openEngine(dir: string, keys: string): Promise<EngineServices> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dir,
    PROFILES_DIR: join(dir, 'profiles'),
    ENCRYPTION_KEYS: keys,
  });
  return createEngine(config, createLogger({ level: 'silent' }));
}

let tokenCounter = 0;
function fakeTokens(): TokenSet {
  tokenCounter += 1;
  const tokens: TokenSet = {
    accessToken: `access-${tokenCounter}-${randomBytes(8).toString('hex')}`,
    refreshToken: `refresh-${tokenCounter}-${randomBytes(8).toString('hex')}`,
    tokenType: 'bearer',
    expiresAt: Date.now() + 3600_000,
    expiresAtEstimated: false,
    scopes: ['deals.read'],
  };
  secrets.push(tokens.accessToken, tokens.refreshToken as string);
  return tokens;
}

/** Seals connections for `profile` with the first key of `keys`; returns id → tokens. */
async function seedConnections(
  dir: string,
  keys: string,
  subjects: string[],
  profile?: Profile,
): Promise<{ profile: Profile; seeded: Map<string, TokenSet> }> {
  const services = await openEngine(dir, keys);
  try {
    const used = profile ?? (await services.catalog.get('acme'));
    const seeded = new Map<string, TokenSet>();
    for (const subject of subjects) {
      const tokens = fakeTokens();
      const saved = await saveConnection(services.engine.context, used, subject, tokens, {
        createdBy: 'user:test',
        requireVerification: false,
      });
      seeded.set(saved.connection.id, tokens);
    }
    return { profile: used, seeded };
  } finally {
    await services.close();
  }
}

function line(stdout: string, label: string): string | undefined {
  return stdout.split('\n').find((entry) => entry.startsWith(`${label}:`));
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  const all = printed.join('\n');
  for (const secret of secrets) expect(all).not.toContain(secret);
});

describe('validate', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });

  test('good custom profiles and overrides of bundled ones pass without opening a store', async () => {
    const good = writeJson(dir, 'good.json', ACME);
    const override = writeJson(dir, 'hubspot.json', {
      id: 'hubspot',
      clientId: 'hub-client',
      scopes: ['oauth'],
    });
    const dataDir = join(dir, 'never-created');
    const run = await cli(['validate', good, override], dataDir);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`ok ${good} (acme)\n`);
    expect(run.stdout).toContain(`ok ${override} (hubspot`);
    expect(existsSync(dataDir)).toBe(false);
  });

  test('errors name the file and the field path; exit 1 when some file is invalid', async () => {
    const good = writeJson(dir, 'good2.json', ACME);
    const bad = writeJson(dir, 'bad.json', { ...ACME, id: 'Bad Id', scopes: ['deals read'], colour: 'red' });
    const insecure = writeJson(dir, 'insecure.json', { ...ACME, tokenUrl: 'http://auth.acme.example/token' });
    const override = writeJson(dir, 'override.json', {
      id: 'hubspot',
      tokenUrl: 'https://evil.example/token',
    });
    const run = await cli(['validate', good, bad, insecure, override], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`ok ${good} (acme)`);
    expect(run.stderr).toContain(`${bad}: id: must be 1-64 lowercase letters, digits or dashes`);
    expect(run.stderr).toContain(`${bad}: scopes.0: must be an OAuth scope token`);
    expect(run.stderr).toContain(`${bad}: colour: is not a known field`);
    expect(run.stderr).toContain(`${insecure}: tokenUrl: must use https`);
    // URLs of a bundled profile are not overridable.
    expect(run.stderr).toContain(`${override}: tokenUrl: is not a known field`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('http on loopback passes in dev and fails with the production rules', async () => {
    const local = writeJson(dir, 'local.json', {
      ...ACME,
      authorizationUrl: 'http://127.0.0.1:9000/auth',
      tokenUrl: 'http://127.0.0.1:9000/token',
    });
    expect((await cli(['validate', local], dir)).code).toBe(0);
    const strict = await cli(['validate', '--production', local], dir);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain(`${local}: authorizationUrl: must use https`);
    const production = await cli(['validate', local], dir, { NODE_ENV: 'production' });
    expect(production.code).toBe(1);
  });

  test('invalid JSON is an invalid file (1); a missing file or no file is a usage error (2)', async () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "id": "acme", ');
    const invalid = await cli(['validate', broken], dir);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain(`${broken}: (file): is not valid JSON`);
    const missing = await cli(['validate', join(dir, 'nope.json')], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.json: cannot read (ENOENT)');
    const none = await cli(['validate'], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("missing required argument 'file'");
  });
});

describe('profiles import, list, export', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });

  test('import creates, list shows it usable, export leaves the secret out, re-import updates', async () => {
    const file = writeJson(dir, 'acme.json', ACME);
    const created = await cli(['profiles', 'import', file, '--actor', 'alice'], dir);
    expect(created).toMatchObject({ code: 0 });
    expect(created.stdout).toBe(`created acme (${file})\n`);

    const listed = await cli(['profiles', 'list', '--json'], dir);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as Record<string, unknown>[];
    expect(rows.find((row) => row.id === 'acme')).toMatchObject({
      kind: 'custom',
      source: 'store',
      authorization: 'per-user',
      usable: true,
      missing: [],
      connections: { active: 0, total: 0 },
    });
    expect(rows.find((row) => row.id === 'hubspot')).toMatchObject({
      kind: 'system',
      source: 'system',
      usable: false,
    });

    const table = await cli(['profiles', 'list'], dir);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+KIND\s+SOURCE\s+AUTHORIZATION\s+STATUS\s+CONNECTIONS/);
    expect(table.stdout).toMatch(/\nacme\s+custom\s+store\s+per-user\s+usable\s+0\n/);
    expect(table.stdout).toMatch(
      /\nhubspot\s+system\s+system\s+per-user\s+missing clientId \(set HUBSPOT_CLIENT_ID\)/,
    );

    const outDir = join(dir, 'exported');
    const exported = await cli(['profiles', 'export', '--out', outDir], dir);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(`exported acme (custom) to ${join(outDir, 'acme.json')}`);
    expect(readdirSync(outDir)).toEqual(['acme.json']);
    const document = JSON.parse(readFileSync(join(outDir, 'acme.json'), 'utf8')) as Record<string, unknown>;
    const { clientSecret: _secret, ...withoutSecret } = ACME;
    expect(document).toEqual({ ...withoutSecret, kind: 'custom' });
    expect(document).not.toHaveProperty('clientSecret');

    const toStdout = await cli(['profiles', 'export', 'acme'], dir);
    expect(toStdout.code).toBe(0);
    expect(JSON.parse(toStdout.stdout)).toEqual(document);

    const again = await cli(['profiles', 'import', join(outDir, 'acme.json')], dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      `updated acme (${join(outDir, 'acme.json')}), 0 connection(s) marked for re-authorization\n`,
    );
    // Leaving clientSecret out keeps the stored one.
    const after = JSON.parse((await cli(['profiles', 'list', '--json'], dir)).stdout) as Record<
      string,
      unknown
    >[];
    expect(after.find((row) => row.id === 'acme')).toMatchObject({ usable: true });

    const services = await openEngine(dir, K1);
    try {
      const audit = await services.store.audit.list({ limit: 10, target: 'profile:acme' });
      expect(audit.map((entry) => `${entry.actor} ${entry.action}`)).toEqual([
        'cli profile.updated',
        'cli:alice profile.created',
      ]);
      expect((await services.catalog.get('acme')).clientSecret).toBe(CLIENT_SECRET);
    } finally {
      await services.close();
    }
  });

  test('a change of scopes marks the connections for re-authorization; list counts them', async () => {
    await seedConnections(dir, K1, ['user:webchat:alice', 'org']);
    const file = writeJson(dir, 'acme-scopes.json', { ...ACME, scopes: ['deals.read', 'deals.write'] });
    const run = await cli(['profiles', 'import', file], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`updated acme (${file}), 2 connection(s) marked for re-authorization\n`);
    const table = await cli(['profiles', 'list'], dir);
    expect(table.stdout).toMatch(/\nacme\s+custom\s+store\s+per-user\s+usable\s+2 needs-reauthorization\n/);
  });

  test('overrides of bundled profiles are imported and exported as overrides, without the secret', async () => {
    const file = writeJson(dir, 'hubspot.json', {
      id: 'hubspot',
      clientId: 'hub-client',
      clientSecret: CLIENT_SECRET,
    });
    const run = await cli(['profiles', 'import', file], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^updated hubspot \(/);
    const rows = JSON.parse((await cli(['profiles', 'list', '--json'], dir)).stdout) as Record<
      string,
      unknown
    >[];
    expect(rows.find((row) => row.id === 'hubspot')).toMatchObject({ source: 'store', usable: true });
    const exported = await cli(['profiles', 'export', 'hubspot'], dir);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toEqual({ id: 'hubspot', kind: 'system', clientId: 'hub-client' });
    const all = JSON.parse((await cli(['profiles', 'export'], dir)).stdout) as { id: string }[];
    expect(all.map((entry) => entry.id)).toEqual(['acme', 'hubspot']);
  });

  test('access policy (issue 10 point 1): imported with the JSON, exported again, a bad entry is named', async () => {
    const access = { tenants: ['tenant-a'], channels: ['webchat'] };
    const file = writeJson(dir, 'acme-access.json', { ...ACME, id: 'acme-access', access });
    const run = await cli(['profiles', 'import', file], dir);
    expect(run).toMatchObject({ code: 0, stdout: `created acme-access (${file})\n` });
    const exported = JSON.parse((await cli(['profiles', 'export', 'acme-access'], dir)).stdout) as {
      access: unknown;
    };
    expect(exported.access).toEqual(access);
    const bad = writeJson(dir, 'acme-bad-access.json', {
      ...ACME,
      id: 'acme-access',
      access: { users: ['bob'] },
    });
    const refused = await cli(['profiles', 'import', bad], dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `${bad}: access.users.0: must be an Entra object id (GUID) or channel:user id`,
    );
  });

  test('invalid documents are refused naming file and field, and nothing is stored', async () => {
    const bad = writeJson(dir, 'bad.json', { ...ACME, id: 'beta', tokenUrl: 'not a url' });
    const envRef = writeJson(dir, 'env.json', {
      ...ACME,
      id: 'gamma',
      clientSecret: undefined,
      clientSecretEnv: 'ENCRYPTION_KEYS',
    });
    const good = writeJson(dir, 'delta.json', { ...ACME, id: 'delta' });
    const run = await cli(['profiles', 'import', bad, envRef, good], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${bad}: tokenUrl: must be an absolute URL`);
    expect(run.stderr).toContain(
      `${envRef}: clientSecretEnv: is only allowed in bundled profiles and profile files`,
    );
    expect(run.stdout).toBe(`created delta (${good})\n`);
    const ids = (JSON.parse((await cli(['profiles', 'list', '--json'], dir)).stdout) as { id: string }[]).map(
      (row) => row.id,
    );
    expect(ids).toContain('delta');
    expect(ids).not.toContain('beta');
    expect(ids).not.toContain('gamma');
  });

  test('exporting an unchanged bundled profile or an unknown id fails', async () => {
    const bundled = await cli(['profiles', 'export', 'google'], dir);
    expect(bundled.code).toBe(1);
    expect(bundled.stderr).toContain('"google" is a bundled profile with no stored changes');
    const unknown = await cli(['profiles', 'export', 'nope'], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no profile "nope"');
  });
});

describe('keys', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });

  test('create prints the key once; it authenticates and only its hash is stored', async () => {
    const run = await cli(['keys', 'create', '--name', 'ci', '--role', 'developer'], dir);
    expect(run.code).toBe(0);
    const key = run.stdout.trim();
    expect(key).toMatch(/^ap_[A-Za-z0-9_-]{43}$/);
    expect(run.stdout).toBe(`${key}\n`);
    expect(run.stderr).toContain('shown only this once');
    expect(run.stderr).not.toContain(key);

    const services = await openEngine(dir, K1);
    let keyId: string;
    try {
      const principal = await new AdminKeys(services.engine.context, []).authenticate(key);
      expect(principal).toMatchObject({ role: 'developer', name: 'developer:ci' });
      keyId = (principal as { keyId: string }).keyId;
    } finally {
      await services.close();
    }
    const db = readdirSync(dir)
      .filter((name) => name.startsWith('authprofiles.db'))
      .map((name) => readFileSync(join(dir, name)).toString('latin1'))
      .join('');
    expect(db).toContain(sha256(key));
    expect(db).not.toContain(key);

    const listed = await cli(['keys', 'list'], dir);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(`\\n${keyId}\\s+ci\\s+developer\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\s+-\\n`),
    );
    const json = JSON.parse((await cli(['keys', 'list', '--json'], dir)).stdout) as Record<string, unknown>[];
    expect(json).toEqual([
      expect.objectContaining({ id: keyId, name: 'ci', role: 'developer', revokedAt: null }),
    ]);
    expect(json[0]).not.toHaveProperty('keyHash');

    const revoked = await cli(['keys', 'revoke', keyId], dir);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked key ${keyId}\n` });
    const twice = await cli(['keys', 'revoke', keyId], dir);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`no active key "${keyId}"`);
    const after = await openEngine(dir, K1);
    try {
      expect(await new AdminKeys(after.engine.context, []).authenticate(key)).toBeNull();
    } finally {
      await after.close();
    }
    secrets.push(key.slice(3)); // printed once above, on purpose; never again (checked at the end)
    printed.splice(0, printed.length, ...printed.filter((text) => !text.includes(key)));
  });

  test('a bad role or a missing name is a usage error', async () => {
    const role = await cli(['keys', 'create', '--name', 'x', '--role', 'root'], dir);
    expect(role.code).toBe(2);
    expect(role.stderr).toContain("argument 'root' is invalid");
    const name = await cli(['keys', 'create', '--role', 'admin'], dir);
    expect(name.code).toBe(2);
    expect(name.stderr).toContain("required option '--name <name>' not specified");
  });
});

describe('encryption rotate', () => {
  test('re-encrypts every record with the first key, reports counts, and is idempotent', async () => {
    const dir = tempDir();
    expect((await cli(['profiles', 'import', writeJson(dir, 'acme.json', ACME)], dir)).code).toBe(0);
    const { seeded } = await seedConnections(dir, K1, ['user:webchat:a', 'user:webchat:b', 'org']);

    const rotating = `${K2},${K1}`;
    const first = await cli(['encryption', 'rotate', '--batch-size', '2'], dir, {
      ENCRYPTION_KEYS: rotating,
    });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('re-encrypting with the current key "k2"');
    expect(first.stderr).toMatch(/scanned 3, re-encrypted 3, already current 0, failed 0/); // profile + first batch
    expect(line(first.stdout, 'key')).toBe('key: k2');
    expect(line(first.stdout, 'scanned')).toBe('scanned: 4');
    expect(line(first.stdout, 're-encrypted')).toBe('re-encrypted: 4');
    expect(line(first.stdout, 'already current')).toBe('already current: 0');
    expect(line(first.stdout, 'failed')).toBe('failed: 0');

    const second = await cli(['encryption', 'rotate'], dir, { ENCRYPTION_KEYS: rotating });
    expect(second.code).toBe(0);
    expect(line(second.stdout, 're-encrypted')).toBe('re-encrypted: 0');
    expect(line(second.stdout, 'already current')).toBe('already current: 4');

    // k1 can go: everything opens with k2 alone.
    const services = await openEngine(dir, K2);
    try {
      for (const [id, tokens] of seeded) {
        const stored = await services.store.connections.getById(id);
        expect(stored && KeyRing.keyIdOf(stored.accessToken)).toBe('k2');
        expect(openTokens(services.engine.context, stored!)).toEqual({
          accessToken: tokens.accessToken,
          refreshToken: tokens.refreshToken,
        });
      }
      expect((await services.catalog.get('acme')).clientSecret).toBe(CLIENT_SECRET);
    } finally {
      await services.close();
    }
  });

  test('resumes after a given connection id', async () => {
    const dir = tempDir();
    expect((await cli(['profiles', 'import', writeJson(dir, 'acme.json', ACME)], dir)).code).toBe(0);
    const { seeded } = await seedConnections(dir, K1, ['user:webchat:a', 'user:webchat:b', 'user:webchat:c']);
    const [firstId] = [...seeded.keys()].sort();
    const rotating = { ENCRYPTION_KEYS: `${K2},${K1}` };
    const resumed = await cli(['encryption', 'rotate', '--after', firstId!], dir, rotating);
    expect(resumed.code).toBe(0);
    expect(line(resumed.stdout, 'scanned')).toBe('scanned: 3'); // the profile secret + 2 connections
    expect(line(resumed.stdout, 're-encrypted')).toBe('re-encrypted: 3');
    const full = await cli(['encryption', 'rotate'], dir, rotating);
    expect(line(full.stdout, 'scanned')).toBe('scanned: 4');
    expect(line(full.stdout, 're-encrypted')).toBe('re-encrypted: 1');
    expect(line(full.stdout, 'already current')).toBe('already current: 3');
  });

  test('a record sealed with a key not in ENCRYPTION_KEYS fails by id and code; exit 1', async () => {
    const dir = tempDir();
    expect((await cli(['profiles', 'import', writeJson(dir, 'acme.json', ACME)], dir)).code).toBe(0);
    const { profile } = await seedConnections(dir, K1, ['user:webchat:a']);
    const { seeded: lost } = await seedConnections(dir, K0, ['user:webchat:lost'], profile);
    const [lostId] = [...lost.keys()];
    const run = await cli(['encryption', 'rotate'], dir, { ENCRYPTION_KEYS: `${K2},${K1}` });
    expect(run.code).toBe(1);
    expect(line(run.stdout, 'scanned')).toBe('scanned: 3');
    expect(line(run.stdout, 're-encrypted')).toBe('re-encrypted: 2');
    expect(line(run.stdout, 'failed')).toBe('failed: 1');
    expect(run.stdout).toContain(`  ${lostId} encryption-key-unknown\n`);
    expect(run.stderr).toContain('Add the key they were sealed with to ENCRYPTION_KEYS');
    expect(run.stderr).toMatch(/authprofiles encryption rotate --after \S+/);
  });

  test('bad arguments and --remote are usage errors', async () => {
    const dir = tempDir();
    const batch = await cli(['encryption', 'rotate', '--batch-size', '0'], dir);
    expect(batch.code).toBe(2);
    expect(batch.stderr).toContain('must be a whole number from 1 to 10000');
    const remote = await cli(
      ['--remote', 'http://127.0.0.1:9', '--key', 'x'.repeat(20), 'encryption', 'rotate'],
      dir,
    );
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('encryption rotate works on the local store only');
  });
});

describe('connections', () => {
  test('list without secrets, filter by profile and status, revoke one', async () => {
    const dir = tempDir();
    expect((await cli(['profiles', 'import', writeJson(dir, 'acme.json', ACME)], dir)).code).toBe(0);
    const { seeded } = await seedConnections(dir, K1, ['user:webchat:alice', 'org', 'org#ops']);
    const [aliceId, orgId, opsId] = [...seeded.keys()] as [string, string, string];
    const ids = [aliceId, orgId]; // ops is deleted after the table check below
    const services = await openEngine(dir, K1);
    try {
      const org = await services.store.connections.getById(orgId);
      await services.store.connections.update(orgId, org!.version, {
        status: 'needs-reauthorization',
        lastError: 'invalid-grant',
      });
    } finally {
      await services.close();
    }

    const table = await cli(['connections', 'list'], dir);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+PROFILE\s+SUBJECT\s+STATUS\s+EXPIRES\s+UPDATED\s+LAST ERROR/);
    expect(table.stdout).toMatch(new RegExp(`\\n${aliceId}\\s+acme\\s+user:webchat:alice\\s+active\\s`));
    expect(table.stdout).toMatch(
      new RegExp(`\\n${orgId}\\s+acme\\s+org\\s+needs-reauthorization\\s.*invalid-grant\\n`),
    );
    // A named organisation connection (issue 10 point 3) shows its name after the subject.
    expect(table.stdout).toMatch(new RegExp(`\\n${opsId}\\s+acme\\s+org#ops\\s+active\\s`));
    const cleanup = await openEngine(dir, K1);
    try {
      await cleanup.store.connections.delete(opsId); // the rest of this test counts the other two
    } finally {
      await cleanup.close();
    }

    const json = JSON.parse((await cli(['connections', 'list', '--json'], dir)).stdout) as Record<
      string,
      unknown
    >[];
    expect(json.map((connection) => connection.id).sort()).toEqual([...ids].sort());
    for (const connection of json) {
      expect(connection).not.toHaveProperty('accessToken');
      expect(connection).not.toHaveProperty('refreshToken');
      expect(connection).not.toHaveProperty('verification');
    }
    const active = JSON.parse(
      (await cli(['connections', 'list', '--status', 'active', '--json'], dir)).stdout,
    ) as {
      id: string;
    }[];
    expect(active.map((connection) => connection.id)).toEqual([aliceId]);
    const other = JSON.parse(
      (await cli(['connections', 'list', '--profile', 'hubspot', '--json'], dir)).stdout,
    ) as unknown[];
    expect(other).toEqual([]);
    const badStatus = await cli(['connections', 'list', '--status', 'gone'], dir);
    expect(badStatus.code).toBe(2);

    const revoked = await cli(['connections', 'revoke', aliceId, '--actor', 'ops'], dir);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(
      `revoked connection ${aliceId} (not revoked at the provider: no-revocation-endpoint)\n`,
    );
    const left = JSON.parse((await cli(['connections', 'list', '--json'], dir)).stdout) as { id: string }[];
    expect(left.map((connection) => connection.id)).toEqual([orgId]);
    const again = await cli(['connections', 'revoke', aliceId], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no connection "${aliceId}"`);

    const after = await openEngine(dir, K1);
    try {
      const audit = await after.store.audit.list({ limit: 5, target: `connection:${aliceId}` });
      expect(audit[0]).toMatchObject({ actor: 'cli:ops', action: 'connection.revoked' });
    } finally {
      await after.close();
    }
  });
});

describe('configuration and usage errors', () => {
  test('production without ENCRYPTION_KEYS: exit 2 naming the variable', async () => {
    const dir = tempDir();
    const run = await cli(['profiles', 'list'], dir, {
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://bot.example.com',
      ENCRYPTION_KEYS: undefined,
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('invalid configuration');
    expect(run.stderr).toContain('ENCRYPTION_KEYS: is required in production');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'authprofiles.db'))).toBe(false);
  });

  test('a malformed ENCRYPTION_KEYS is a configuration error naming it', async () => {
    const run = await cli(['keys', 'list'], tempDir(), { ENCRYPTION_KEYS: 'k1:tooshort' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('ENCRYPTION_KEYS');
    expect(run.stderr).not.toContain('tooshort');
  });

  test('unknown commands and missing subcommands exit 2; --help exits 0', async () => {
    const dir = tempDir();
    const unknown = await cli(['frobnicate'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const nested = await cli(['profiles', 'frobnicate'], dir);
    expect(nested.code).toBe(2);
    expect((await cli([], dir)).code).toBe(2);
    const help = await cli(['--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('encryption');
  });

  test('--remote needs an admin key and a usable URL', async () => {
    const dir = tempDir();
    const noKey = await cli(['--remote', 'http://127.0.0.1:9', 'profiles', 'list'], dir, {
      AUTHPROFILES_ADMIN_KEY: undefined,
    });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--remote needs an admin key');
    const badUrl = await cli(['--remote', 'ftp://example.com', '--key', 'k'.repeat(20), 'keys', 'list'], dir);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--remote: must be an http:// or https:// URL');
    const validate = await cli(['--remote', 'http://127.0.0.1:9', 'validate', 'x.json'], dir);
    expect(validate.code).toBe(2);
  });
});

describe('--remote against a running admin API (bot/admin/api/adminApi.ts on restify)', () => {
  const ADMIN_KEY = `admin-${randomBytes(16).toString('hex')}`;
  const DEVELOPER_KEY = `developer-${randomBytes(16).toString('hex')}`;
  let serviceDir: string;
  let cliDir: string;
  let services: EngineServices;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    secrets.push(ADMIN_KEY, DEVELOPER_KEY);
    serviceDir = tempDir();
    cliDir = join(tempDir(), 'unused');
    services = await openEngine(serviceDir, K1);
    server = restify.createServer({ name: 'cli-test', handleUncaughtExceptions: false });
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

  const remote = (args: string[], env: Record<string, string | undefined> = {}) =>
    cli(['--remote', url, ...args], cliDir, {
      AUTHPROFILES_ADMIN_KEY: ADMIN_KEY,
      ENCRYPTION_KEYS: undefined,
      ...env,
    });

  test('profiles import, list and export go through the API', async () => {
    mkdirSync(cliDir, { recursive: true });
    const file = writeJson(cliDir, 'acme.json', ACME);
    const created = await remote(['profiles', 'import', file]);
    expect(created).toMatchObject({ code: 0, stdout: `created acme (${file})\n` });
    const updated = await remote(['profiles', 'import', file]);
    expect(updated.stdout).toBe(`updated acme (${file}), 0 connection(s) marked for re-authorization\n`);
    expect((await services.catalog.get('acme')).clientSecret).toBe(CLIENT_SECRET);

    await saveConnection(
      services.engine.context,
      await services.catalog.get('acme'),
      'user:webchat:alice',
      fakeTokens(),
      {
        createdBy: 'user:test',
        requireVerification: false,
      },
    );
    const table = await remote(['profiles', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/\nacme\s+custom\s+store\s+per-user\s+usable\s+1 active\n/);

    const exported = await remote(['profiles', 'export']);
    expect(exported.code).toBe(0);
    const documents = JSON.parse(exported.stdout) as Record<string, unknown>[];
    const { clientSecret: _secret, ...withoutSecret } = ACME;
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ ...withoutSecret, kind: 'custom' });
    for (const field of ['clientSecret', 'hasClientSecret', 'version', 'usable', 'connections', 'source'])
      expect(documents[0]).not.toHaveProperty(field);

    const invalid = writeJson(cliDir, 'invalid.json', { ...ACME, id: 'beta', scopes: 'deals.read' });
    const refused = await remote(['profiles', 'import', invalid]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${invalid}: scopes: `);
    // Nothing was written locally: the CLI never opened a store.
    expect(existsSync(join(cliDir, 'authprofiles.db'))).toBe(false);
  });

  test('keys and connections go through the API; a created key works', async () => {
    const created = await remote(['keys', 'create', '--name', 'ops', '--role', 'admin', '--json']);
    expect(created.code).toBe(0);
    const body = JSON.parse(created.stdout) as { key: string; id: string };
    secrets.push(body.key.slice(3));
    printed.splice(0, printed.length, ...printed.filter((text) => !text.includes(body.key)));
    const keys = new AdminKeys(services.engine.context, []);
    expect(await keys.authenticate(body.key)).toMatchObject({ role: 'admin', name: 'admin:ops' });
    const listed = await remote(['keys', 'list']);
    expect(listed.stdout).toMatch(new RegExp(`\\n${body.id}\\s+ops\\s+admin\\s`));
    expect((await remote(['keys', 'revoke', body.id])).code).toBe(0);
    expect(await keys.authenticate(body.key)).toBeNull();
    const again = await remote(['keys', 'revoke', body.id]);
    expect(again.code).toBe(1);

    const connections = JSON.parse(
      (await remote(['connections', 'list', '--profile', 'acme', '--json'])).stdout,
    ) as {
      id: string;
      profileId: string;
    }[];
    expect(connections).toHaveLength(1);
    expect(connections[0]).not.toHaveProperty('accessToken');
    const id = connections[0]!.id;
    const revoked = await remote(['connections', 'revoke', id]);
    expect(revoked.stdout).toBe(
      `revoked connection ${id} (not revoked at the provider: no-revocation-endpoint)\n`,
    );
    expect(await services.store.connections.getById(id)).toBeNull();
    const gone = await remote(['connections', 'revoke', id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`no connection "${id}"`);
  });

  test('a refused key or a missing permission fails with the reason, never echoing the key', async () => {
    const wrong = `wrong-${randomBytes(16).toString('hex')}`;
    secrets.push(wrong);
    const refused = await cli(['--remote', url, '--key', wrong, 'profiles', 'list'], cliDir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the service refused the admin key (401)');
    const developer = await remote(['keys', 'list'], { AUTHPROFILES_ADMIN_KEY: DEVELOPER_KEY });
    expect(developer.code).toBe(1);
    expect(developer.stderr).toContain('this operation needs an admin key (forbidden, HTTP 403)');
    const unreachable = await cli(['--remote', 'http://127.0.0.1:9', '--key', wrong, 'keys', 'list'], cliDir);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot reach http://127.0.0.1:9');
  });
});

// SECURITY.md #52: the README's key rotation recipe, run as written against a dev store, with the real
// service (bot/main.ts) running on the same SQLite file. The first version of the recipe rotated to
// a key the service did not have and every list failed; now the command refuses that, the corrected
// steps work, and a forced rotation leaves every list working with the unreadable records named.
describe('the README key rotation recipe in dev mode, step by step, with the service running', () => {
  const SERVICE_KEY = `admin-${randomBytes(16).toString('hex')}`;
  const dev = { ENCRYPTION_KEYS: undefined }; // dev mode: the key generated under DATA_DIR
  const running: RunningService[] = [];

  beforeAll(() => {
    secrets.push(SERVICE_KEY);
  });

  afterEach(async () => {
    for (const service of running.splice(0)) await service.stop();
  });

  async function serve(dir: string, keys?: string): Promise<RunningService> {
    const service = await startService({
      name: `rotation-${running.length}`,
      dataDir: dir,
      env: { ADMIN_API_KEYS: `admin:${SERVICE_KEY}`, ...(keys ? { ENCRYPTION_KEYS: keys } : {}) },
    });
    running.push(service);
    return service;
  }

  async function api<T>(service: RunningService, path: string): Promise<T> {
    const response = await fetch(`${service.baseUrl}/admin/api/${path}`, {
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  }

  /** "my connections" typed by `userId` in Web Chat, through the service's /api/messages. */
  async function myConnections(service: RunningService, userId: string): Promise<string> {
    const replies: string[] = [];
    // The channel's connector, receiving the bot's reply (named as the fake it is).
    const fakeConnector = createHttpServer((req, res) => {
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
      const response = await fetch(`${service.baseUrl}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'message',
          id: `act-${randomBytes(4).toString('hex')}`,
          text: 'my connections',
          channelId: 'webchat',
          serviceUrl: `http://127.0.0.1:${(fakeConnector.address() as AddressInfo).port}/`,
          from: { id: userId, name: 'User' },
          recipient: { id: 'bot', name: 'Bot' },
          conversation: { id: `conv-${userId}` },
        }),
      });
      expect(response.status).toBe(200);
      expect(replies).toHaveLength(1);
      return replies[0] as string;
    } finally {
      fakeConnector.closeAllConnections();
      await new Promise((resolve) => fakeConnector.close(resolve));
    }
  }

  /** A dev store as a dev user has it: a stored profile with a client secret and one user's connection. */
  async function devStore(): Promise<{ dir: string; devKey: string; connectionId: string }> {
    const dir = tempDir();
    expect((await cli(['profiles', 'import', writeJson(dir, 'acme.json', ACME)], dir, dev)).code).toBe(0);
    const devKey = readFileSync(join(dir, DEV_KEY_FILE), 'utf8').trim();
    expect(devKey).toMatch(/^dev1:/);
    secrets.push(devKey.slice('dev1:'.length));
    const { seeded } = await seedConnections(dir, devKey, ['user:webchat:dl_alice']);
    return { dir, devKey, connectionId: [...seeded.keys()][0] as string };
  }

  async function storedKeyIds(dir: string, keys: string): Promise<string[]> {
    const services = await openEngine(dir, keys);
    try {
      const ids = new Set<string>();
      for (const connection of await services.store.connections.list({}, { limit: 100 })) {
        ids.add(KeyRing.keyIdOf(connection.accessToken) as string);
      }
      for (const profile of await services.store.profiles.list()) {
        if (profile.clientSecret) ids.add(KeyRing.keyIdOf(profile.clientSecret) as string);
      }
      return [...ids].sort();
    } finally {
      await services.close();
    }
  }

  test('rotating to a key the running service lacks is refused; the corrected steps work as written', async () => {
    const { dir, devKey, connectionId } = await devStore();
    let service = await serve(dir);

    // The old recipe: the new key on the command line only. Refused, naming the key and the fix.
    const refused = await cli(['encryption', 'rotate'], dir, { ENCRYPTION_KEYS: `${K2},${devKey}` });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /refusing to re-encrypt with key "k2": the running service \(\S+ pid \d+, seen \d+ s ago\) holds only "dev1"/,
    );
    expect(refused.stderr).toContain(`Put the new key first in the service's ENCRYPTION_KEYS`);
    expect(refused.stderr).toContain(join(dir, DEV_KEY_FILE));
    expect(refused.stderr).toContain('ENCRYPTION_KEYS="k2:<new key>,dev1:<old key>"');
    expect(await storedKeyIds(dir, devKey)).toEqual(['dev1']);

    // Step 1: the new key first in the service's ENCRYPTION_KEYS, the old one after it; restart.
    const rotating = `${K2},${devKey}`;
    await service.stop();
    service = await serve(dir, rotating);
    // Step 2: re-encrypt with the same ENCRYPTION_KEYS.
    const rotated = await cli(['encryption', 'rotate'], dir, { ENCRYPTION_KEYS: rotating });
    expect(rotated.code).toBe(0);
    expect(line(rotated.stdout, 'key')).toBe('key: k2');
    expect(line(rotated.stdout, 're-encrypted')).toBe('re-encrypted: 2');
    expect(line(rotated.stdout, 'failed')).toBe('failed: 0');
    expect(await storedKeyIds(dir, rotating)).toEqual(['k2']);
    const listed = async (on: RunningService) => {
      const { profiles } = await api<{ profiles: Record<string, unknown>[] }>(on, 'profiles');
      expect(profiles.find((profile) => profile.id === 'acme')).toMatchObject({
        usable: true,
        missing: [],
        unreadableSecret: null,
      });
      const { connections } = await api<{ connections: Record<string, unknown>[] }>(on, 'connections');
      expect(connections).toEqual([expect.objectContaining({ id: connectionId, unreadable: null })]);
      expect(await myConnections(on, 'dl_alice')).toContain('• Acme CRM: connected');
    };
    await listed(service);

    // Step 3: after 0 failed, drop the old key and restart.
    await service.stop();
    service = await serve(dir, K2);
    await listed(service);
    const cliList = await cli(['profiles', 'list'], dir, { ENCRYPTION_KEYS: K2 });
    expect(cliList.stdout).toMatch(/\nacme\s+custom\s+store\s+per-user\s+usable\s+1 active\n/);
  });

  test('a forced rotation to a key the service lacks: lists name the key, chat and deleting keep working', async () => {
    const { dir, devKey, connectionId } = await devStore();
    const service = await serve(dir);
    const forced = await cli(['encryption', 'rotate', '--force'], dir, {
      ENCRYPTION_KEYS: `${K2},${devKey}`,
    });
    expect(forced.code).toBe(0);
    expect(line(forced.stdout, 're-encrypted')).toBe('re-encrypted: 2');

    const text = 'unreadable: sealed with key "k2", which is not in ENCRYPTION_KEYS';
    const { profiles } = await api<{ profiles: Record<string, unknown>[] }>(service, 'profiles');
    expect(profiles.find((profile) => profile.id === 'acme')).toMatchObject({
      usable: false,
      missing: [`clientSecret (${text})`],
      unreadableSecret: { keyId: 'k2', code: 'encryption-key-unknown' },
    });
    const { connections } = await api<{ connections: Record<string, unknown>[] }>(service, 'connections');
    expect(connections).toEqual([
      expect.objectContaining({
        id: connectionId,
        unreadable: { keyId: 'k2', code: 'encryption-key-unknown' },
      }),
    ]);
    expect(await myConnections(service, 'dl_alice')).toContain(
      `• Acme CRM: unavailable, its client secret is ${text}; an admin must fix it`,
    );
    // The CLI with the service's environment (the dev key only) lists them too.
    const cliProfiles = await cli(['profiles', 'list'], dir, dev);
    expect(cliProfiles.code).toBe(0);
    expect(cliProfiles.stdout).toContain(`missing clientSecret (${text})`);
    const cliConnections = await cli(['connections', 'list'], dir, dev);
    expect(cliConnections.code).toBe(0);
    expect(cliConnections.stdout).toContain(`${connectionId}  acme`);
    expect(cliConnections.stdout).toContain(`active (${text})`);
    // Deleting still works, through the service and the CLI.
    const revoked = await fetch(`${service.baseUrl}/admin/api/connections/${connectionId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    expect(revoked.status).toBe(200);
    const deleted = await fetch(`${service.baseUrl}/admin/api/profiles/acme`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    expect(deleted.status).toBe(200);
    expect(await storedKeyIds(dir, devKey)).toEqual([]);
  });
});
