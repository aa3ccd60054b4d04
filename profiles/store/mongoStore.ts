// Over 400 lines on purpose: one adapter implements the whole Store contract (test/store/storeContract.ts) on one database handle and its transactions; a file per repository would only pass the handle around.
import { MongoClient, MongoServerError, ObjectId } from 'mongodb';
import type { Collection, Db, Filter } from 'mongodb';
import { AuthProfilesError } from '../errors';
import {
  adminKeyFilters,
  AUDIT_ORDER,
  auditFilters,
  CONNECTION_ORDER,
  connectionFilters,
  keyId,
  MONGO_COLLECTIONS,
  MONGO_INDEXES,
  requestFilters,
} from './mongoQueries';
import { newConnectionId, newId } from '../ids';
import {
  EXPIRED_OUTCOME,
  type AdminKeyRepository,
  type AuditEntry,
  type AuditRepository,
  type AuthorizationRequestOutcome,
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

/**
 * The store for many instances: one MongoDB database (a replica set in production).
 *
 * Every keyed record has an `_id` derived from its natural key (see `keyId`), so two inserts of the
 * same key collide on `_id` with E11000. That makes create-if-absent atomic without relying on a
 * unique secondary index alone, and it works on servers that only enforce `_id` uniqueness.
 * Compare-and-set operations are single `findOneAndUpdate`/`updateOne` calls with the condition
 * in the filter. Insert-or-update is "update, else insert, else (E11000) update again" rather than
 * `upsert: true`, because an upsert that loses a race is retried by MongoDB only in some query
 * shapes and reports the collision differently on other wire-compatible servers.
 *
 * Opaque host data (`context`, profile `document`, document `value`, audit `details`) is stored as
 * a JSON string: its keys are not ours to restrict, and MongoDB refuses `$`-prefixed or dotted
 * field names in update documents. It also makes records read back exactly as the SQLite store
 * returns them.
 */

export { keyId, MONGO_COLLECTIONS, MONGO_INDEXES };

/** Extra time before MongoDB's TTL monitor may delete an expired request or lock. */
const TTL_GRACE_MS = 60 * 60 * 1000;
const DEFAULT_DATABASE = 'authprofiles';
const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 5_000;
/** An insert-or-update loses at most one race per concurrent writer that deletes in between. */
const MAX_WRITE_ATTEMPTS = 5;

interface ConnectionDoc extends StoredConnection {
  _id: ObjectId;
}

interface AuthorizationRequestDoc extends Omit<StoredAuthorizationRequest, 'context'> {
  _id: ObjectId;
  contextJson: string;
  expireAt: Date;
}

interface LockDoc {
  _id: ObjectId;
  name: string;
  owner: string;
  expiresAt: number;
  expireAt: Date;
}

interface ProfileDoc extends Omit<StoredProfile, 'document'> {
  _id: ObjectId;
  documentJson: string;
}

interface DocumentDoc {
  _id: ObjectId;
  key: string;
  eTag: string;
  valueJson: string;
}

interface AuditDoc extends Omit<AuditEntry, 'details'> {
  _id: ObjectId;
  seq: number;
  detailsJson: string;
}

interface AdminKeyDoc extends StoredAdminKey {
  _id: ObjectId;
}

interface CounterDoc {
  _id: ObjectId;
  name: string;
  seq: number;
}

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

/** Driver messages can quote a host list or connection string; keep neither the URI nor its password. */
function redact(text: string): string {
  return text
    .replace(/mongodb(\+srv)?:\/\/[^\s'"]*/gi, 'mongodb$1://<redacted>')
    .replace(/\/\/[^\s/@'"]*@/g, '//<redacted>@');
}

function unavailable(cause: unknown): AuthProfilesError {
  const name = cause instanceof Error ? cause.name : 'Error';
  const message = cause instanceof Error ? cause.message : String(cause);
  return new AuthProfilesError('store-unavailable', 'the MongoDB store is unavailable', {
    cause: new Error(`${name}: ${redact(message)}`),
  });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}

/** Shared by the repositories: the collections, and one error policy for every call. */
class MongoContext {
  closed = false;
  readonly connections: Collection<ConnectionDoc>;
  readonly authorizationRequests: Collection<AuthorizationRequestDoc>;
  readonly locks: Collection<LockDoc>;
  readonly profiles: Collection<ProfileDoc>;
  readonly documents: Collection<DocumentDoc>;
  readonly audit: Collection<AuditDoc>;
  readonly adminKeys: Collection<AdminKeyDoc>;
  readonly counters: Collection<CounterDoc>;

  constructor(readonly db: Db) {
    this.connections = db.collection(MONGO_COLLECTIONS.connections);
    this.authorizationRequests = db.collection(MONGO_COLLECTIONS.authorizationRequests);
    this.locks = db.collection(MONGO_COLLECTIONS.locks);
    this.profiles = db.collection(MONGO_COLLECTIONS.profiles);
    this.documents = db.collection(MONGO_COLLECTIONS.documents);
    this.audit = db.collection(MONGO_COLLECTIONS.audit);
    this.adminKeys = db.collection(MONGO_COLLECTIONS.adminKeys);
    this.counters = db.collection(MONGO_COLLECTIONS.counters);
  }

  /**
   * Driver failures (network, server selection, closed client) become `store-unavailable`; a
   * duplicate key that reaches here is a caller's conflict. The driver reconnects on its own after
   * `close()`, so a closed store refuses work itself.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) throw unavailable(new Error('the store was closed'));
    try {
      return await work();
    } catch (cause) {
      if (cause instanceof AuthProfilesError) throw cause;
      if (isDuplicateKey(cause))
        throw new AuthProfilesError('conflict', 'a record with this key already exists');
      throw unavailable(cause);
    }
  }
}

export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  readonly connections: ConnectionRepository;
  readonly authorizationRequests: AuthorizationRequestRepository;
  readonly locks: LockRepository;
  readonly profiles: ProfileRepository;
  readonly documents: DocumentRepository;
  readonly audit: AuditRepository;
  readonly adminKeys: AdminKeyRepository;
  private readonly context: MongoContext;

  private constructor(
    private readonly client: MongoClient,
    db: Db,
  ) {
    this.context = new MongoContext(db);
    this.connections = new MongoConnections(this.context);
    this.authorizationRequests = new MongoAuthorizationRequests(this.context);
    this.locks = new MongoLocks(this.context);
    this.profiles = new MongoProfiles(this.context);
    this.documents = new MongoDocuments(this.context);
    this.audit = new MongoAudit(this.context);
    this.adminKeys = new MongoAdminKeys(this.context);
  }

  /**
   * Connects and creates the indexes. The database is `options.dbName`, else the one named in the
   * URI path, else `authprofiles`.
   */
  static async connect(
    uri: string,
    options: { dbName?: string; serverSelectionTimeoutMS?: number } = {},
  ): Promise<MongoStore> {
    let client: MongoClient;
    try {
      client = new MongoClient(uri, {
        // Optional fields left undefined must be absent, as in the SQLite store's JSON, not null.
        ignoreUndefined: true,
        serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
        appName: 'authprofiles',
      });
    } catch {
      // The parser's message may quote the connection string, password included.
      throw new AuthProfilesError(
        'invalid-configuration',
        'MONGODB_URI is not a valid MongoDB connection string',
      );
    }
    try {
      await client.connect();
      const store = new MongoStore(
        client,
        client.db(options.dbName ?? databaseFromUri(uri) ?? DEFAULT_DATABASE),
      );
      await store.ensureIndexes();
      return store;
    } catch (cause) {
      await client.close().catch(() => undefined);
      if (cause instanceof AuthProfilesError) throw cause;
      throw unavailable(cause);
    }
  }

  /** Idempotent: creating an index that exists with the same options is a no-op in MongoDB. */
  async ensureIndexes(): Promise<void> {
    await this.context.run(async () => {
      for (const [name, indexes] of Object.entries(MONGO_INDEXES)) {
        if (indexes.length > 0) await this.context.db.collection(name).createIndexes(indexes);
      }
    });
  }

  async ping(): Promise<void> {
    await this.context.run(() => this.context.db.command({ ping: 1 }));
  }

  async close(): Promise<void> {
    if (this.context.closed) return;
    this.context.closed = true;
    await this.client.close();
  }
}

function databaseFromUri(uri: string): string | undefined {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]+)/i.exec(uri)?.[1];
  return path ? decodeURIComponent(path) : undefined;
}

function toConnection(doc: ConnectionDoc): StoredConnection {
  const { _id: _ignored, ...record } = doc;
  return record;
}

class MongoConnections implements ConnectionRepository {
  constructor(private readonly mongo: MongoContext) {}

  async get(profileId: string, subjectKey: string): Promise<StoredConnection | null> {
    return this.mongo.run(async () => {
      const doc = await this.mongo.connections.findOne(connectionFilters.byKey(profileId, subjectKey));
      return doc ? toConnection(doc) : null;
    });
  }

  async getById(id: string): Promise<StoredConnection | null> {
    return this.mongo.run(async () => {
      const doc = await this.mongo.connections.findOne(connectionFilters.byId(id));
      return doc ? toConnection(doc) : null;
    });
  }

  async upsert(input: Omit<StoredConnection, 'id' | 'version'> & { id?: string }): Promise<StoredConnection> {
    // Time-ordered (profiles/ids.ts): documents are stored in insertion order, so the admin list's
    // pages (sorted by id) read neighbouring documents.
    const newRecordId = input.id ?? newConnectionId(input.createdAt);
    return this.mongo.run(async () => {
      const { id: _requestedId, ...fields } = input;
      const { _id } = connectionFilters.byKey(input.profileId, input.subjectKey);
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        const replaced = await this.mongo.connections.findOneAndUpdate(
          { _id },
          { $set: fields, $inc: { version: 1 } },
          { returnDocument: 'after' },
        );
        if (replaced) return toConnection(replaced);
        const record: StoredConnection = { ...fields, id: newRecordId, version: 1 };
        try {
          await this.mongo.connections.insertOne({ _id, ...record });
          return record;
        } catch (error) {
          // Lost the race to another writer of this key (retry as a replacement); a collision on
          // the `id` index instead is a real conflict and surfaces as one.
          if (!isDuplicateKey(error) || !(await this.mongo.connections.findOne({ _id }))) throw error;
        }
      }
      throw new AuthProfilesError('conflict', 'the connection changed too often to be written');
    });
  }

  async update(
    id: string,
    expectedVersion: number,
    patch: Partial<Omit<StoredConnection, 'id' | 'version'>>,
  ): Promise<StoredConnection | null> {
    return this.mongo.run(async () => {
      // The `_id` is derived from (profileId, subjectKey): those are matched, never set, since a
      // connection cannot move. `id` and `version` belong to the store.
      const { profileId, subjectKey, ...changes } = withoutUndefined(patch) as Partial<StoredConnection>;
      delete changes.id;
      delete changes.version;
      delete (changes as { _id?: unknown })._id;
      const filter: Filter<ConnectionDoc> = connectionFilters.byIdAndVersion(id, expectedVersion);
      if (profileId !== undefined) filter.profileId = profileId;
      if (subjectKey !== undefined) filter.subjectKey = subjectKey;
      const updated = await this.mongo.connections.findOneAndUpdate(
        filter,
        Object.keys(changes).length > 0 ? { $set: changes, $inc: { version: 1 } } : { $inc: { version: 1 } },
        { returnDocument: 'after' },
      );
      if (updated) return toConnection(updated);
      if (profileId !== undefined || subjectKey !== undefined) {
        const current = await this.mongo.connections.findOne(
          connectionFilters.byIdAndVersion(id, expectedVersion),
        );
        if (current)
          throw new AuthProfilesError('conflict', 'a connection cannot move to another profile or subject');
      }
      return null;
    });
  }

  async updateMany(
    filter: ConnectionFilter,
    patch: Partial<Pick<StoredConnection, 'status' | 'lastError' | 'updatedAt'>>,
  ): Promise<number> {
    return this.mongo.run(async () => {
      const changes = withoutUndefined(patch);
      const result = await this.mongo.connections.updateMany(
        connectionFilters.matching(filter),
        Object.keys(changes).length > 0 ? { $set: changes, $inc: { version: 1 } } : { $inc: { version: 1 } },
      );
      return result.matchedCount;
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.mongo.run(
      async () => (await this.mongo.connections.deleteOne(connectionFilters.byId(id))).deletedCount > 0,
    );
  }

  async list(filter: ConnectionFilter, page: { limit: number; after?: string }): Promise<StoredConnection[]> {
    // MongoDB reads limit 0 as "no limit".
    if (page.limit <= 0) return [];
    return this.mongo.run(async () => {
      const docs = await this.mongo.connections
        .find(connectionFilters.matching(filter, page.after))
        .sort(CONNECTION_ORDER)
        .limit(page.limit)
        .toArray();
      return docs.map(toConnection);
    });
  }

  async count(filter: ConnectionFilter): Promise<number> {
    return this.mongo.run(() => this.mongo.connections.countDocuments(connectionFilters.matching(filter)));
  }
}

function requestId(id: string): ObjectId {
  return keyId(MONGO_COLLECTIONS.authorizationRequests, id);
}

function toRequest(doc: AuthorizationRequestDoc): StoredAuthorizationRequest {
  const { _id: _ignored, contextJson, expireAt: _expireAt, ...record } = doc;
  return { ...record, context: JSON.parse(contextJson) as Record<string, unknown> };
}

class MongoAuthorizationRequests implements AuthorizationRequestRepository {
  constructor(private readonly mongo: MongoContext) {}

  async create(request: StoredAuthorizationRequest): Promise<void> {
    await this.mongo.run(async () => {
      const { context, ...fields } = request;
      await this.mongo.authorizationRequests.insertOne({
        _id: requestId(request.id),
        ...fields,
        contextJson: JSON.stringify(context),
        expireAt: new Date(request.expiresAt + TTL_GRACE_MS),
      });
    });
  }

  async get(id: string): Promise<StoredAuthorizationRequest | null> {
    return this.mongo.run(async () => {
      const doc = await this.mongo.authorizationRequests.findOne({ _id: requestId(id) });
      return doc ? toRequest(doc) : null;
    });
  }

  async findByStateHash(stateHash: string): Promise<StoredAuthorizationRequest | null> {
    return this.mongo.run(async () => {
      const doc = await this.mongo.authorizationRequests.findOne(requestFilters.byStateHash(stateHash));
      return doc ? toRequest(doc) : null;
    });
  }

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
    return this.mongo.run(async () => {
      const doc = await this.mongo.authorizationRequests.findOneAndUpdate(
        {
          _id: requestId(id),
          expiresAt: { $gt: now },
          $or: [{ status: 'created' }, { status: 'started', bindingHash: start.bindingHash }],
        },
        {
          $set: {
            stateHash: start.stateHash,
            bindingHash: start.bindingHash,
            codeVerifier: start.codeVerifier,
            nonceHash: start.nonceHash,
            startedAt: start.startedAt,
            status: 'started',
          },
        },
        { returnDocument: 'after' },
      );
      return doc ? toRequest(doc) : null;
    });
  }

  async consume(id: string, stateHash: string, now: number): Promise<StoredAuthorizationRequest | null> {
    return this.mongo.run(async () => {
      const doc = await this.mongo.authorizationRequests.findOneAndUpdate(
        { _id: requestId(id), status: 'started', stateHash },
        { $set: { status: 'consumed', consumedAt: now } },
        { returnDocument: 'after' },
      );
      return doc ? toRequest(doc) : null;
    });
  }

  async complete(id: string, outcome: AuthorizationRequestOutcome | null): Promise<void> {
    await this.mongo.run(async () => {
      await this.mongo.authorizationRequests.updateOne(
        { _id: requestId(id) },
        { $set: { status: 'completed', outcome } },
      );
    });
  }

  async deleteExpired(before: number): Promise<number> {
    return this.mongo.run(
      async () =>
        (await this.mongo.authorizationRequests.deleteMany(requestFilters.expiredBefore(before)))
          .deletedCount,
    );
  }

  async claimExpired(now: number, limit: number): Promise<StoredAuthorizationRequest[]> {
    return this.mongo.run(async () => {
      const claimed: StoredAuthorizationRequest[] = [];
      // One findOneAndUpdate per request: each is atomic, so two instances never claim the same one.
      while (claimed.length < limit) {
        const doc = await this.mongo.authorizationRequests.findOneAndUpdate(
          requestFilters.claimable(now),
          { $set: { status: 'completed', outcome: { ...EXPIRED_OUTCOME } } },
          { returnDocument: 'after' },
        );
        if (!doc) break;
        claimed.push(toRequest(doc));
      }
      return claimed;
    });
  }
}

class MongoLocks implements LockRepository {
  constructor(private readonly mongo: MongoContext) {}

  async acquire(name: string, owner: string, ttlMs: number, now: number): Promise<boolean> {
    return this.mongo.run(async () => {
      const _id = keyId(MONGO_COLLECTIONS.locks, name);
      const lease = { name, owner, expiresAt: now + ttlMs, expireAt: new Date(now + ttlMs + TTL_GRACE_MS) };
      const taken = await this.mongo.locks.updateOne(
        { _id, $or: [{ expiresAt: { $lte: now } }, { owner }] },
        { $set: lease },
      );
      if (taken.matchedCount > 0) return true;
      try {
        await this.mongo.locks.insertOne({ _id, ...lease });
        return true;
      } catch (error) {
        // Someone else holds it (or won the race to create it).
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    });
  }

  async release(name: string, owner: string): Promise<void> {
    await this.mongo.run(() =>
      this.mongo.locks.deleteOne({ _id: keyId(MONGO_COLLECTIONS.locks, name), owner }),
    );
  }
}

function toProfile(doc: ProfileDoc): StoredProfile {
  const { _id: _ignored, documentJson, ...record } = doc;
  return { ...record, document: JSON.parse(documentJson) as Record<string, unknown> };
}

class MongoProfiles implements ProfileRepository {
  constructor(private readonly mongo: MongoContext) {}

  async get(id: string): Promise<StoredProfile | null> {
    return this.mongo.run(async () => {
      const doc = await this.mongo.profiles.findOne({ _id: keyId(MONGO_COLLECTIONS.profiles, id) });
      return doc ? toProfile(doc) : null;
    });
  }

  async list(): Promise<StoredProfile[]> {
    return this.mongo.run(async () =>
      (await this.mongo.profiles.find({}).sort({ id: 1 }).toArray()).map(toProfile),
    );
  }

  async put(profile: Omit<StoredProfile, 'version'>, expectedVersion: number): Promise<StoredProfile | null> {
    return this.mongo.run(async () => {
      const _id = keyId(MONGO_COLLECTIONS.profiles, profile.id);
      const { document, ...fields } = profile;
      const record = { ...fields, documentJson: JSON.stringify(document), version: expectedVersion + 1 };
      if (expectedVersion === 0) {
        try {
          await this.mongo.profiles.insertOne({ _id, ...record });
        } catch (error) {
          if (isDuplicateKey(error)) return null;
          throw error;
        }
        return toProfile({ _id, ...record });
      }
      const updated = await this.mongo.profiles.findOneAndUpdate(
        { _id, version: expectedVersion },
        { $set: record },
        { returnDocument: 'after' },
      );
      return updated ? toProfile(updated) : null;
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.mongo.run(
      async () =>
        (await this.mongo.profiles.deleteOne({ _id: keyId(MONGO_COLLECTIONS.profiles, id) })).deletedCount >
        0,
    );
  }
}

function documentId(key: string): ObjectId {
  return keyId(MONGO_COLLECTIONS.documents, key);
}

class MongoDocuments implements DocumentRepository {
  constructor(private readonly mongo: MongoContext) {}

  async read(keys: readonly string[]): Promise<Map<string, StoredDocument>> {
    return this.mongo.run(async () => {
      const found = new Map<string, StoredDocument>();
      if (keys.length === 0) return found;
      const docs = await this.mongo.documents.find({ _id: { $in: keys.map(documentId) } }).toArray();
      for (const doc of docs) {
        found.set(doc.key, { eTag: doc.eTag, value: JSON.parse(doc.valueJson) as Record<string, unknown> });
      }
      return found;
    });
  }

  async write(
    key: string,
    value: Record<string, unknown>,
    expectedETag: string | undefined,
  ): Promise<string | null> {
    return this.mongo.run(async () => {
      const _id = documentId(key);
      const eTag = newId('etag');
      const fields = { key, eTag, valueJson: JSON.stringify(value) };
      if (expectedETag !== undefined && expectedETag !== '*') {
        const changed = await this.mongo.documents.updateOne({ _id, eTag: expectedETag }, { $set: fields });
        return changed.matchedCount > 0 ? eTag : null;
      }
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        if ((await this.mongo.documents.updateOne({ _id }, { $set: fields })).matchedCount > 0) return eTag;
        try {
          await this.mongo.documents.insertOne({ _id, ...fields });
          return eTag;
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
        }
      }
      throw new AuthProfilesError('conflict', 'the document changed too often to be written');
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.mongo.run(() => this.mongo.documents.deleteMany({ _id: { $in: keys.map(documentId) } }));
  }
}

function auditId(id: string): ObjectId {
  return keyId(MONGO_COLLECTIONS.audit, id);
}

function toAuditEntry(doc: AuditDoc): AuditEntry {
  const { _id: _ignored, seq: _seq, detailsJson, ...entry } = doc;
  return { ...entry, details: JSON.parse(detailsJson) as AuditEntry['details'] };
}

class MongoAudit implements AuditRepository {
  constructor(private readonly mongo: MongoContext) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.mongo.run(async () => {
      const { details, ...fields } = entry;
      const seq = await this.nextSeq();
      await this.mongo.audit.insertOne({
        _id: auditId(entry.id),
        ...fields,
        seq,
        detailsJson: JSON.stringify(details),
      });
    });
  }

  /**
   * Newest-first needs a total order across instances; client clocks and client-made ObjectIds
   * do not give one, a server-side counter does.
   */
  private async nextSeq(): Promise<number> {
    const _id = keyId(MONGO_COLLECTIONS.counters, 'audit');
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const counter = await this.mongo.counters.findOneAndUpdate(
        { _id },
        { $inc: { seq: 1 } },
        { returnDocument: 'after' },
      );
      if (counter) return counter.seq;
      try {
        await this.mongo.counters.insertOne({ _id, name: 'audit', seq: 1 });
        return 1;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    }
    throw new AuthProfilesError('conflict', 'could not allocate an audit sequence number');
  }

  async list(page: { limit: number; before?: string; target?: string }): Promise<AuditEntry[]> {
    if (page.limit <= 0) return [];
    return this.mongo.run(async () => {
      let beforeSeq: number | undefined;
      if (page.before !== undefined) {
        const cursor = await this.mongo.audit.findOne(
          { _id: auditId(page.before) },
          { projection: { seq: 1 } },
        );
        // An unknown cursor has nothing before it, as in the SQLite store.
        if (!cursor) return [];
        beforeSeq = cursor.seq;
      }
      const docs = await this.mongo.audit
        .find(auditFilters.page(beforeSeq, page.target))
        .sort(AUDIT_ORDER)
        .limit(page.limit)
        .toArray();
      return docs.map(toAuditEntry);
    });
  }
}

function toAdminKey(doc: AdminKeyDoc): StoredAdminKey {
  const { _id: _ignored, ...key } = doc;
  return key;
}

class MongoAdminKeys implements AdminKeyRepository {
  constructor(private readonly mongo: MongoContext) {}

  async create(key: StoredAdminKey): Promise<void> {
    await this.mongo.run(() =>
      this.mongo.adminKeys.insertOne({ _id: keyId(MONGO_COLLECTIONS.adminKeys, key.id), ...key }),
    );
  }

  async findByHash(keyHash: string): Promise<StoredAdminKey | null> {
    return this.mongo.run(async () => {
      const doc = await this.mongo.adminKeys.findOne(adminKeyFilters.byHash(keyHash));
      return doc ? toAdminKey(doc) : null;
    });
  }

  async list(): Promise<StoredAdminKey[]> {
    return this.mongo.run(async () =>
      (await this.mongo.adminKeys.find({}).sort({ id: 1 }).toArray()).map(toAdminKey),
    );
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return this.mongo.run(async () => {
      const result = await this.mongo.adminKeys.updateOne(
        { _id: keyId(MONGO_COLLECTIONS.adminKeys, id), revokedAt: null },
        { $set: { revokedAt: at } },
      );
      return result.modifiedCount > 0;
    });
  }
}
