// Over 400 lines on purpose: one adapter implements the whole Store contract (test/store/storeContract.ts) on one database handle and its transactions; a file per repository would only pass the handle around.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AuthProfilesError } from '../errors';
import { newConnectionId, newId } from '../ids';
import {
  ABANDONED_EXCHANGE_MS,
  EXPIRED_OUTCOME,
  type AdminKeyRepository,
  type AuditEntry,
  type AuditRepository,
  type AuthorizationRequestRepository,
  type ConnectionFilter,
  type ConnectionRepository,
  type DocumentRepository,
  type LockRepository,
  type ProfileRepository,
  type Store,
  type StoredAdminKey,
  type StoredAuthorizationRequest,
  type StoredConnection,
  type StoredDocument,
  type StoredProfile,
} from './types';

export interface SqliteStoreOptions {
  /**
   * How long one attempt may wait for another connection's write lock (SQLite `busy_timeout`).
   * better-sqlite3 is synchronous, so this wait blocks the event loop: keep it short.
   */
  busyTimeoutMs?: number;
  /** How long a locked write keeps being retried, with timers between attempts, before failing. */
  busyRetryMs?: number;
}

/** One blocking wait stays well under what a chat turn or a health check notices (SECURITY.md #53). */
export const DEFAULT_BUSY_TIMEOUT_MS = 50;
export const DEFAULT_BUSY_RETRY_MS = 2_000;

/**
 * The embedded default store: one SQLite file under DATA_DIR. WAL mode lets several processes on
 * one machine share it (the refresh lock is then a real cross-process lease): readers never wait,
 * and a write that finds another connection's write lock waits a short busy timeout, then retries
 * after timers, off the event loop, until a bound (`busy`). Records are JSON in a `data` column
 * next to the indexed keys the queries need.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly connections: SqliteConnections;
  readonly authorizationRequests: AuthorizationRequestRepository;
  readonly locks: LockRepository;
  readonly profiles: ProfileRepository;
  readonly documents: DocumentRepository;
  readonly audit: AuditRepository;
  readonly adminKeys: AdminKeyRepository;
  private readonly db: Database.Database;
  private readonly guard: Guard;
  private readonly prepare: Prepare;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    // Opening and migrating happen once, before anything else runs: waiting longer here is fine.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    migrate(this.db);
    this.db.pragma(
      `busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`,
    );
    const guard = guarded(options.busyRetryMs ?? DEFAULT_BUSY_RETRY_MS);
    this.guard = guard;
    const prepare = statementCache(this.db);
    this.prepare = prepare;
    this.connections = new SqliteConnections(this.db, guard, prepare);
    this.authorizationRequests = new SqliteAuthorizationRequests(this.db, guard, prepare);
    this.locks = new SqliteLocks(this.db, guard, prepare);
    this.profiles = new SqliteProfiles(this.db, guard, prepare);
    this.documents = new SqliteDocuments(this.db, guard, prepare);
    this.audit = new SqliteAudit(this.db, guard, prepare);
    this.adminKeys = new SqliteAdminKeys(this.db, guard, prepare);
  }

  async ping(): Promise<void> {
    await this.guard(() => this.prepare('SELECT 1').get());
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function migrate(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS connections (
      id TEXT PRIMARY KEY, profile_id TEXT NOT NULL, subject_key TEXT NOT NULL,
      status TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
      UNIQUE (profile_id, subject_key));
    CREATE INDEX IF NOT EXISTS connections_profile ON connections (profile_id, id);
    -- Counts by profile, status and subject kind (the admin profile pages) read this index alone; it
    -- replaced an index on status only, which made those counts read every row of that status
    -- (issue 12; same number of indexes, so the same cost per write).
    DROP INDEX IF EXISTS connections_status;
    CREATE INDEX IF NOT EXISTS connections_profile_status ON connections (profile_id, status, subject_key);
    CREATE TABLE IF NOT EXISTS authorization_requests (
      id TEXT PRIMARY KEY, state_hash TEXT UNIQUE, status TEXT NOT NULL,
      expires_at INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS authorization_requests_expiry ON authorization_requests (expires_at);
    CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS profiles (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS documents (key TEXT PRIMARY KEY, etag TEXT NOT NULL, data TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, target TEXT NOT NULL, data TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS audit_target ON audit (target, seq);
    CREATE TABLE IF NOT EXISTS admin_keys (id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
  `);
}

/**
 * Runs one synchronous SQLite operation. A `SQLITE_BUSY` (another connection holds the write lock
 * past the short busy timeout) is retried after a timer, with growing, jittered delays, until
 * `retryMs` has passed, so the event loop keeps serving everything else meanwhile (SECURITY.md #53);
 * each attempt is a whole statement or transaction, so a retry never repeats half a write. What
 * still fails becomes `store-unavailable` with no SQL in the message; a unique-key violation is the
 * caller's `conflict`, not an outage. The fast path returns synchronously (getToken is hot).
 */
type Guard = <T>(work: () => T) => T | Promise<T>;

function guarded(retryMs: number): Guard {
  return <T>(work: () => T): T | Promise<T> => {
    try {
      return work();
    } catch (cause) {
      if (!isBusy(cause)) throw storeError(cause);
      return retryWhileBusy(work, retryMs, cause);
    }
  };
}

async function retryWhileBusy<T>(work: () => T, retryMs: number, first: unknown): Promise<T> {
  const started = Date.now();
  let last = first;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    const wait = delay / 2 + Math.random() * delay;
    if (Date.now() - started + wait > retryMs) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
    try {
      return work();
    } catch (cause) {
      if (!isBusy(cause)) throw storeError(cause);
      last = cause;
    }
  }
  throw new AuthProfilesError(
    'store-unavailable',
    `the SQLite store is locked by another connection (still busy after ${Date.now() - started} ms); try again`,
    { cause: last },
  );
}

// By code, not instanceof: under Jest each test file may load its own copy of the native module.
function sqliteCode(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isBusy(cause: unknown): boolean {
  return sqliteCode(cause)?.startsWith('SQLITE_BUSY') === true;
}

function storeError(cause: unknown): AuthProfilesError {
  if (cause instanceof AuthProfilesError) return cause;
  if (sqliteCode(cause)?.startsWith('SQLITE_CONSTRAINT')) {
    return new AuthProfilesError('conflict', 'a record with this key already exists', { cause });
  }
  return new AuthProfilesError('store-unavailable', 'the SQLite store is unavailable', { cause });
}

type Prepare = Database.Database['prepare'];

/**
 * `db.prepare` with each SQL text compiled once per store, then reused: compiling a statement cost
 * more than running it on every call (issue 12). The cache is bounded by the code, not the data:
 * the texts are the fixed ones in this file plus the WHERE shapes a filter can take (values are
 * always bound parameters, never part of the text).
 */
function statementCache(db: Database.Database): Prepare {
  const statements = new Map<string, ReturnType<Prepare>>();
  return ((sql: string) => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  }) as Prepare;
}

function parse<T>(row: { data: string } | undefined): T | null {
  return row ? (JSON.parse(row.data) as T) : null;
}

type NewConnection = Omit<StoredConnection, 'id' | 'version'> & { id?: string };
type ConnectionPatch = Partial<Omit<StoredConnection, 'id' | 'version'>>;

export class SqliteConnections implements ConnectionRepository {
  // Built once: db.transaction() wraps its function anew on every call, a measurable part of a write.
  private readonly upsertManyInTransaction: Database.Transaction<
    (inputs: readonly NewConnection[], ids: readonly string[]) => StoredConnection[]
  >;
  private readonly updateInTransaction: Database.Transaction<
    (id: string, expectedVersion: number, patch: ConnectionPatch) => StoredConnection | null
  >;

  constructor(
    private readonly db: Database.Database,
    private readonly guard: Guard,
    private readonly prepare: Prepare,
  ) {
    this.upsertManyInTransaction = db.transaction(
      (inputs: readonly NewConnection[], ids: readonly string[]) =>
        inputs.map((input, i) => this.upsertRow(input, ids[i] as string)),
    );
    this.updateInTransaction = db.transaction((id: string, expectedVersion: number, patch: ConnectionPatch) =>
      this.updateRow(id, expectedVersion, patch),
    );
  }

  async get(profileId: string, subjectKey: string): Promise<StoredConnection | null> {
    return this.guard(() => {
      const statement = this.prepare<[string, string], { data: string }>(
        'SELECT data FROM connections WHERE profile_id = ? AND subject_key = ?',
      );
      return parse<StoredConnection>(statement.get(profileId, subjectKey));
    });
  }

  async getById(id: string): Promise<StoredConnection | null> {
    return this.guard(() =>
      parse<StoredConnection>(
        this.prepare<[string], { data: string }>('SELECT data FROM connections WHERE id = ?').get(id),
      ),
    );
  }

  /**
   * One statement, so one implicit transaction: the write lock is taken before anything is read, and
   * the row is inserted or replaced atomically. A replacement keeps the stored id and bumps the stored
   * version, in SQL, in both the columns and the JSON (`json_set`), so no read precedes the write
   * (issue 12: the former SELECT + INSERT in an explicit transaction cost a statement and a
   * transaction wrapper per write). Each upsert still commits on its own: once it returns it is in
   * the WAL (durable against a crash of the process; `synchronous = NORMAL`).
   */
  async upsert(input: NewConnection): Promise<StoredConnection> {
    const id = input.id ?? newConnectionId(input.createdAt);
    return this.guard(() => this.upsertRow(input, id));
  }

  /**
   * Bulk load (SQLite only, not part of the Store contract): each record goes through the same
   * statement as `upsert`, all in one transaction, so the whole batch is written or none of it.
   * For loading many connections at once (the bench's 1M-connection store); the API's writes stay
   * one commit each.
   */
  async upsertMany(inputs: readonly NewConnection[]): Promise<StoredConnection[]> {
    const ids = inputs.map((input) => input.id ?? newConnectionId(input.createdAt));
    return this.guard(() => this.upsertManyInTransaction.immediate(inputs, ids));
  }

  /** `id` is the new record's (time-ordered, profiles/ids.ts); a replacement keeps the stored one. */
  private upsertRow(input: NewConnection, id: string): StoredConnection {
    const record: StoredConnection = { ...input, id, version: 1 };
    // The subject's choice of default (`preferred`, profiles/connectionNames.ts) belongs to the slot, not
    // to one sign-in: a replacement that does not set it keeps the stored one, as the MongoDB adapter's
    // $set does.
    const written = this.prepare<
      [string, string, string, string, string],
      { id: string; version: number; preferred: string | null }
    >(
      `INSERT INTO connections (id, profile_id, subject_key, status, version, data) VALUES (?, ?, ?, ?, 1, ?)
         ON CONFLICT (profile_id, subject_key) DO UPDATE SET status = excluded.status,
           version = connections.version + 1,
           data = json_set(
             CASE
               WHEN excluded.data -> '$.preferred' IS NULL AND connections.data -> '$.preferred' IS NOT NULL
               THEN json_set(excluded.data, '$.preferred', json(connections.data -> '$.preferred'))
               ELSE excluded.data
             END,
             '$.id', connections.id, '$.version', connections.version + 1)
         RETURNING id, version, data -> '$.preferred' AS preferred`,
    ).get(record.id, record.profileId, record.subjectKey, record.status, JSON.stringify(record));
    if (!written)
      throw new AuthProfilesError('store-unavailable', 'the SQLite store returned no row for an upsert');
    record.id = written.id;
    record.version = written.version;
    if (written.preferred !== null) record.preferred = JSON.parse(written.preferred) as boolean;
    return record;
  }

  private updateRow(id: string, expectedVersion: number, patch: ConnectionPatch): StoredConnection | null {
    const existing = parse<StoredConnection>(
      this.prepare<[string], { data: string }>('SELECT data FROM connections WHERE id = ?').get(id),
    );
    if (!existing || existing.version !== expectedVersion) return null;
    // profile_id/subject_key are the lookup key; moving a record would leave them stale.
    if (
      (patch.profileId !== undefined && patch.profileId !== existing.profileId) ||
      (patch.subjectKey !== undefined && patch.subjectKey !== existing.subjectKey)
    ) {
      throw new AuthProfilesError('conflict', 'a connection cannot move to another profile or subject');
    }
    const record: StoredConnection = { ...existing, ...patch, id, version: expectedVersion + 1 };
    this.prepare('UPDATE connections SET status = ?, version = ?, data = ? WHERE id = ? AND version = ?').run(
      record.status,
      record.version,
      JSON.stringify(record),
      id,
      expectedVersion,
    );
    return record;
  }

  async update(
    id: string,
    expectedVersion: number,
    patch: ConnectionPatch,
  ): Promise<StoredConnection | null> {
    return this.guard(() => this.updateInTransaction.immediate(id, expectedVersion, patch));
  }

  async updateMany(
    filter: ConnectionFilter,
    patch: Partial<Pick<StoredConnection, 'status' | 'lastError' | 'updatedAt'>>,
  ): Promise<number> {
    return this.guard(() =>
      this.db
        .transaction(() => {
          const { where, params } = connectionWhere(filter);
          const rows = this.prepare<unknown[], { data: string }>(`SELECT data FROM connections ${where}`).all(
            ...params,
          );
          const write = this.prepare('UPDATE connections SET status = ?, version = ?, data = ? WHERE id = ?');
          for (const row of rows) {
            const existing = JSON.parse(row.data) as StoredConnection;
            const record = { ...existing, ...patch, version: existing.version + 1 };
            write.run(record.status, record.version, JSON.stringify(record), record.id);
          }
          return rows.length;
        })
        .immediate(),
    );
  }

  async delete(id: string): Promise<boolean> {
    return this.guard(() => this.prepare('DELETE FROM connections WHERE id = ?').run(id).changes > 0);
  }

  async list(filter: ConnectionFilter, page: { limit: number; after?: string }): Promise<StoredConnection[]> {
    return this.guard(() => {
      const { where, params } = connectionWhere(filter, page.after);
      return this.prepare<unknown[], { data: string }>(
        `SELECT data FROM connections ${where} ORDER BY id LIMIT ?`,
      )
        .all(...params, page.limit)
        .map((row) => JSON.parse(row.data) as StoredConnection);
    });
  }

  async count(filter: ConnectionFilter): Promise<number> {
    return this.guard(() => {
      const { where, params } = connectionWhere(filter);
      const row = this.prepare<unknown[], { n: number }>(
        `SELECT COUNT(*) AS n FROM connections ${where}`,
      ).get(...params);
      return row?.n ?? 0;
    });
  }
}

/**
 * The profile ids present in `connections`, one index seek each (a loose index scan over
 * `connections_profile`): a subject's connections across profiles are then found through the unique
 * (profile_id, subject_key) index, one seek per profile, instead of reading every row (issue 12:
 * GetTokenStatus and a user's connection list at 1M connections), without a further index to keep up
 * on every write.
 */
const PROFILE_IDS = `(WITH RECURSIVE profile_ids(id) AS (
    SELECT (SELECT min(profile_id) FROM connections)
    UNION ALL
    SELECT (SELECT min(profile_id) FROM connections WHERE profile_id > profile_ids.id) FROM profile_ids
      WHERE profile_ids.id IS NOT NULL)
  SELECT id FROM profile_ids WHERE id IS NOT NULL)`;

/**
 * WHERE clauses for a filter. Every shape getToken and the admin and token-service lists use is
 * served by an index (test/store/sqliteQueryPlans.test.ts): values are always bound parameters, so
 * the statement cache (statementCache) holds one text per shape.
 */
function connectionWhere(filter: ConnectionFilter, after?: string): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.profileId !== undefined) {
    clauses.push('profile_id = ?');
    params.push(filter.profileId);
  } else if (filter.subjectKey !== undefined || filter.subject !== undefined) {
    clauses.push(`profile_id IN ${PROFILE_IDS}`);
  }
  if (filter.status !== undefined) {
    clauses.push('status = ?');
    params.push(filter.status);
  }
  if (filter.subjectKey !== undefined) {
    clauses.push('subject_key = ?');
    params.push(filter.subjectKey);
  }
  if (filter.subject !== undefined) {
    // The key itself or `<key>#<name>`. The range makes it an index search: every such key sorts in
    // [key, key + '$') ('$' follows '#'); the exact test then drops other keys of that range (a user
    // id ending in '!' is not percent-encoded). substr, not LIKE: a subject key holds `%`.
    clauses.push(
      "subject_key >= ? AND subject_key < ? AND (subject_key = ? OR substr(subject_key, 1, length(?) + 1) = ? || '#')",
    );
    params.push(filter.subject, `${filter.subject}$`, filter.subject, filter.subject, filter.subject);
  }
  if (filter.subjectKind === 'org')
    clauses.push("(subject_key = 'org' OR substr(subject_key, 1, 4) = 'org#')");
  if (filter.subjectKind === 'user') clauses.push("subject_key LIKE 'user:%'");
  if (after !== undefined) {
    clauses.push('id > ?');
    params.push(after);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

class SqliteAuthorizationRequests implements AuthorizationRequestRepository {
  constructor(
    private readonly db: Database.Database,
    private readonly guard: Guard,
    private readonly prepare: Prepare,
  ) {}

  async create(request: StoredAuthorizationRequest): Promise<void> {
    await this.guard(() =>
      this.prepare(
        'INSERT INTO authorization_requests (id, state_hash, status, expires_at, data) VALUES (?, ?, ?, ?, ?)',
      ).run(request.id, request.stateHash, request.status, request.expiresAt, JSON.stringify(request)),
    );
  }

  async get(id: string): Promise<StoredAuthorizationRequest | null> {
    return this.guard(() => this.read('id', id));
  }

  async findByStateHash(stateHash: string): Promise<StoredAuthorizationRequest | null> {
    return this.guard(() => this.read('state_hash', stateHash));
  }

  private read(column: 'id' | 'state_hash', value: string): StoredAuthorizationRequest | null {
    return parse<StoredAuthorizationRequest>(
      this.prepare<[string], { data: string }>(
        `SELECT data FROM authorization_requests WHERE ${column} = ?`,
      ).get(value),
    );
  }

  private write(record: StoredAuthorizationRequest): void {
    this.prepare('UPDATE authorization_requests SET state_hash = ?, status = ?, data = ? WHERE id = ?').run(
      record.stateHash,
      record.status,
      JSON.stringify(record),
      record.id,
    );
  }

  // markStarted, consume and complete are each one UPDATE whose WHERE is the compare-and-set and whose
  // json_set patches the stored document, so no read precedes the write and no explicit transaction
  // wraps it (issue 12, as the connection upsert): one statement is atomic, and only one caller's
  // UPDATE matches a request in the state it expects (single use, SECURITY.md #3). The `status` and
  // `state_hash` columns are set with the document, as `write` does; `expires_at` never changes.
  async markStarted(
    id: string,
    start: {
      stateHash: string;
      bindingHash: string;
      codeVerifier: string | null;
      nonceHash: string | null;
      startedAt: number;
    },
    now: number,
  ): Promise<StoredAuthorizationRequest | null> {
    return this.guard(() =>
      parse<StoredAuthorizationRequest>(
        this.prepare<
          [string, string, string, string | null, string | null, number, string, number, string],
          { data: string }
        >(
          `UPDATE authorization_requests SET state_hash = ?, status = 'started',
             data = json_set(data, '$.stateHash', ?, '$.bindingHash', ?, '$.codeVerifier', ?,
               '$.nonceHash', ?, '$.startedAt', ?, '$.status', 'started')
           WHERE id = ? AND expires_at > ?
             AND (status = 'created' OR (status = 'started' AND data ->> '$.bindingHash' = ?))
           RETURNING data`,
        ).get(
          start.stateHash,
          start.stateHash,
          start.bindingHash,
          start.codeVerifier,
          start.nonceHash,
          start.startedAt,
          id,
          now,
          start.bindingHash,
        ),
      ),
    );
  }

  async consume(id: string, stateHash: string, now: number): Promise<StoredAuthorizationRequest | null> {
    return this.guard(() =>
      parse<StoredAuthorizationRequest>(
        this.prepare<[number, string, string], { data: string }>(
          `UPDATE authorization_requests SET status = 'consumed',
             data = json_set(data, '$.status', 'consumed', '$.consumedAt', ?)
           WHERE id = ? AND status = 'started' AND state_hash = ?
           RETURNING data`,
        ).get(now, id, stateHash),
      ),
    );
  }

  async complete(id: string, outcome: StoredAuthorizationRequest['outcome']): Promise<void> {
    await this.guard(() =>
      this.prepare(
        `UPDATE authorization_requests SET status = 'completed',
           data = json_set(data, '$.status', 'completed', '$.outcome', json(?))
         WHERE id = ?`,
      ).run(JSON.stringify(outcome), id),
    );
  }

  async deleteExpired(before: number): Promise<number> {
    return this.guard(
      () => this.prepare('DELETE FROM authorization_requests WHERE expires_at < ?').run(before).changes,
    );
  }
  async claimExpired(now: number, limit: number): Promise<StoredAuthorizationRequest[]> {
    return this.guard(() =>
      this.db
        .transaction(() => {
          const rows = this.prepare<[number, number, number], { data: string }>(
            `SELECT data FROM authorization_requests WHERE expires_at <= ? AND (status IN ('created', 'started')
                 OR (status = 'consumed' AND json_extract(data, '$.consumedAt') <= ?)) LIMIT ?`,
          ).all(now, now - ABANDONED_EXCHANGE_MS, limit);
          return rows.map((row) => {
            const record: StoredAuthorizationRequest = {
              ...(JSON.parse(row.data) as StoredAuthorizationRequest),
              status: 'completed',
              outcome: { ...EXPIRED_OUTCOME },
            };
            this.write(record);
            return record;
          });
        })
        .immediate(),
    );
  }
}

class SqliteLocks implements LockRepository {
  constructor(
    private readonly db: Database.Database,
    private readonly guard: Guard,
    private readonly prepare: Prepare,
  ) {}

  async acquire(name: string, owner: string, ttlMs: number, now: number): Promise<boolean> {
    return this.guard(
      () =>
        this.prepare(
          `INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
             WHERE locks.expires_at <= ? OR locks.owner = excluded.owner`,
        ).run(name, owner, now + ttlMs, now).changes > 0,
    );
  }

  async release(name: string, owner: string): Promise<void> {
    await this.guard(() => this.prepare('DELETE FROM locks WHERE name = ? AND owner = ?').run(name, owner));
  }
}

class SqliteProfiles implements ProfileRepository {
  constructor(
    private readonly db: Database.Database,
    private readonly guard: Guard,
    private readonly prepare: Prepare,
  ) {}

  async get(id: string): Promise<StoredProfile | null> {
    return this.guard(() =>
      parse<StoredProfile>(
        this.prepare<[string], { data: string }>('SELECT data FROM profiles WHERE id = ?').get(id),
      ),
    );
  }

  async list(): Promise<StoredProfile[]> {
    return this.guard(() =>
      this.prepare<[], { data: string }>('SELECT data FROM profiles ORDER BY id')
        .all()
        .map((row) => JSON.parse(row.data) as StoredProfile),
    );
  }

  async put(profile: Omit<StoredProfile, 'version'>, expectedVersion: number): Promise<StoredProfile | null> {
    return this.guard(() =>
      this.db
        .transaction(() => {
          const record: StoredProfile = { ...profile, version: expectedVersion + 1 };
          if (expectedVersion === 0) {
            const inserted = this.prepare(
              'INSERT INTO profiles (id, version, data) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
            ).run(record.id, record.version, JSON.stringify(record));
            return inserted.changes > 0 ? record : null;
          }
          const updated = this.prepare(
            'UPDATE profiles SET version = ?, data = ? WHERE id = ? AND version = ?',
          ).run(record.version, JSON.stringify(record), record.id, expectedVersion);
          return updated.changes > 0 ? record : null;
        })
        .immediate(),
    );
  }

  async delete(id: string): Promise<boolean> {
    return this.guard(() => this.prepare('DELETE FROM profiles WHERE id = ?').run(id).changes > 0);
  }
}

class SqliteDocuments implements DocumentRepository {
  constructor(
    private readonly db: Database.Database,
    private readonly guard: Guard,
    private readonly prepare: Prepare,
  ) {}

  async read(keys: readonly string[]): Promise<Map<string, StoredDocument>> {
    return this.guard(() => {
      const statement = this.prepare<[string], { etag: string; data: string }>(
        'SELECT etag, data FROM documents WHERE key = ?',
      );
      const found = new Map<string, StoredDocument>();
      for (const key of keys) {
        const row = statement.get(key);
        if (row) found.set(key, { eTag: row.etag, value: JSON.parse(row.data) as Record<string, unknown> });
      }
      return found;
    });
  }

  async write(
    key: string,
    value: Record<string, unknown>,
    expectedETag: string | undefined,
  ): Promise<string | null> {
    return this.guard(() =>
      this.db
        .transaction(() => {
          const eTag = newId('etag');
          const data = JSON.stringify(value);
          if (expectedETag === undefined || expectedETag === '*') {
            this.prepare(
              'INSERT INTO documents (key, etag, data) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET etag = excluded.etag, data = excluded.data',
            ).run(key, eTag, data);
            return eTag;
          }
          const changed = this.prepare(
            'UPDATE documents SET etag = ?, data = ? WHERE key = ? AND etag = ?',
          ).run(eTag, data, key, expectedETag).changes;
          return changed > 0 ? eTag : null;
        })
        .immediate(),
    );
  }

  async delete(keys: readonly string[]): Promise<void> {
    await this.guard(() => {
      const statement = this.prepare('DELETE FROM documents WHERE key = ?');
      for (const key of keys) statement.run(key);
    });
  }
}

class SqliteAudit implements AuditRepository {
  constructor(
    private readonly db: Database.Database,
    private readonly guard: Guard,
    private readonly prepare: Prepare,
  ) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.guard(() =>
      this.prepare('INSERT INTO audit (id, target, data) VALUES (?, ?, ?)').run(
        entry.id,
        entry.target,
        JSON.stringify(entry),
      ),
    );
  }

  async list(page: { limit: number; before?: string; target?: string }): Promise<AuditEntry[]> {
    return this.guard(() => {
      const clauses: string[] = [];
      const params: unknown[] = [];
      if (page.before !== undefined) {
        clauses.push('seq < (SELECT seq FROM audit WHERE id = ?)');
        params.push(page.before);
      }
      if (page.target !== undefined) {
        clauses.push('target = ?');
        params.push(page.target);
      }
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
      return this.prepare<unknown[], { data: string }>(
        `SELECT data FROM audit ${where} ORDER BY seq DESC LIMIT ?`,
      )
        .all(...params, page.limit)
        .map((row) => JSON.parse(row.data) as AuditEntry);
    });
  }
}

class SqliteAdminKeys implements AdminKeyRepository {
  constructor(
    private readonly db: Database.Database,
    private readonly guard: Guard,
    private readonly prepare: Prepare,
  ) {}

  async create(key: StoredAdminKey): Promise<void> {
    await this.guard(() =>
      this.prepare('INSERT INTO admin_keys (id, key_hash, data) VALUES (?, ?, ?)').run(
        key.id,
        key.keyHash,
        JSON.stringify(key),
      ),
    );
  }

  async findByHash(keyHash: string): Promise<StoredAdminKey | null> {
    return this.guard(() =>
      parse<StoredAdminKey>(
        this.prepare<[string], { data: string }>('SELECT data FROM admin_keys WHERE key_hash = ?').get(
          keyHash,
        ),
      ),
    );
  }

  async list(): Promise<StoredAdminKey[]> {
    return this.guard(() =>
      this.prepare<[], { data: string }>('SELECT data FROM admin_keys ORDER BY id')
        .all()
        .map((row) => JSON.parse(row.data) as StoredAdminKey),
    );
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return this.guard(() =>
      this.db
        .transaction(() => {
          const existing = parse<StoredAdminKey>(
            this.prepare<[string], { data: string }>('SELECT data FROM admin_keys WHERE id = ?').get(id),
          );
          if (!existing || existing.revokedAt !== null) return false;
          this.prepare('UPDATE admin_keys SET data = ? WHERE id = ?').run(
            JSON.stringify({ ...existing, revokedAt: at }),
            id,
          );
          return true;
        })
        .immediate(),
    );
  }
}
