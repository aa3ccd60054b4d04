// The profile catalogue: bundled → file → store layering, file errors that name the file and the
// field, overrides limited to safe fields, stored secrets, fingerprints and usability.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySpec, KeyRing, parseEncryptionKeys, secretContext } from '../../profiles/encryption';
import { AuthProfilesError, isAuthProfilesError } from '../../profiles/errors';
import {
  assertUsable,
  fingerprintOf,
  ProfileCatalog,
  profileUrl,
  type Profile,
} from '../../profiles/profileCatalog';
import { parseProfile, type ProfileDocument } from '../../profiles/profileSchema';
import { SqliteStore } from '../../profiles/store/sqliteStore';
import type { StoredProfile } from '../../profiles/store/types';

const VALIDATION = { allowInsecureLoopback: false };
const HUBSPOT_ENV = { HUBSPOT_CLIENT_ID: 'env-hub-id', HUBSPOT_CLIENT_SECRET: 'env-hub-secret' };

let dir: string;
let profilesDir: string;
let store: SqliteStore;
let keyRing: KeyRing;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'authprofiles-catalog-'));
  profilesDir = join(dir, 'profiles');
  mkdirSync(profilesDir);
  store = new SqliteStore(join(dir, 'store.db'));
  keyRing = new KeyRing(parseEncryptionKeys(generateKeySpec('test1')));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function catalog(env: Record<string, string> = HUBSPOT_ENV): ProfileCatalog {
  return new ProfileCatalog({ store, keyRing, env, validation: VALIDATION, profilesDir });
}

function writeProfile(name: string, content: unknown): string {
  const path = join(profilesDir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

function custom(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    displayName: `Custom ${id}`,
    authorizationUrl: `https://${id}.example/oauth/authorize`,
    tokenUrl: `https://${id}.example/oauth/token`,
    clientId: `${id}-client`,
    clientSecret: `${id}-file-secret`,
    scopes: ['read'],
    ...extra,
  };
}

/** Writes a stored profile record the way the admin API does: secret sealed for its record. */
async function putStored(
  id: string,
  kind: StoredProfile['kind'],
  document: Record<string, unknown>,
  clientSecret?: string,
): Promise<StoredProfile> {
  const existing = await store.profiles.get(id);
  const record = await store.profiles.put(
    {
      id,
      kind,
      document,
      clientSecret: clientSecret
        ? keyRing.encrypt(clientSecret, secretContext('profiles', id, 'clientSecret'))
        : null,
      createdAt: 1,
      updatedAt: 2,
      updatedBy: 'admin:test',
    },
    existing?.version ?? 0,
  );
  if (!record) throw new Error('put lost a race');
  return record;
}

/** The AuthProfilesError a call throws. */
function caughtSync(work: () => unknown): AuthProfilesError {
  try {
    work();
  } catch (error) {
    if (isAuthProfilesError(error)) return error;
    throw error;
  }
  throw new Error('expected an AuthProfilesError');
}

async function caught(work: () => Promise<unknown>): Promise<AuthProfilesError> {
  try {
    await work();
  } catch (error) {
    if (isAuthProfilesError(error)) return error;
    throw error;
  }
  throw new Error('expected an AuthProfilesError');
}

describe('profile files', () => {
  test('custom profiles load from a folder of JSON files, other files are ignored', async () => {
    writeProfile('b.json', custom('beta'));
    writeProfile('a.json', custom('alpha', { pkce: false }));
    writeProfile('notes.txt', 'not a profile');
    const profiles = catalog();
    expect(profiles.loadFiles()).toEqual(['a.json', 'b.json']);
    const alpha = await profiles.get('alpha');
    expect(alpha).toMatchObject({
      id: 'alpha',
      kind: 'custom',
      source: 'file',
      clientId: 'alpha-client',
      clientSecret: 'alpha-file-secret',
      refreshUrl: 'https://alpha.example/oauth/token',
      pkce: false,
      missing: [],
      storedVersion: 0,
    });
    const ids = (await profiles.list()).map((profile) => profile.id);
    expect(ids).toEqual(expect.arrayContaining(['alpha', 'beta', 'hubspot', 'zendesk']));
    expect(ids).toEqual([...ids].sort());
  });

  test('a missing folder loads nothing, and an unknown id is profile-not-found', async () => {
    const profiles = new ProfileCatalog({
      store,
      keyRing,
      env: {},
      validation: VALIDATION,
      profilesDir: join(dir, 'absent'),
    });
    expect(profiles.loadFiles()).toEqual([]);
    expect(await profiles.find('nope')).toBeNull();
    const error = await caught(() => profiles.get('nope'));
    expect(error.code).toBe('profile-not-found');
    expect(error.status).toBe(404);
  });

  test('a bad file fails loadFiles naming the file and the field', () => {
    writeProfile('good.json', custom('good'));
    const path = writeProfile('bad.json', custom('bad', { tokenUrl: 'http://bad.example/token' }));
    const error = caughtSync(() => catalog().loadFiles());
    expect(error.code).toBe('invalid-profile');
    expect(error.message).toContain(path);
    expect(error.message).toContain('tokenUrl');
    expect(error.issues.map((issue) => issue.path)).toEqual(['tokenUrl']);
  });

  test('an unknown field in a file is named with the file', () => {
    const path = writeProfile('extra.json', custom('extra', { clientSecrett: 'typo' }));
    const error = caughtSync(() => catalog().loadFiles());
    expect(error.message).toContain(path);
    expect(error.issues.map((issue) => issue.path)).toEqual(['clientSecrett']);
  });

  test('a non-JSON file names the file', () => {
    const path = writeProfile('broken.json', '{ "id": "broken", ');
    const error = caughtSync(() => catalog().loadFiles());
    expect(error.code).toBe('invalid-profile');
    expect(error.message).toContain(path);
    expect(error.issues).toEqual([{ path: '(file)', message: expect.stringContaining('not valid JSON') }]);
  });

  test('two files with the same id are refused', () => {
    writeProfile('one.json', custom('twin'));
    const path = writeProfile('two.json', custom('twin'));
    const error = caughtSync(() => catalog().loadFiles());
    expect(error.message).toContain(path);
    expect(error.issues.map((issue) => issue.path)).toEqual(['id']);
  });

  test('a file may not claim to be a system profile', () => {
    writeProfile('fake.json', custom('fake', { kind: 'system' }));
    const error = caughtSync(() => catalog().loadFiles());
    expect(error.issues.map((issue) => issue.path)).toEqual(['kind']);
  });
});

describe('overrides of system profiles', () => {
  test('a file with a system id overrides allowed fields only', async () => {
    writeProfile('hubspot.json', {
      id: 'hubspot',
      clientId: 'file-hub-id',
      scopes: ['oauth', 'crm.objects.deals.read'],
    });
    writeProfile('zendesk.json', { id: 'zendesk', variableValues: { subdomain: 'acme' } });
    const profiles = catalog();
    profiles.loadFiles();
    const hubspot = await profiles.get('hubspot');
    expect(hubspot).toMatchObject({
      kind: 'system',
      source: 'file',
      clientId: 'file-hub-id',
      clientSecret: 'env-hub-secret',
      scopes: ['oauth', 'crm.objects.deals.read'],
      tokenUrl: 'https://api.hubapi.com/oauth/v1/token',
      pkce: false,
    });
    const zendesk = await profiles.get('zendesk');
    expect(profileUrl(zendesk, 'tokenUrl')).toBe('https://acme.zendesk.com/oauth/tokens');
  });

  test('an override keeps every field it does not name, e.g. a pre-authorized bundle stays pre-authorized', async () => {
    const profiles = new ProfileCatalog({
      store,
      keyRing,
      env: {},
      validation: VALIDATION,
      profilesDir,
      extraSystemProfiles: [
        custom('orgwide', { authorization: 'pre-authorized', authorizationParams: { prompt: 'consent' } }),
      ],
    });
    writeProfile('orgwide.json', { id: 'orgwide', scopes: ['read', 'admin'] });
    profiles.loadFiles();
    expect(await profiles.get('orgwide')).toMatchObject({
      kind: 'system',
      source: 'file',
      scopes: ['read', 'admin'],
      authorization: 'pre-authorized',
      authorizationParams: { prompt: 'consent' },
    });
    await putStored('orgwide', 'override', { id: 'orgwide', displayName: 'Org-wide' });
    expect(await profiles.get('orgwide')).toMatchObject({
      source: 'store',
      displayName: 'Org-wide',
      scopes: ['read', 'admin'],
      authorization: 'pre-authorized',
    });
  });

  test('an override changing tokenUrl is rejected naming tokenUrl', () => {
    const path = writeProfile('hubspot.json', { id: 'hubspot', tokenUrl: 'https://evil.example/token' });
    const error = caughtSync(() => catalog().loadFiles());
    expect(error.code).toBe('invalid-profile');
    expect(error.message).toContain(path);
    expect(error.issues).toEqual([{ path: 'tokenUrl', message: 'is not a known field' }]);
  });

  test.each([
    [
      'a reserved authorization parameter',
      { authorizationParams: { redirect_uri: 'https://evil.example' } },
      'authorizationParams.redirect_uri',
    ],
    ['a non-https checkUrl', { checkUrl: 'http://evil.example/me' }, 'checkUrl'],
    ['a javascript: checkUrl', { checkUrl: 'javascript:alert(1)' }, 'checkUrl'],
    [
      'an unsafe variable value',
      { variableValues: { subdomain: 'evil.example/x' } },
      'variableValues.subdomain',
    ],
    ['an undeclared variable', { variableValues: { region: 'eu' } }, 'variableValues.region'],
  ])('a file override with %s is rejected like a profile would be', (_name, change, field) => {
    const path = writeProfile('zendesk.json', { id: 'zendesk', ...change });
    const error = caughtSync(() => catalog().loadFiles());
    expect(error.code).toBe('invalid-profile');
    expect(error.message).toContain(path);
    expect(error.issues.map((issue) => issue.path)).toEqual([field]);
  });

  test('a stored override with a reserved parameter or an unsafe URL is refused when read', async () => {
    await putStored('hubspot', 'override', { id: 'hubspot', authorizationParams: { state: 'fixed' } });
    const error = await caught(() => catalog().get('hubspot'));
    expect(error.code).toBe('invalid-profile');
    expect(error.message).toContain('stored override hubspot');
    expect(error.issues.map((issue) => issue.path)).toEqual(['authorizationParams.state']);

    await putStored('hubspot', 'override', { id: 'hubspot', checkUrl: 'http://evil.example/me' });
    expect((await caught(() => catalog().get('hubspot'))).issues.map((issue) => issue.path)).toEqual([
      'checkUrl',
    ]);
  });

  test('a stored custom record cannot replace a bundled profile and its URLs', async () => {
    await putStored(
      'hubspot',
      'custom',
      custom('hubspot', { tokenUrl: 'https://evil.example/token', clientSecret: undefined }),
    );
    const error = await caught(() => catalog().get('hubspot'));
    expect(error.code).toBe('invalid-profile');
    expect(error.issues.map((issue) => issue.path)).toEqual(['kind']);
  });
});

describe('stored profiles', () => {
  test('a stored custom profile with a sealed secret wins over the file of the same id', async () => {
    writeProfile('acme.json', custom('acme', { displayName: 'From file' }));
    const { clientSecret: _omit, ...document } = custom('acme', {
      displayName: 'From store',
      scopes: ['read', 'write'],
    });
    const stored = await putStored('acme', 'custom', document, 'stored-acme-secret');
    expect(stored.clientSecret).toMatch(/^v1\.test1\./);
    expect(JSON.stringify(stored)).not.toContain('stored-acme-secret');
    const profiles = catalog();
    profiles.loadFiles();
    const acme = await profiles.get('acme');
    expect(acme).toMatchObject({
      source: 'store',
      displayName: 'From store',
      scopes: ['read', 'write'],
      clientSecret: 'stored-acme-secret',
      storedVersion: 1,
    });
    expect((await profiles.list()).find((profile) => profile.id === 'acme')?.displayName).toBe('From store');
    // Removing the stored record falls back to the file.
    await store.profiles.delete('acme');
    expect(await profiles.get('acme')).toMatchObject({
      source: 'file',
      displayName: 'From file',
      clientSecret: 'acme-file-secret',
    });
  });

  test('a store-only custom profile is listed', async () => {
    const { clientSecret: _omit, ...document } = custom('only-stored');
    await putStored('only-stored', 'custom', document, 's3cret');
    const profiles = catalog();
    expect((await profiles.list()).map((profile) => profile.id)).toContain('only-stored');
    expect((await profiles.get('only-stored')).clientSecret).toBe('s3cret');
  });

  test('precedence is system → file → store, field by field for overrides', async () => {
    writeProfile('hubspot.json', {
      id: 'hubspot',
      clientId: 'file-hub-id',
      scopes: ['oauth'],
      authorizationParams: { from_file: '1' },
    });
    const profiles = catalog();
    profiles.loadFiles();
    const system = await catalog().get('hubspot');
    expect(system).toMatchObject({
      source: 'system',
      clientId: 'env-hub-id',
      clientSecret: 'env-hub-secret',
    });
    expect(await profiles.get('hubspot')).toMatchObject({
      source: 'file',
      clientId: 'file-hub-id',
      scopes: ['oauth'],
    });
    await putStored(
      'hubspot',
      'override',
      { id: 'hubspot', scopes: ['oauth', 'tickets'], authorizationParams: { from_store: '2' } },
      'store-hub-secret',
    );
    const layered = await profiles.get('hubspot');
    expect(layered).toMatchObject({
      source: 'store',
      // From the file, untouched by the store layer.
      clientId: 'file-hub-id',
      // From the store.
      scopes: ['oauth', 'tickets'],
      clientSecret: 'store-hub-secret',
      // Merged maps.
      authorizationParams: { from_file: '1', from_store: '2' },
      // From the bundle: not overridable.
      authorizationUrl: 'https://app.hubspot.com/oauth/authorize',
      storedVersion: 1,
    });
  });

  test('a stored secret sealed for another record does not open', async () => {
    const { clientSecret: _omit, ...document } = custom('victim');
    await store.profiles.put(
      {
        id: 'victim',
        kind: 'custom',
        document,
        clientSecret: keyRing.encrypt('other-secret', secretContext('profiles', 'other', 'clientSecret')),
        createdAt: 1,
        updatedAt: 1,
        updatedBy: 'admin:test',
      },
      0,
    );
    // It does not open, and the profile says so instead of failing every list it is in (SECURITY.md #52).
    const victim = await catalog().get('victim');
    expect(victim.clientSecret).toBeUndefined();
    expect(victim.unreadableSecret).toMatchObject({ code: 'decryption-failed' });
    expect(victim.missing.some((field) => field.startsWith('clientSecret (unreadable'))).toBe(true);
    expect(JSON.stringify(victim)).not.toContain('other-secret');
  });

  test('a plaintext client secret in a stored document is refused, never used', async () => {
    await putStored('leaky', 'custom', custom('leaky', { clientSecret: 'plain-in-db' }));
    const error = await caught(() => catalog().get('leaky'));
    expect(error.code).toBe('invalid-profile');
    expect(error.issues.map((issue) => issue.path)).toEqual(['clientSecret']);
    expect(error.message).not.toContain('plain-in-db');
  });

  test('a stored custom profile cannot read credentials from the environment', async () => {
    const { clientSecret: _omit, ...document } = custom('thief', {
      clientSecretEnv: 'HUBSPOT_CLIENT_SECRET',
      clientIdEnv: 'HUBSPOT_CLIENT_ID',
    });
    await putStored('thief', 'custom', document);
    const error = await caught(() => catalog().get('thief'));
    expect(error.code).toBe('invalid-profile');
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['clientIdEnv', 'clientSecretEnv']);
    expect(error.message).not.toContain('env-hub-secret');
  });

  test('a profile file may use the environment (operator-controlled)', async () => {
    writeProfile('ops.json', custom('ops', { clientSecret: undefined, clientSecretEnv: 'OPS_SECRET' }));
    const profiles = catalog({ OPS_SECRET: 'from-env' });
    profiles.loadFiles();
    expect((await profiles.get('ops')).clientSecret).toBe('from-env');
  });
});

describe('fingerprint (SECURITY.md #39)', () => {
  const doc = (extra: Record<string, unknown> = {}): ProfileDocument =>
    parseProfile(custom('fp', extra), VALIDATION);
  const original = fingerprintOf(doc());

  test.each([
    ['clientId', { clientId: 'other-client' }],
    ['scopes', { scopes: ['read', 'write'] }],
    ['optionalScopes', { optionalScopes: ['extra'] }],
    ['authorizationUrl', { authorizationUrl: 'https://fp.example/oauth/authorize2' }],
    ['tokenUrl', { tokenUrl: 'https://fp.example/oauth/token2' }],
    ['refreshUrl', { refreshUrl: 'https://fp.example/oauth/refresh' }],
    ['revocationUrl', { revocationUrl: 'https://fp.example/oauth/revoke' }],
    ['apiBaseUrl', { apiBaseUrl: 'https://api.fp.example' }],
    ['checkUrl', { checkUrl: 'https://api.fp.example/me' }],
    ['tokenEndpointAuthMethod', { tokenEndpointAuthMethod: 'client_secret_post' }],
  ])('changes when %s changes', (_field, change) => {
    expect(fingerprintOf(doc(change))).not.toBe(original);
  });

  test.each([
    ['displayName', { displayName: 'Renamed' }],
    ['clientSecret', { clientSecret: 'rotated-secret' }],
    ['scope order', { scopes: ['read'] }],
    ['defaultTokenTtlSeconds', { defaultTokenTtlSeconds: 7200 }],
  ])('does not change when %s changes', (_field, change) => {
    expect(fingerprintOf(doc(change))).toBe(original);
  });

  test('scope order does not matter', () => {
    expect(fingerprintOf(doc({ scopes: ['b', 'a'] }))).toBe(fingerprintOf(doc({ scopes: ['a', 'b'] })));
  });

  test('variable values are part of it', () => {
    const zendesk = (subdomain: string) =>
      fingerprintOf(
        doc({
          tokenUrl: 'https://{{sub}}.zendesk.com/oauth/tokens',
          variables: { sub: {} },
          variableValues: { sub: subdomain },
        }),
      );
    expect(zendesk('acme')).not.toBe(zendesk('other'));
  });

  test('the catalog recomputes it as overrides change the client, not the name', async () => {
    const profiles = catalog();
    const before = (await profiles.get('hubspot')).fingerprint;
    expect(before).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await putStored('hubspot', 'override', { id: 'hubspot', displayName: 'HubSpot (Acme)' });
    const renamed = await profiles.get('hubspot');
    expect(renamed.displayName).toBe('HubSpot (Acme)');
    expect(renamed.fingerprint).toBe(before);
    await putStored('hubspot', 'override', { id: 'hubspot', clientId: 'new-client' });
    expect((await profiles.get('hubspot')).fingerprint).not.toBe(before);
    // The client id resolved from the environment counts too.
    const otherApp = await catalog({ ...HUBSPOT_ENV, HUBSPOT_CLIENT_ID: 'another-app' }).get('github');
    expect(otherApp.fingerprint).toBe((await catalog().get('github')).fingerprint);
    await store.profiles.delete('hubspot');
    const hubA = await catalog().get('hubspot');
    const hubB = await catalog({ ...HUBSPOT_ENV, HUBSPOT_CLIENT_ID: 'another-app' }).get('hubspot');
    expect(hubA.fingerprint).toBe(before);
    expect(hubA.fingerprint).not.toBe(hubB.fingerprint);
  });
});

describe('reusing resolved profiles (issue 12)', () => {
  test('an unchanged record gives the same frozen profile; an edit or a delete by another instance is seen at once', async () => {
    const profiles = catalog();
    await putStored('acme', 'custom', custom('acme', { clientSecret: undefined }), 'sealed-one');
    const first = await profiles.get('acme');
    expect(await profiles.get('acme')).toBe(first);
    expect((await profiles.list()).find((profile) => profile.id === 'acme')).toBe(first);
    expect(first.clientSecret).toBe('sealed-one');
    // Shared by every caller, so no caller may change it for the next.
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => (first.scopes as string[]).push('admin')).toThrow(TypeError);
    expect(() => {
      (first as { tokenUrl: string }).tokenUrl = 'https://evil.example/token';
    }).toThrow(TypeError);
    expect((await profiles.get('acme')).scopes).toEqual(['read']);

    // Written straight to the store, as another instance of the service would.
    await putStored(
      'acme',
      'custom',
      custom('acme', { clientSecret: undefined, scopes: ['write'] }),
      'sealed-two',
    );
    const edited = await profiles.get('acme');
    expect(edited).not.toBe(first);
    expect(edited.scopes).toEqual(['write']);
    expect(edited.clientSecret).toBe('sealed-two');
    expect(edited.fingerprint).not.toBe(first.fingerprint);

    await store.profiles.delete('acme');
    expect(await profiles.find('acme')).toBeNull();
    expect((await profiles.list()).map((profile) => profile.id)).not.toContain('acme');
  });

  test('a system profile without a stored record is reused; loading the files again resolves afresh', async () => {
    const profiles = catalog();
    const hubspot = await profiles.get('hubspot');
    expect(await profiles.get('hubspot')).toBe(hubspot);
    writeProfile('hubspot.json', { id: 'hubspot', displayName: 'HubSpot (files)' });
    profiles.loadFiles();
    const reloaded = await profiles.get('hubspot');
    expect(reloaded).not.toBe(hubspot);
    expect(reloaded.displayName).toBe('HubSpot (files)');
  });
});

describe('assertUsable', () => {
  function expectUnusable(profile: Profile, ...missing: string[]): void {
    const error = caughtSync(() => assertUsable(profile));
    expect(error.code).toBe('invalid-configuration');
    expect(error.status).toBe(503);
    expect(error.message).toContain(`profile "${profile.id}"`);
    for (const entry of missing) expect(error.message).toContain(entry);
  }

  test('names the client id and secret a custom profile lacks', async () => {
    writeProfile('bare.json', custom('bare', { clientId: undefined, clientSecret: undefined }));
    const profiles = catalog();
    profiles.loadFiles();
    const bare = await profiles.get('bare');
    expect(bare.missing).toEqual(['clientId', 'clientSecret']);
    expectUnusable(bare, 'clientId', 'clientSecret');
  });

  test('names the environment variables of a system profile and the variables without value', async () => {
    const zendesk = await catalog({}).get('zendesk');
    expect(zendesk.missing).toEqual([
      'clientId (set ZENDESK_CLIENT_ID)',
      'clientSecret (set ZENDESK_CLIENT_SECRET)',
      'variableValues.subdomain',
    ]);
    expectUnusable(zendesk, 'ZENDESK_CLIENT_ID', 'ZENDESK_CLIENT_SECRET', 'variableValues.subdomain');
  });

  test('passes for a complete profile', async () => {
    const hubspot = await catalog().get('hubspot');
    expect(() => assertUsable(hubspot)).not.toThrow();
  });
});
