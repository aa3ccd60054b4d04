// The Store contract, run against every adapter: what profiles/store/types.ts promises, as values.
// Adapters must return records that are equal (toStrictEqual) to what was written, so a flow can
// move between a SQLite and a MongoDB deployment without any caller noticing.
import { isAuthProfilesError } from '../../profiles/errors';
import { newId, timeOfId } from '../../profiles/ids';
import type {
  AuditEntry,
  Store,
  StoredAdminKey,
  StoredAuthorizationRequest,
  StoredConnection,
  StoredProfile,
} from '../../profiles/store/types';

export interface OpenedStore {
  store: Store;
  /** True when the server enforces everything a production deployment relies on (SQLite, MongoDB). */
  realServer: boolean;
  cleanup(): Promise<void>;
}

export interface StoreContractOptions {
  /**
   * What `open()` will report as `realServer`. Needed up front: Jest registers (and skips) tests
   * before any `beforeAll` has started a server.
   */
  realServer: boolean;
}

const T0 = 1_760_000_000_000;
const HOUR = 3_600_000;

type NewConnection = Omit<StoredConnection, 'id' | 'version'>;

function newConnection(overrides: Partial<NewConnection> = {}): NewConnection {
  return {
    profileId: 'hubspot',
    subjectKey: 'user:msteams:u1',
    status: 'active',
    accessToken: 'v1.k1.aXY.YWNjZXNz.dGFn',
    refreshToken: 'v1.k1.aXY.cmVmcmVzaA.dGFn',
    tokenType: 'bearer',
    scopes: ['crm.objects.contacts.read', 'oauth'],
    expiresAt: T0 + HOUR,
    expiresAtEstimated: false,
    profileFingerprint: 'fp-1',
    verification: null,
    lastError: null,
    createdAt: T0,
    updatedAt: T0,
    refreshedAt: null,
    createdBy: 'user:msteams:u1',
    ...overrides,
  };
}

function newRequest(overrides: Partial<StoredAuthorizationRequest> = {}): StoredAuthorizationRequest {
  return {
    id: 'ar_request1',
    profileId: 'hubspot',
    subjectKey: 'user:msteams:u1',
    status: 'created',
    stateHash: null,
    bindingHash: null,
    codeVerifier: null,
    redirectUri: 'https://bot.example.com/oauth/callback',
    expectedIssuer: 'https://auth.example.com',
    scopes: ['crm.objects.contacts.read'],
    requireVerification: false,
    // Keys a document database could choke on ($-prefixed, dotted) must survive as they are.
    context: {
      conversation: { id: 'conv-1', serviceUrl: 'https://smba.example.com/' },
      $kind: 'reference',
      'dotted.key': [1, 'two', null, { three: true }],
    },
    createdBy: 'user:msteams:u1',
    createdAt: T0,
    expiresAt: T0 + 10 * 60_000,
    startedAt: null,
    consumedAt: null,
    outcome: null,
    ...overrides,
  };
}

function newProfile(overrides: Partial<Omit<StoredProfile, 'version'>> = {}): Omit<StoredProfile, 'version'> {
  return {
    id: 'crm',
    kind: 'custom',
    document: {
      $schema: 'https://example.com/profile.schema.json',
      displayName: 'CRM',
      scopes: ['a', 'b'],
      urls: { 'authorize.url': 'https://crm.example.com/oauth/authorize' },
    },
    clientSecret: 'v1.k1.aXY.c2VjcmV0.dGFn',
    createdAt: T0,
    updatedAt: T0,
    updatedBy: 'admin:ops',
    ...overrides,
  };
}

function newAuditEntry(n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: `aud_${String(n).padStart(3, '0')}`,
    at: T0 + n,
    actor: 'admin:ops',
    action: 'profile.update',
    target: n % 2 === 0 ? 'profile:hubspot' : 'profile:crm',
    details: { n, changed: 'scopes', ok: true, previous: null },
    ...overrides,
  };
}

function newAdminKey(overrides: Partial<StoredAdminKey> = {}): StoredAdminKey {
  return {
    id: 'key_ops',
    name: 'ops',
    role: 'admin',
    keyHash: 'hash-ops',
    createdAt: T0,
    revokedAt: null,
    ...overrides,
  };
}

async function expectRejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ rejected: error }),
  );
  expect(outcome).toHaveProperty('rejected');
  const error = (outcome as { rejected: unknown }).rejected;
  expect(isAuthProfilesError(error) ? error.code : error).toBe(code);
}

export function describeStoreContract(
  name: string,
  open: () => Promise<OpenedStore>,
  options: StoreContractOptions = { realServer: true },
): void {
  describe(`${name} — Store contract`, () => {
    let opened: OpenedStore | undefined;
    let store: Store;

    beforeEach(async () => {
      opened = await open();
      if (opened.realServer !== options.realServer) {
        throw new Error(
          `open() reports realServer=${opened.realServer}, the suite was registered for ${options.realServer}`,
        );
      }
      store = opened.store;
    });

    afterEach(async () => {
      if (!opened) return;
      await opened.store.close();
      await opened.cleanup();
      opened = undefined;
    });

    /** Cases only a real server honours (SQLite and MongoDB do; CongoDB does not). */
    const realServerTest = (title: string, reason: string, fn: () => Promise<void>): void => {
      if (options.realServer) {
        test(title, fn);
        return;
      }
      console.log(`skipped: "${title}" needs a real MongoDB server (${reason}); set MONGODB_URI`);
      test.skip(`${title} (needs a real MongoDB server: ${reason}; set MONGODB_URI)`, fn);
    };
    const UNIQUE_INDEXES = 'CongoDB does not enforce unique secondary indexes';

    describe('connections', () => {
      test('get and getById return null for unknown connections', async () => {
        expect(await store.connections.get('hubspot', 'org')).toBeNull();
        expect(await store.connections.getById('con_missing')).toBeNull();
      });

      test('upsert creates a record with a new id and version 1, readable by key and by id', async () => {
        const input = newConnection({ verification: { codeHash: 'h', expiresAt: T0 + 60_000, attempts: 0 } });
        const created = await store.connections.upsert(input);
        // Time-ordered since issue 12 (scale): createdAt as 12 hex digits, a count, then 144 random bits.
        expect(created.id).toMatch(/^con_[0-9a-f]{16}[A-Za-z0-9_-]{24}$/);
        expect(timeOfId(created.id)).toBe(T0);
        expect(created).toStrictEqual({ ...input, id: created.id, version: 1 });
        expect(await store.connections.get('hubspot', 'user:msteams:u1')).toStrictEqual(created);
        expect(await store.connections.getById(created.id)).toStrictEqual(created);
      });

      test('a new record whose createdAt is no time an id can hold is refused, naming it, and nothing is written', async () => {
        for (const createdAt of [-1, Number.NaN, 16 ** 12]) {
          await expect(store.connections.upsert(newConnection({ createdAt }))).rejects.toThrow(
            `an id's time must be epoch milliseconds from 0 to 281474976710655, got ${createdAt}`,
          );
        }
        expect(await store.connections.count({})).toBe(0);
      });

      test('upsert uses the id it is given for a new record', async () => {
        const created = await store.connections.upsert({ ...newConnection(), id: 'con_given' });
        expect(created.id).toBe('con_given');
        expect((await store.connections.getById('con_given'))?.subjectKey).toBe('user:msteams:u1');
      });

      test('upsert replaces the record of the same profile and subject, keeping its id and bumping its version', async () => {
        const first = await store.connections.upsert(newConnection());
        const replacement = newConnection({
          accessToken: 'v1.k1.aXY.bmV3.dGFn',
          refreshToken: null,
          status: 'pending-verification',
          scopes: ['oauth'],
          updatedAt: T0 + 5,
        });
        const second = await store.connections.upsert({ ...replacement, id: 'con_ignored' });
        expect(second).toStrictEqual({ ...replacement, id: first.id, version: 2 });
        expect(await store.connections.getById(first.id)).toStrictEqual(second);
        expect(await store.connections.getById('con_ignored')).toBeNull();
        expect(await store.connections.count({})).toBe(1);
      });

      test('account and apiBaseUrl are kept, and a replacement that sets them to null clears them', async () => {
        const account = { sub: 'user-42', email: 'ada@example.com', name: 'Ada Lovelace' };
        const created = await store.connections.upsert(
          newConnection({ account, apiBaseUrl: 'https://acme.my.salesforce.com' }),
        );
        expect(await store.connections.getById(created.id)).toStrictEqual(created);
        expect(created.account).toStrictEqual(account);
        expect(created.apiBaseUrl).toBe('https://acme.my.salesforce.com');
        // A new sign-in for the same subject: who signed in and the instance are the new ones, never
        // the previous account's (a document store's $set would otherwise keep old fields).
        const replaced = await store.connections.upsert(newConnection({ account: null, apiBaseUrl: null }));
        expect(replaced.account).toBeNull();
        expect(replaced.apiBaseUrl).toBeNull();
        expect(await store.connections.getById(created.id)).toStrictEqual(replaced);
        const moved = await store.connections.update(created.id, replaced.version, {
          apiBaseUrl: 'https://other.my.salesforce.com',
        });
        expect(moved?.apiBaseUrl).toBe('https://other.my.salesforce.com');
        expect((await store.connections.get('hubspot', 'user:msteams:u1'))?.apiBaseUrl).toBe(
          'https://other.my.salesforce.com',
        );
      });

      test("a replacement keeps the subject's choice of default (preferred) and writes requestedScopes as given", async () => {
        const created = await store.connections.upsert(newConnection({ requestedScopes: ['a', 'b'] }));
        const chosen = await store.connections.update(created.id, created.version, { preferred: true });
        expect(chosen?.preferred).toBe(true);
        // A new sign-in of the default connection (a renewal, more scopes on demand) leaves it the default.
        const replaced = await store.connections.upsert(
          newConnection({ scopes: ['a'], requestedScopes: null }),
        );
        expect(replaced.preferred).toBe(true);
        expect(replaced.requestedScopes).toBeNull();
        expect(await store.connections.getById(created.id)).toStrictEqual(replaced);
        const unchosen = await store.connections.upsert(newConnection({ preferred: false }));
        expect(unchosen.preferred).toBe(false);
      });

      test('upsert keeps connections of other subjects and profiles apart', async () => {
        const user = await store.connections.upsert(newConnection());
        const org = await store.connections.upsert(
          newConnection({ subjectKey: 'org', createdBy: 'admin:ops' }),
        );
        const other = await store.connections.upsert(newConnection({ profileId: 'crm' }));
        expect(new Set([user.id, org.id, other.id]).size).toBe(3);
        expect((await store.connections.get('hubspot', 'org'))?.id).toBe(org.id);
        expect((await store.connections.get('crm', 'user:msteams:u1'))?.id).toBe(other.id);
        expect(await store.connections.get('crm', 'org')).toBeNull();
        expect(await store.connections.count({})).toBe(3);
      });

      realServerTest('upsert refuses an id that another connection already has', UNIQUE_INDEXES, async () => {
        await store.connections.upsert({ ...newConnection(), id: 'con_taken' });
        await expectRejectsWithCode(
          store.connections.upsert({ ...newConnection({ subjectKey: 'org' }), id: 'con_taken' }),
          'conflict',
        );
        expect(await store.connections.get('hubspot', 'org')).toBeNull();
      });

      test('update with the current version applies the patch and bumps the version', async () => {
        const created = await store.connections.upsert(newConnection());
        const patch = {
          status: 'needs-reauthorization' as const,
          lastError: 'invalid-grant',
          verification: { codeHash: 'code-hash', expiresAt: T0 + 300_000, attempts: 2 },
          updatedAt: T0 + 10,
        };
        const updated = await store.connections.update(created.id, 1, patch);
        expect(updated).toStrictEqual({ ...created, ...patch, version: 2 });
        expect(await store.connections.getById(created.id)).toStrictEqual(updated);
        expect(await store.connections.get('hubspot', 'user:msteams:u1')).toStrictEqual(updated);
      });

      test('update with a stale version returns null and changes nothing', async () => {
        const created = await store.connections.upsert(newConnection());
        const moved = await store.connections.update(created.id, 1, { refreshedAt: T0 + 1 });
        expect(moved?.version).toBe(2);
        expect(await store.connections.update(created.id, 1, { status: 'revoked' })).toBeNull();
        expect(await store.connections.getById(created.id)).toStrictEqual(moved);
        expect(await store.connections.update('con_missing', 1, { status: 'revoked' })).toBeNull();
      });

      test('update refuses to move a connection to another profile or subject', async () => {
        const created = await store.connections.upsert(newConnection());
        await expectRejectsWithCode(
          store.connections.update(created.id, 1, { subjectKey: 'org' }),
          'conflict',
        );
        await expectRejectsWithCode(
          store.connections.update(created.id, 1, { profileId: 'crm' }),
          'conflict',
        );
        expect(await store.connections.get('hubspot', 'org')).toBeNull();
        expect(await store.connections.getById(created.id)).toStrictEqual(created);
        // Naming the current key is not a move.
        const same = await store.connections.update(created.id, 1, { profileId: 'hubspot', lastError: 'x' });
        expect(same).toStrictEqual({ ...created, lastError: 'x', version: 2 });
      });

      test('updateMany by profile sets the fields on every connection of that profile only', async () => {
        const a = await store.connections.upsert(newConnection());
        const b = await store.connections.upsert(newConnection({ subjectKey: 'org' }));
        const c = await store.connections.upsert(newConnection({ profileId: 'crm' }));
        const count = await store.connections.updateMany(
          { profileId: 'hubspot' },
          { status: 'needs-reauthorization', lastError: 'profile-changed', updatedAt: T0 + 7 },
        );
        expect(count).toBe(2);
        for (const before of [a, b]) {
          expect(await store.connections.getById(before.id)).toStrictEqual({
            ...before,
            status: 'needs-reauthorization',
            lastError: 'profile-changed',
            updatedAt: T0 + 7,
            version: 2,
          });
        }
        expect(await store.connections.getById(c.id)).toStrictEqual(c);
      });

      test('updateMany by status touches only connections in that status', async () => {
        const active = await store.connections.upsert(newConnection());
        const pending = await store.connections.upsert(
          newConnection({ subjectKey: 'user:msteams:u2', status: 'pending-verification' }),
        );
        expect(
          await store.connections.updateMany({ status: 'pending-verification' }, { status: 'revoked' }),
        ).toBe(1);
        expect((await store.connections.getById(pending.id))?.status).toBe('revoked');
        expect((await store.connections.getById(pending.id))?.version).toBe(2);
        expect(await store.connections.getById(active.id)).toStrictEqual(active);
        expect(await store.connections.updateMany({ profileId: 'nobody' }, { status: 'revoked' })).toBe(0);
      });

      test('delete removes the connection once', async () => {
        const created = await store.connections.upsert(newConnection());
        expect(await store.connections.delete(created.id)).toBe(true);
        expect(await store.connections.delete(created.id)).toBe(false);
        expect(await store.connections.getById(created.id)).toBeNull();
        expect(await store.connections.get('hubspot', 'user:msteams:u1')).toBeNull();
      });

      describe('list and count', () => {
        const seed = async (): Promise<void> => {
          await store.connections.upsert({ ...newConnection({ subjectKey: 'org' }), id: 'con_a' });
          await store.connections.upsert({
            ...newConnection({ subjectKey: 'user:msteams:u1', status: 'revoked' }),
            id: 'con_b',
          });
          await store.connections.upsert({
            ...newConnection({ subjectKey: 'user:webchat:u2' }),
            id: 'con_c',
          });
          await store.connections.upsert({
            ...newConnection({ profileId: 'crm', subjectKey: 'org' }),
            id: 'con_d',
          });
          await store.connections.upsert({
            ...newConnection({ profileId: 'crm', subjectKey: 'user:msteams:u1' }),
            id: 'con_e',
          });
        };
        const ids = (records: StoredConnection[]): string[] => records.map((record) => record.id);

        it("lists a subject's default and named connections (issue 10 point 3), `%` in a key taken literally", async () => {
          const keys = [
            'user:msteams:a%20b',
            'user:msteams:a%20b#work',
            'user:msteams:aX20b#work',
            'user:msteams:a%20bc',
            'org#ops',
          ];
          for (const [i, subjectKey] of keys.entries()) {
            await store.connections.upsert({ ...newConnection({ subjectKey }), id: `con_n${i}` });
          }
          const subject = await store.connections.list({ subject: 'user:msteams:a%20b' }, { limit: 10 });
          expect(ids(subject)).toEqual(['con_n0', 'con_n1']);
          expect(ids(await store.connections.list({ subjectKind: 'org' }, { limit: 10 }))).toEqual([
            'con_n4',
          ]);
          expect(await store.connections.count({ subject: 'user:msteams:a%20b', profileId: 'hubspot' })).toBe(
            2,
          );
        });

        test('filters by subject kind, status, profile and subject, ordered by id', async () => {
          await seed();
          expect(ids(await store.connections.list({}, { limit: 10 }))).toEqual([
            'con_a',
            'con_b',
            'con_c',
            'con_d',
            'con_e',
          ]);
          expect(ids(await store.connections.list({ subjectKind: 'org' }, { limit: 10 }))).toEqual([
            'con_a',
            'con_d',
          ]);
          expect(ids(await store.connections.list({ subjectKind: 'user' }, { limit: 10 }))).toEqual([
            'con_b',
            'con_c',
            'con_e',
          ]);
          expect(ids(await store.connections.list({ status: 'revoked' }, { limit: 10 }))).toEqual(['con_b']);
          expect(
            ids(await store.connections.list({ profileId: 'crm', subjectKind: 'user' }, { limit: 10 })),
          ).toEqual(['con_e']);
          expect(ids(await store.connections.list({ subjectKey: 'user:msteams:u1' }, { limit: 10 }))).toEqual(
            ['con_b', 'con_e'],
          );
          expect(
            await store.connections.list({ subjectKey: 'org', subjectKind: 'user' }, { limit: 10 }),
          ).toEqual([]);
          const [first] = await store.connections.list(
            { profileId: 'crm', subjectKind: 'org' },
            { limit: 10 },
          );
          expect(first).toStrictEqual(await store.connections.getById('con_d'));
        });

        test('pages with limit and after', async () => {
          await seed();
          expect(ids(await store.connections.list({}, { limit: 2 }))).toEqual(['con_a', 'con_b']);
          expect(ids(await store.connections.list({}, { limit: 2, after: 'con_b' }))).toEqual([
            'con_c',
            'con_d',
          ]);
          expect(ids(await store.connections.list({}, { limit: 2, after: 'con_d' }))).toEqual(['con_e']);
          expect(await store.connections.list({}, { limit: 2, after: 'con_e' })).toEqual([]);
          expect(
            ids(await store.connections.list({ subjectKind: 'user' }, { limit: 1, after: 'con_b' })),
          ).toEqual(['con_c']);
        });

        test('new ids sort by createdAt, so the list (ordered by id) is in creation order (issue 12)', async () => {
          // Subject keys in another order than creation (u0, u7, u2 …), three in each millisecond.
          const created: string[] = [];
          for (let i = 0; i < 12; i += 1) {
            const subjectKey = `user:msteams:u${(i * 7) % 12}`;
            const record = await store.connections.upsert(
              newConnection({ subjectKey, createdAt: T0 + Math.floor(i / 3) }),
            );
            created.push(record.id);
          }
          expect(ids(await store.connections.list({}, { limit: 20 }))).toEqual(created);
          expect(
            ids(await store.connections.list({ profileId: 'hubspot' }, { limit: 5, after: created[3] })),
          ).toEqual(created.slice(4, 9));
        });

        realServerTest(
          'a store holding older random ids pages through old and new ids, each exactly once (issue 12)',
          'CongoDB sorts strings with localeCompare (ignoring case) but compares $gt by code unit; MongoDB and SQLite do both by code unit',
          async () => {
            // Stores written before ids were time-ordered hold `newId('con')` ids; they stay valid and
            // sort among the new ones by their text.
            const old: string[] = [];
            const fresh: string[] = [];
            for (let i = 0; i < 15; i += 1) {
              const written = await store.connections.upsert({
                ...newConnection({ subjectKey: `user:msteams:old${i}`, createdAt: T0 - HOUR + i }),
                id: newId('con'),
              });
              old.push(written.id);
              fresh.push(
                (
                  await store.connections.upsert(
                    newConnection({ subjectKey: `user:msteams:new${i}`, createdAt: T0 + i }),
                  )
                ).id,
              );
            }
            for (const limit of [1, 4, 7]) {
              const listed: string[] = [];
              let after: string | undefined;
              for (let pages = 0; pages < 40; pages += 1) {
                const page = await store.connections.list(
                  { profileId: 'hubspot' },
                  after === undefined ? { limit } : { limit, after },
                );
                listed.push(...ids(page));
                if (page.length < limit) break;
                after = page[page.length - 1]?.id;
              }
              expect(listed).toHaveLength(30);
              expect(new Set(listed)).toEqual(new Set([...old, ...fresh]));
              expect(listed).toEqual([...listed].sort());
              expect(listed.filter((id) => fresh.includes(id))).toEqual(fresh);
            }
            expect((await store.connections.getById(old[0] as string))?.subjectKey).toBe('user:msteams:old0');
          },
        );

        test('counts with the same filters', async () => {
          await seed();
          expect(await store.connections.count({})).toBe(5);
          expect(await store.connections.count({ subjectKind: 'org' })).toBe(2);
          expect(await store.connections.count({ subjectKind: 'user' })).toBe(3);
          expect(await store.connections.count({ profileId: 'hubspot', status: 'active' })).toBe(2);
          expect(await store.connections.count({ profileId: 'nobody' })).toBe(0);
        });
      });
    });

    describe('authorization requests', () => {
      const start = (
        overrides: Partial<{
          stateHash: string;
          bindingHash: string;
          codeVerifier: string | null;
          nonceHash: string | null;
        }> = {},
      ) => ({
        stateHash: 'state-hash-1',
        bindingHash: 'binding-1',
        codeVerifier: 'v1.k1.aXY.dmVyaWZpZXI.dGFn',
        nonceHash: 'nonce-hash-1',
        startedAt: T0 + 1_000,
        ...overrides,
      });

      test('create stores the request as given; get and findByStateHash read it back', async () => {
        const request = newRequest({ stateHash: 'preset-state', requireVerification: true });
        await store.authorizationRequests.create(request);
        expect(await store.authorizationRequests.get(request.id)).toStrictEqual(request);
        expect(await store.authorizationRequests.findByStateHash('preset-state')).toStrictEqual(request);
        expect(await store.authorizationRequests.get('ar_missing')).toBeNull();
        expect(await store.authorizationRequests.findByStateHash('state-missing')).toBeNull();
      });

      test('create refuses a second request with the same id', async () => {
        await store.authorizationRequests.create(newRequest());
        await expectRejectsWithCode(
          store.authorizationRequests.create(newRequest({ profileId: 'other' })),
          'conflict',
        );
        expect((await store.authorizationRequests.get('ar_request1'))?.profileId).toBe('hubspot');
      });

      test('markStarted binds a created request to a browser', async () => {
        await store.authorizationRequests.create(newRequest());
        const started = await store.authorizationRequests.markStarted('ar_request1', start(), T0 + 1_000);
        expect(started).toStrictEqual({
          ...newRequest(),
          status: 'started',
          stateHash: 'state-hash-1',
          bindingHash: 'binding-1',
          codeVerifier: 'v1.k1.aXY.dmVyaWZpZXI.dGFn',
          nonceHash: 'nonce-hash-1',
          startedAt: T0 + 1_000,
        });
        expect(await store.authorizationRequests.get('ar_request1')).toStrictEqual(started);
        expect(await store.authorizationRequests.findByStateHash('state-hash-1')).toStrictEqual(started);
      });

      test('markStarted again from the same browser succeeds with the new state', async () => {
        await store.authorizationRequests.create(newRequest());
        await store.authorizationRequests.markStarted('ar_request1', start(), T0 + 1_000);
        const again = await store.authorizationRequests.markStarted(
          'ar_request1',
          start({ stateHash: 'state-hash-2', codeVerifier: null, nonceHash: null }),
          T0 + 2_000,
        );
        expect(again?.status).toBe('started');
        expect(again?.stateHash).toBe('state-hash-2');
        expect(again?.codeVerifier).toBeNull();
        // Each opening sends its own nonce (SECURITY.md #50): the earlier one no longer counts.
        expect(again?.nonceHash).toBeNull();
        expect(await store.authorizationRequests.findByStateHash('state-hash-1')).toBeNull();
        expect((await store.authorizationRequests.findByStateHash('state-hash-2'))?.id).toBe('ar_request1');
      });

      test('markStarted from another browser fails and leaves the binding alone', async () => {
        await store.authorizationRequests.create(newRequest());
        const started = await store.authorizationRequests.markStarted('ar_request1', start(), T0 + 1_000);
        expect(
          await store.authorizationRequests.markStarted(
            'ar_request1',
            start({ stateHash: 'state-hash-evil', bindingHash: 'binding-other' }),
            T0 + 2_000,
          ),
        ).toBeNull();
        expect(await store.authorizationRequests.get('ar_request1')).toStrictEqual(started);
        expect(await store.authorizationRequests.findByStateHash('state-hash-evil')).toBeNull();
      });

      test('markStarted fails once the request has expired, and for unknown requests', async () => {
        const request = newRequest();
        await store.authorizationRequests.create(request);
        expect(
          await store.authorizationRequests.markStarted(request.id, start(), request.expiresAt),
        ).toBeNull();
        expect(
          await store.authorizationRequests.markStarted(request.id, start(), request.expiresAt + 1),
        ).toBeNull();
        expect(await store.authorizationRequests.get(request.id)).toStrictEqual(request);
        expect(await store.authorizationRequests.markStarted('ar_missing', start(), T0)).toBeNull();
      });

      test('markStarted fails after the request was consumed, even from the same browser', async () => {
        await store.authorizationRequests.create(newRequest());
        await store.authorizationRequests.markStarted('ar_request1', start(), T0 + 1_000);
        expect(
          await store.authorizationRequests.consume('ar_request1', 'state-hash-1', T0 + 3_000),
        ).not.toBeNull();
        expect(await store.authorizationRequests.markStarted('ar_request1', start(), T0 + 4_000)).toBeNull();
        expect((await store.authorizationRequests.get('ar_request1'))?.status).toBe('consumed');
      });

      realServerTest(
        'markStarted refuses a state hash another request already uses',
        UNIQUE_INDEXES,
        async () => {
          await store.authorizationRequests.create(newRequest());
          await store.authorizationRequests.create(newRequest({ id: 'ar_request2' }));
          await store.authorizationRequests.markStarted('ar_request1', start(), T0 + 1_000);
          await expectRejectsWithCode(
            store.authorizationRequests.markStarted(
              'ar_request2',
              start({ bindingHash: 'binding-2' }),
              T0 + 1_000,
            ),
            'conflict',
          );
          expect((await store.authorizationRequests.findByStateHash('state-hash-1'))?.id).toBe('ar_request1');
          expect((await store.authorizationRequests.get('ar_request2'))?.status).toBe('created');
        },
      );

      test('consume moves started to consumed; only one of 20 parallel callers wins', async () => {
        await store.authorizationRequests.create(newRequest());
        const started = await store.authorizationRequests.markStarted('ar_request1', start(), T0 + 1_000);
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            store.authorizationRequests.consume('ar_request1', 'state-hash-1', T0 + 5_000),
          ),
        );
        const winners = results.filter((result) => result !== null);
        expect(winners).toHaveLength(1);
        expect(winners[0]).toStrictEqual({ ...started, status: 'consumed', consumedAt: T0 + 5_000 });
        expect(await store.authorizationRequests.get('ar_request1')).toStrictEqual(winners[0]);
      });

      test('consume with another state hash, or before start, fails', async () => {
        await store.authorizationRequests.create(newRequest());
        expect(await store.authorizationRequests.consume('ar_request1', 'state-hash-1', T0 + 500)).toBeNull();
        const started = await store.authorizationRequests.markStarted('ar_request1', start(), T0 + 1_000);
        expect(
          await store.authorizationRequests.consume('ar_request1', 'state-hash-wrong', T0 + 2_000),
        ).toBeNull();
        expect(await store.authorizationRequests.get('ar_request1')).toStrictEqual(started);
        expect(
          await store.authorizationRequests.consume('ar_missing', 'state-hash-1', T0 + 2_000),
        ).toBeNull();
      });

      test('complete records the outcome and moves the request to completed', async () => {
        await store.authorizationRequests.create(newRequest());
        await store.authorizationRequests.create(newRequest({ id: 'ar_request2' }));
        await store.authorizationRequests.markStarted('ar_request1', start(), T0 + 1_000);
        const consumed = await store.authorizationRequests.consume('ar_request1', 'state-hash-1', T0 + 2_000);
        await store.authorizationRequests.complete('ar_request1', {
          result: 'connected',
          connectionId: 'con_1',
        });
        expect(await store.authorizationRequests.get('ar_request1')).toStrictEqual({
          ...consumed,
          status: 'completed',
          outcome: { result: 'connected', connectionId: 'con_1' },
        });
        // An optional field left undefined is absent afterwards, not null.
        await store.authorizationRequests.complete('ar_request2', {
          result: 'failed',
          error: 'invalid-grant',
          connectionId: undefined,
        });
        expect((await store.authorizationRequests.get('ar_request2'))?.outcome).toStrictEqual({
          result: 'failed',
          error: 'invalid-grant',
        });
      });

      test('deleteExpired removes requests that expired before the given time and counts them', async () => {
        await store.authorizationRequests.create(newRequest({ id: 'ar_1', expiresAt: T0 + 1 }));
        await store.authorizationRequests.create(newRequest({ id: 'ar_2', expiresAt: T0 + 2 }));
        await store.authorizationRequests.create(newRequest({ id: 'ar_3', expiresAt: T0 + 3 }));
        expect(await store.authorizationRequests.deleteExpired(T0 + 3)).toBe(2);
        expect(await store.authorizationRequests.get('ar_1')).toBeNull();
        expect(await store.authorizationRequests.get('ar_2')).toBeNull();
        expect((await store.authorizationRequests.get('ar_3'))?.expiresAt).toBe(T0 + 3);
        expect(await store.authorizationRequests.deleteExpired(T0 + 3)).toBe(0);
      });

      test('claimExpired hands each expired unfinished request to exactly one caller', async () => {
        await store.authorizationRequests.create(newRequest({ id: 'ar_old1', expiresAt: T0 + 1 }));
        await store.authorizationRequests.create(newRequest({ id: 'ar_old2', expiresAt: T0 + 2 }));
        await store.authorizationRequests.create(newRequest({ id: 'ar_fresh', expiresAt: T0 + 500_000 }));
        await store.authorizationRequests.create(newRequest({ id: 'ar_done', expiresAt: T0 + 1 }));
        // Consumed long ago and never completed (the process died mid-exchange), and consumed just now.
        await store.authorizationRequests.create(newRequest({ id: 'ar_stuck', expiresAt: T0 + 1 }));
        await store.authorizationRequests.markStarted('ar_stuck', start({ stateHash: 'stuck-hash' }), T0);
        await store.authorizationRequests.consume('ar_stuck', 'stuck-hash', T0);
        await store.authorizationRequests.create(newRequest({ id: 'ar_busy', expiresAt: T0 + 1 }));
        await store.authorizationRequests.markStarted('ar_busy', start({ stateHash: 'busy-hash' }), T0);
        await store.authorizationRequests.consume('ar_busy', 'busy-hash', T0 + 200_000);
        await store.authorizationRequests.complete('ar_done', { result: 'connected', connectionId: 'con_1' });
        const batches = await Promise.all(
          Array.from({ length: 5 }, () => store.authorizationRequests.claimExpired(T0 + 250_000, 10)),
        );
        const claimed = batches
          .flat()
          .map((request) => request.id)
          .sort();
        expect(claimed).toStrictEqual(['ar_old1', 'ar_old2', 'ar_stuck']);
        expect((await store.authorizationRequests.get('ar_busy'))?.status).toBe('consumed');
        expect((await store.authorizationRequests.get('ar_old1'))?.outcome).toStrictEqual({
          result: 'failed',
          error: 'expired',
        });
        expect((await store.authorizationRequests.get('ar_old1'))?.status).toBe('completed');
        expect((await store.authorizationRequests.get('ar_fresh'))?.status).toBe('created');
        expect((await store.authorizationRequests.get('ar_stuck'))?.outcome).toStrictEqual({
          result: 'failed',
          error: 'expired',
        });
        expect((await store.authorizationRequests.get('ar_done'))?.outcome).toStrictEqual({
          result: 'connected',
          connectionId: 'con_1',
        });
        expect(await store.authorizationRequests.claimExpired(T0 + 250_000, 10)).toStrictEqual([]);
      });
    });

    describe('locks', () => {
      test('acquire takes a free lock; another owner is refused while it is held', async () => {
        expect(await store.locks.acquire('refresh:con_1', 'instance-a', 1_000, T0)).toBe(true);
        expect(await store.locks.acquire('refresh:con_1', 'instance-b', 1_000, T0 + 999)).toBe(false);
        expect(await store.locks.acquire('refresh:con_2', 'instance-b', 1_000, T0 + 1)).toBe(true);
      });

      test('the owner re-acquires and extends its lease', async () => {
        expect(await store.locks.acquire('refresh:con_1', 'instance-a', 1_000, T0)).toBe(true);
        expect(await store.locks.acquire('refresh:con_1', 'instance-a', 1_000, T0 + 500)).toBe(true);
        expect(await store.locks.acquire('refresh:con_1', 'instance-b', 1_000, T0 + 1_200)).toBe(false);
      });

      test('an expired lock can be taken by another owner, which then holds it', async () => {
        expect(await store.locks.acquire('refresh:con_1', 'instance-a', 1_000, T0)).toBe(true);
        expect(await store.locks.acquire('refresh:con_1', 'instance-b', 1_000, T0 + 1_000)).toBe(true);
        expect(await store.locks.acquire('refresh:con_1', 'instance-a', 1_000, T0 + 1_001)).toBe(false);
      });

      test('release by another owner does nothing; release by the owner frees the lock', async () => {
        expect(await store.locks.acquire('refresh:con_1', 'instance-a', 1_000, T0)).toBe(true);
        await store.locks.release('refresh:con_1', 'instance-b');
        expect(await store.locks.acquire('refresh:con_1', 'instance-b', 1_000, T0 + 1)).toBe(false);
        await store.locks.release('refresh:con_1', 'instance-a');
        expect(await store.locks.acquire('refresh:con_1', 'instance-b', 1_000, T0 + 2)).toBe(true);
      });

      test('of 20 parallel acquires by different owners exactly one wins', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.locks.acquire('refresh:con_1', `instance-${i}`, 1_000, T0),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = `instance-${results.indexOf(true)}`;
        expect(await store.locks.acquire('refresh:con_1', winner, 1_000, T0 + 1)).toBe(true);
        expect(await store.locks.acquire('refresh:con_1', 'instance-late', 1_000, T0 + 1)).toBe(false);
      });

      test('of 20 parallel takeovers of an expired lock exactly one wins', async () => {
        expect(await store.locks.acquire('refresh:con_1', 'instance-dead', 1_000, T0)).toBe(true);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.locks.acquire('refresh:con_1', `instance-${i}`, 1_000, T0 + 5_000),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('profiles', () => {
      test('put with expected version 0 inserts version 1; get and list read it back', async () => {
        const inserted = await store.profiles.put(newProfile(), 0);
        expect(inserted).toStrictEqual({ ...newProfile(), version: 1 });
        expect(await store.profiles.get('crm')).toStrictEqual(inserted);
        expect(await store.profiles.get('missing')).toBeNull();
      });

      test('a second insert of the same id is refused', async () => {
        await store.profiles.put(newProfile(), 0);
        expect(await store.profiles.put(newProfile({ updatedBy: 'admin:other' }), 0)).toBeNull();
        expect((await store.profiles.get('crm'))?.updatedBy).toBe('admin:ops');
      });

      test('put with the current version updates (compare-and-set); a stale version is refused', async () => {
        await store.profiles.put(newProfile(), 0);
        const changed = newProfile({
          kind: 'override',
          document: { scopes: ['c'] },
          clientSecret: null,
          updatedAt: T0 + 9,
        });
        const updated = await store.profiles.put(changed, 1);
        expect(updated).toStrictEqual({ ...changed, version: 2 });
        expect(await store.profiles.put(newProfile({ updatedBy: 'admin:late' }), 1)).toBeNull();
        expect(await store.profiles.get('crm')).toStrictEqual(updated);
        expect(await store.profiles.put(newProfile({ id: 'missing' }), 1)).toBeNull();
        expect(await store.profiles.get('missing')).toBeNull();
      });

      test('list returns every profile ordered by id', async () => {
        await store.profiles.put(newProfile({ id: 'zeta' }), 0);
        await store.profiles.put(newProfile({ id: 'alpha', kind: 'override' }), 0);
        const listed = await store.profiles.list();
        expect(listed.map((profile) => profile.id)).toEqual(['alpha', 'zeta']);
        expect(listed[0]).toStrictEqual({ ...newProfile({ id: 'alpha', kind: 'override' }), version: 1 });
      });

      test('delete removes the profile once', async () => {
        await store.profiles.put(newProfile(), 0);
        expect(await store.profiles.delete('crm')).toBe(true);
        expect(await store.profiles.delete('crm')).toBe(false);
        expect(await store.profiles.get('crm')).toBeNull();
        expect(await store.profiles.list()).toEqual([]);
        expect(await store.profiles.put(newProfile(), 0)).toStrictEqual({ ...newProfile(), version: 1 });
      });
    });

    describe('documents', () => {
      const value = {
        dialogStack: [{ id: 'oauth', state: { step: 1 } }],
        $odd: true,
        'dot.ted': { x: null },
      };

      test('write without an eTag stores the value; read returns it with that eTag', async () => {
        const eTag = await store.documents.write('conv/1', value, undefined);
        expect(typeof eTag).toBe('string');
        expect(eTag).not.toBe('');
        const read = await store.documents.read(['conv/1', 'conv/missing']);
        expect([...read.keys()]).toEqual(['conv/1']);
        expect(read.get('conv/1')).toStrictEqual({ value, eTag });
      });

      test('write with the current eTag succeeds and changes the eTag', async () => {
        const first = await store.documents.write('conv/1', value, undefined);
        const second = await store.documents.write('conv/1', { step: 2 }, first ?? undefined);
        expect(typeof second).toBe('string');
        expect(second).not.toBe(first);
        expect((await store.documents.read(['conv/1'])).get('conv/1')).toStrictEqual({
          value: { step: 2 },
          eTag: second,
        });
      });

      test('write with a stale eTag is a conflict (null) and keeps the stored value', async () => {
        const first = await store.documents.write('conv/1', value, undefined);
        const second = await store.documents.write('conv/1', { step: 2 }, first ?? undefined);
        expect(await store.documents.write('conv/1', { step: 3 }, first ?? undefined)).toBeNull();
        expect((await store.documents.read(['conv/1'])).get('conv/1')).toStrictEqual({
          value: { step: 2 },
          eTag: second,
        });
      });

      test('write with an eTag for a missing document is a conflict (null)', async () => {
        expect(await store.documents.write('conv/gone', value, 'etag_old')).toBeNull();
        expect((await store.documents.read(['conv/gone'])).size).toBe(0);
      });

      test("write with '*' overwrites whatever is stored", async () => {
        const first = await store.documents.write('conv/1', value, undefined);
        const forced = await store.documents.write('conv/1', { forced: true }, '*');
        expect(typeof forced).toBe('string');
        expect(forced).not.toBe(first);
        expect((await store.documents.read(['conv/1'])).get('conv/1')).toStrictEqual({
          value: { forced: true },
          eTag: forced,
        });
        const created = await store.documents.write('conv/new', { fresh: 1 }, '*');
        expect((await store.documents.read(['conv/new'])).get('conv/new')).toStrictEqual({
          value: { fresh: 1 },
          eTag: created,
        });
      });

      test('delete removes the given keys and ignores missing ones', async () => {
        await store.documents.write('conv/1', value, undefined);
        const kept = await store.documents.write('conv/2', { keep: true }, undefined);
        await store.documents.delete(['conv/1', 'conv/missing']);
        const read = await store.documents.read(['conv/1', 'conv/2']);
        expect([...read.keys()]).toEqual(['conv/2']);
        expect(read.get('conv/2')).toStrictEqual({ value: { keep: true }, eTag: kept });
      });
    });

    describe('audit', () => {
      const seed = async (): Promise<AuditEntry[]> => {
        const entries = Array.from({ length: 6 }, (_, i) => newAuditEntry(i + 1));
        for (const entry of entries) await store.audit.append(entry);
        return entries;
      };
      const ids = (entries: AuditEntry[]): string[] => entries.map((entry) => entry.id);

      test('list returns entries newest first, as appended', async () => {
        const entries = await seed();
        const listed = await store.audit.list({ limit: 10 });
        expect(ids(listed)).toEqual(['aud_006', 'aud_005', 'aud_004', 'aud_003', 'aud_002', 'aud_001']);
        expect(listed[0]).toStrictEqual(entries[5]);
      });

      test('list pages with limit and before', async () => {
        await seed();
        const first = await store.audit.list({ limit: 4 });
        expect(ids(first)).toEqual(['aud_006', 'aud_005', 'aud_004', 'aud_003']);
        expect(ids(await store.audit.list({ limit: 4, before: 'aud_003' }))).toEqual(['aud_002', 'aud_001']);
        expect(await store.audit.list({ limit: 4, before: 'aud_001' })).toEqual([]);
      });

      test('list filters by target, also across pages', async () => {
        await seed();
        expect(ids(await store.audit.list({ limit: 10, target: 'profile:hubspot' }))).toEqual([
          'aud_006',
          'aud_004',
          'aud_002',
        ]);
        expect(ids(await store.audit.list({ limit: 1, target: 'profile:crm', before: 'aud_005' }))).toEqual([
          'aud_003',
        ]);
        expect(await store.audit.list({ limit: 10, target: 'profile:none' })).toEqual([]);
      });

      test('append refuses a second entry with the same id', async () => {
        await store.audit.append(newAuditEntry(1));
        await expectRejectsWithCode(store.audit.append(newAuditEntry(1, { action: 'other' })), 'conflict');
        expect(await store.audit.list({ limit: 10 })).toStrictEqual([newAuditEntry(1)]);
      });
    });

    describe('admin keys', () => {
      test('create stores the key; findByHash finds it by hash only', async () => {
        const key = newAdminKey();
        await store.adminKeys.create(key);
        expect(await store.adminKeys.findByHash('hash-ops')).toStrictEqual(key);
        expect(await store.adminKeys.findByHash('hash-unknown')).toBeNull();
      });

      test('list returns every key ordered by id', async () => {
        await store.adminKeys.create(newAdminKey({ id: 'key_z', name: 'zed', keyHash: 'hash-z' }));
        await store.adminKeys.create(
          newAdminKey({ id: 'key_a', name: 'dev', role: 'developer', keyHash: 'hash-a' }),
        );
        expect(await store.adminKeys.list()).toStrictEqual([
          newAdminKey({ id: 'key_a', name: 'dev', role: 'developer', keyHash: 'hash-a' }),
          newAdminKey({ id: 'key_z', name: 'zed', keyHash: 'hash-z' }),
        ]);
      });

      test('revoke succeeds once, records the time, and then reports false', async () => {
        await store.adminKeys.create(newAdminKey());
        expect(await store.adminKeys.revoke('key_ops', T0 + 42)).toBe(true);
        expect(await store.adminKeys.revoke('key_ops', T0 + 43)).toBe(false);
        expect(await store.adminKeys.findByHash('hash-ops')).toStrictEqual(
          newAdminKey({ revokedAt: T0 + 42 }),
        );
        expect(await store.adminKeys.revoke('key_missing', T0)).toBe(false);
      });

      test('create refuses a second key with the same id', async () => {
        await store.adminKeys.create(newAdminKey());
        await expectRejectsWithCode(
          store.adminKeys.create(newAdminKey({ keyHash: 'hash-other' })),
          'conflict',
        );
        expect(await store.adminKeys.findByHash('hash-other')).toBeNull();
      });

      realServerTest('create refuses a second key with the same hash', UNIQUE_INDEXES, async () => {
        await store.adminKeys.create(newAdminKey());
        await expectRejectsWithCode(store.adminKeys.create(newAdminKey({ id: 'key_other' })), 'conflict');
        expect(await store.adminKeys.list()).toStrictEqual([newAdminKey()]);
      });
    });

    describe('health and shutdown', () => {
      test('ping answers while the store is open', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      test('after close every operation fails with store-unavailable, and close is idempotent', async () => {
        await store.close();
        await expectRejectsWithCode(store.ping(), 'store-unavailable');
        await expectRejectsWithCode(store.connections.get('hubspot', 'org'), 'store-unavailable');
        await expectRejectsWithCode(store.locks.acquire('l', 'o', 1_000, T0), 'store-unavailable');
        await expectRejectsWithCode(store.documents.write('k', {}, undefined), 'store-unavailable');
        await expect(store.close()).resolves.toBeUndefined();
      });
    });
  });
}
