// Every profile file in examples/profiles (the README's walk-through uses them) is loaded the way the
// service loads PROFILES_DIR (profiles/profileCatalog.ts, dev-mode validation), so an example that
// the schema stops accepting fails here instead of in a reader's terminal.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySpec, KeyRing, parseEncryptionKeys } from '../../profiles/encryption';
import { ProfileCatalog } from '../../profiles/profileCatalog';
import { SqliteStore } from '../../profiles/store/sqliteStore';
import { findRepoRoot } from '../support/authServer';

const EXAMPLES = join(findRepoRoot(), 'examples', 'profiles');
const FILES = readdirSync(EXAMPLES)
  .filter((name) => name.endsWith('.json'))
  .sort();

let dir: string;
let store: SqliteStore;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'authprofiles-examples-'));
  store = new SqliteStore(join(dir, 'authprofiles.db'));
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function catalog(env: Record<string, string>): ProfileCatalog {
  return new ProfileCatalog({
    store,
    keyRing: new KeyRing(parseEncryptionKeys(generateKeySpec('examples1'))),
    env,
    validation: { allowInsecureLoopback: true },
    profilesDir: EXAMPLES,
  });
}

function idOf(file: string): string {
  return String((JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as { id?: unknown }).id);
}

test('examples/profiles holds profile files, and the service loads every one of them', () => {
  expect(FILES).toContain('mini-crm.json');
  expect(catalog({}).loadFiles()).toEqual(FILES);
});

test.each(FILES)(
  '%s: named by its id, usable with its settings, its actions declared and on',
  async (file) => {
    const profiles = catalog({ DEMO_CLIENT_SECRET: 'example-demo-secret-value' });
    profiles.loadFiles();
    const id = idOf(file);
    expect(file).toBe(`${id}.json`);
    const profile = await profiles.get(id);
    expect(profile.missing).toEqual([]);
    expect(profile.actions.length).toBeGreaterThan(0);
    for (const action of profile.actions) {
      expect(action.phrases.length).toBeGreaterThan(0);
      expect(action.access).toBe('read');
    }
  },
);

test('mini-crm.json without DEMO_CLIENT_SECRET is listed as not usable, naming the setting', async () => {
  const profiles = catalog({});
  profiles.loadFiles();
  const profile = await profiles.get('mini-crm');
  expect(profile.missing).toEqual(['clientSecret (set DEMO_CLIENT_SECRET)']);
  expect(profile.actions.map((action) => `${action.entity}.${action.action}`)).toEqual([
    'companies.in-city',
    'contacts.get',
    'team.list',
  ]);
});
