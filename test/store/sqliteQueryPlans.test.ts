// Issue 12 (scale): every statement getToken and the connection lists and counts run on SQLite is
// served by an index, checked with EXPLAIN QUERY PLAN on a real store file. The statements are the
// adapter's own, recorded while the engine runs them. The adapter never runs ANALYZE, so SQLite
// plans from the schema alone: the plan on this small file is the plan at 1,000,000 connections
// (`npm run bench` checks it again on its 1M file).
import { join } from 'node:path';
import { saveConnection } from '../../profiles/connections';
import { silentLogger } from '../../profiles/engineContext';
import type { Profile } from '../../profiles/profileCatalog';
import type { ConnectionFilter } from '../../profiles/store/types';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { createHarness, type Harness } from '../support/engineHarness';
import { fullScans, queryPlan, recordStatements, type StatementRecorder } from '../support/sqlitePlans';

const OFFLINE_PROFILE = {
  id: 'plans',
  displayName: 'Plans',
  authorizationUrl: 'http://127.0.0.1:9/authorize',
  tokenUrl: 'http://127.0.0.1:9/token',
  clientId: 'plans',
  clientSecret: 'plans-secret-value-123',
  scopes: ['crm.objects.deals.read'],
};

const user = (i: number): Subject => ({ kind: 'user', channelId: 'msteams', userId: `u${i}` });

let recorder: StatementRecorder;
let harness: Harness;
let profile: Profile;
let file: string;

beforeAll(async () => {
  recorder = recordStatements();
  harness = await createHarness({ profiles: [OFFLINE_PROFILE] });
  harness.context.log = silentLogger;
  file = join(harness.dir, 'authprofiles.db');
  profile = await harness.engine.catalog.get('plans');
  const now = harness.clock();
  for (let i = 0; i < 30; i += 1) {
    await saveConnection(
      harness.context,
      profile,
      subjectKey(user(i)),
      {
        accessToken: `access-${i}`,
        refreshToken: `refresh-${i}`,
        tokenType: 'bearer',
        expiresAt: now + 3_600_000,
        expiresAtEstimated: false,
        scopes: ['crm.objects.deals.read'],
      },
      { createdBy: 'user:plans', requireVerification: false },
    );
  }
  recorder.take();
});

afterAll(async () => {
  recorder.stop();
  await harness.close();
});

/** The plans of the statements on `connections` that `work` ran. */
async function plansOf(work: () => Promise<unknown>): Promise<{ sql: string; plan: string[] }[]> {
  recorder.take();
  await work();
  const statements = recorder.take().filter((statement) => /\bconnections\b/.test(statement.sql));
  expect(statements.length).toBeGreaterThan(0);
  return statements.map((statement) => ({ sql: statement.sql, plan: queryPlan(file, statement) }));
}

async function expectIndexed(work: () => Promise<unknown>, uses: RegExp): Promise<void> {
  const plans = await plansOf(work);
  for (const { sql, plan } of plans) {
    expect({ sql, scans: fullScans(plan) }).toEqual({ sql, scans: [] });
  }
  expect(plans.flatMap(({ plan }) => plan).join('\n')).toMatch(uses);
}

const UNIQUE_KEY = 'sqlite_autoindex_connections_2';

describe('SQLite query plans for getToken and the connection lists (no full scan of connections)', () => {
  test('getToken on a valid token: one search on the unique (profile_id, subject_key) index', async () => {
    await expectIndexed(
      async () => {
        const result = await harness.engine.getToken(profile, user(7));
        expect(result.ok).toBe(true);
      },
      new RegExp(`SEARCH connections USING INDEX ${UNIQUE_KEY} \\(profile_id=\\? AND subject_key=\\?\\)`),
    );
  });

  test('a connection by id (admin connection page, refresh): the primary key', async () => {
    const [first] = await harness.engine.listConnections({}, { limit: 1 });
    await expectIndexed(
      () => harness.engine.connectionById(first?.id ?? ''),
      /SEARCH connections USING INDEX sqlite_autoindex_connections_1 \(id=\?\)/,
    );
  });

  test('admin connection list, next page: a range of the primary key', async () => {
    const [first] = await harness.engine.listConnections({}, { limit: 1 });
    await expectIndexed(
      () => harness.engine.listConnections({}, { limit: 51, after: first?.id ?? '' }),
      /SEARCH connections USING INDEX sqlite_autoindex_connections_1 \(id>\?\)/,
    );
  });

  const byProfile: [string, ConnectionFilter][] = [
    ['one profile', { profileId: 'plans' }],
    ['one profile and status', { profileId: 'plans', status: 'active' }],
    ['one profile, user connections (developer role)', { profileId: 'plans', subjectKind: 'user' }],
  ];
  test.each(byProfile)('admin connection list of %s: the (profile_id, id) index', async (_name, filter) => {
    const [first] = await harness.engine.listConnections(filter, { limit: 1 });
    await expectIndexed(
      () => harness.engine.listConnections(filter, { limit: 51, after: first?.id ?? '' }),
      /SEARCH connections USING INDEX connections_profile \(profile_id=\? AND id>\?\)/,
    );
  });

  test("a user's connections across profiles (chat, token service GetTokenStatus/SignOut): one unique-key search per profile", async () => {
    await expectIndexed(
      async () => {
        const own = await harness.engine.listConnections({ subjectKey: subjectKey(user(3)) }, { limit: 500 });
        expect(own.map((connection) => connection.subjectKey)).toEqual([subjectKey(user(3))]);
        const mine = await harness.engine.connectionsOf(user(4));
        expect(mine.map((connection) => connection.subjectKey)).toEqual([subjectKey(user(4))]);
      },
      new RegExp(
        `SEARCH connections USING INDEX ${UNIQUE_KEY} \\(profile_id=\\? AND subject_key>\\? AND subject_key<\\?\\)`,
      ),
    );
  });

  test("a subject's named connections of one profile (default connection): a unique-key range", async () => {
    await expectIndexed(
      () =>
        harness.store.connections.list({ profileId: 'plans', subject: subjectKey(user(5)) }, { limit: 200 }),
      new RegExp(
        `SEARCH connections USING INDEX ${UNIQUE_KEY} \\(profile_id=\\? AND subject_key>\\? AND subject_key<\\?\\)`,
      ),
    );
  });

  test('profile page counts by status (users) and the delete page counts: covering index searches', async () => {
    await expectIndexed(async () => {
      expect(
        await harness.engine.countConnections({ profileId: 'plans', subjectKind: 'user', status: 'active' }),
      ).toBe(30);
      expect(await harness.engine.countConnections({ profileId: 'plans', status: 'revoked' })).toBe(0);
      expect(await harness.engine.countConnections({ profileId: 'plans' })).toBe(30);
      expect(await harness.engine.countConnections({ profileId: 'plans', subjectKind: 'org' })).toBe(0);
    }, /SEARCH connections USING COVERING INDEX connections_profile_status \(profile_id=\? AND status=\?\)/);
  });
});
