// Issue 12 (scale): connection ids are time-ordered (profiles/ids.ts), so on SQLite the admin list
// (ORDER BY id) is in creation order and its rows are neighbours in the table (rowid order), and a
// store holding the older random ids keeps paging through every connection exactly once.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newConnectionRecord, saveConnection } from '../../profiles/connections';
import { generateKeySpec } from '../../profiles/encryption';
import { silentLogger } from '../../profiles/engineContext';
import { newId, timeOfId } from '../../profiles/ids';
import type { Profile } from '../../profiles/profileCatalog';
import { subjectKey, type Subject } from '../../profiles/subjects';
import type { TokenSet } from '../../profiles/oauth/tokenResponse';
import { createHarness, type Harness } from '../support/engineHarness';

const PROFILE = {
  id: 'ordered',
  displayName: 'Ordered',
  authorizationUrl: 'http://127.0.0.1:9/authorize',
  tokenUrl: 'http://127.0.0.1:9/token',
  clientId: 'ordered',
  clientSecret: 'ordered-secret-value-123',
  scopes: ['crm.objects.deals.read'],
};
const OPTIONS = { createdBy: 'user:test', requireVerification: false };
/** As the admin connections page asks: one more than it shows, to know there is a next page. */
const PAGE_SIZE = 5;

const user = (name: string): Subject => ({ kind: 'user', channelId: 'msteams', userId: name });
const tokens = (seed: string, now: number): TokenSet => ({
  accessToken: `access-${seed}`,
  refreshToken: `refresh-${seed}`,
  tokenType: 'bearer',
  expiresAt: now + 3_600_000,
  expiresAtEstimated: false,
  scopes: ['crm.objects.deals.read'],
});

/** One key ring for both opens of a file, as a restarted service has. */
const KEYS = generateKeySpec('ids1');

let dir: string;
const harnesses: Harness[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'authprofiles-ids-'));
});

afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(): Promise<{ harness: Harness; profile: Profile }> {
  const harness = await createHarness({ profiles: [PROFILE], dir, encryptionKeys: KEYS });
  harness.context.log = silentLogger;
  harnesses.push(harness);
  return { harness, profile: await harness.engine.catalog.get('ordered') };
}

/** Every page of the profile's admin list, as the admin page walks it (`after` = last id shown). */
async function walkAdminList(harness: Harness): Promise<string[]> {
  const listed: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 100; pages += 1) {
    const page = await harness.engine.listConnections(
      { profileId: 'ordered' },
      after === undefined ? { limit: PAGE_SIZE + 1 } : { limit: PAGE_SIZE + 1, after },
    );
    const shown = page.slice(0, PAGE_SIZE);
    listed.push(...shown.map((connection) => connection.id));
    if (page.length <= PAGE_SIZE) return listed;
    after = shown[shown.length - 1]?.id;
  }
  throw new Error('the admin list did not end');
}

function idsInStorageOrder(harness: Harness): { byRowid: string[]; byId: string[] } {
  const db = new Database(join(harness.dir, 'authprofiles.db'), { readonly: true });
  try {
    const column = (sql: string) => (db.prepare(sql).all() as { id: string }[]).map((row) => row.id);
    return {
      byRowid: column('SELECT id FROM connections ORDER BY rowid'),
      byId: column('SELECT id FROM connections ORDER BY id'),
    };
  } finally {
    db.close();
  }
}

test('connections saved later get ids that sort later: the admin list is in creation order, its rows stored side by side', async () => {
  const { harness, profile } = await open();
  const created: { id: string; at: number }[] = [];
  for (let i = 0; i < 24; i += 1) {
    // Subject names in another order than creation (u00, u07, u14, u21, u04 …).
    const name = `u${String((i * 7) % 24).padStart(2, '0')}`;
    // Mostly one right after another (often in the same millisecond), now and then a second later.
    if (i % 4 === 0) harness.clock.advance(1_000);
    const { connection } = await saveConnection(
      harness.context,
      profile,
      subjectKey(user(name)),
      tokens(name, harness.clock()),
      OPTIONS,
    );
    created.push({ id: connection.id, at: connection.createdAt });
  }
  for (const { id, at } of created) {
    expect(id).toMatch(/^con_[0-9a-f]{16}[A-Za-z0-9_-]{24}$/);
    expect(timeOfId(id)).toBe(at);
  }
  const listed = await walkAdminList(harness);
  expect(listed).toEqual(created.map(({ id }) => id));
  const summaries = await harness.engine.listConnections({ profileId: 'ordered' }, { limit: 100 });
  expect(summaries.map((summary) => summary.createdAt)).toEqual(created.map(({ at }) => at));
  // What makes a page cheap at scale: rows in id order are rows in insertion (rowid) order.
  const { byRowid, byId } = idsInStorageOrder(harness);
  expect(byId).toEqual(byRowid);
});

test('a store written before ids were time-ordered: the admin list pages through old and new connections, each once', async () => {
  // The old store: connections with random ids (`newId('con')`, as every version before issue 12
  // made them), written through the same adapter statement, in a file the next version opens.
  const before = await open();
  const oldIds: string[] = [];
  for (let i = 0; i < 17; i += 1) {
    const key = subjectKey(user(`old${i}`));
    const { record } = newConnectionRecord(
      before.harness.context,
      before.profile,
      key,
      tokens(`old${i}`, before.harness.clock()),
      OPTIONS,
    );
    oldIds.push((await before.harness.store.connections.upsert({ ...record, id: newId('con') })).id);
  }
  await before.harness.close();
  harnesses.splice(0);

  const { harness, profile } = await open();
  const newIds: string[] = [];
  for (let i = 0; i < 17; i += 1) {
    harness.clock.advance(2);
    const key = subjectKey(user(`new${i}`));
    newIds.push(
      (await saveConnection(harness.context, profile, key, tokens(`new${i}`, harness.clock()), OPTIONS))
        .connection.id,
    );
  }
  const listed = await walkAdminList(harness);
  expect(listed).toHaveLength(34);
  expect(new Set(listed)).toEqual(new Set([...oldIds, ...newIds]));
  expect(listed).toEqual([...listed].sort());
  expect(listed.filter((id) => newIds.includes(id))).toEqual(newIds);
  // Old ids stay valid everywhere: read by id, and the connection's token is served.
  const oldOne = await harness.engine.connectionById(oldIds[5] as string);
  expect(oldOne?.subjectKey).toBe(subjectKey(user('old5')));
  const token = await harness.engine.getToken(profile, user('old5'));
  expect(token.ok && token.accessToken).toBe('access-old5');
});
