import { createHash } from 'node:crypto';
import { ObjectId } from 'mongodb';
import type { Document, IndexDescription } from 'mongodb';
import { ABANDONED_EXCHANGE_MS, type ConnectionFilter } from './types';

/**
 * The MongoDB adapter's collections, indexes and every query filter it sends (mongoStore.ts builds
 * its filters with these functions). `mongoQueryShapes()` lists one instance of each, so a test can
 * check each against the declared indexes here and explain each on a real server
 * (test/store/mongoQueryPlans.test.ts): no query may need a collection scan (issue 12).
 */

export const MONGO_COLLECTIONS = {
  connections: 'connections',
  authorizationRequests: 'authorizationRequests',
  locks: 'locks',
  profiles: 'profiles',
  documents: 'documents',
  audit: 'audit',
  adminKeys: 'adminKeys',
  counters: 'counters',
} as const;

export type MongoCollectionName = keyof typeof MONGO_COLLECTIONS;

/** The indexes a real deployment needs, per collection; `_id` is implicit. */
export const MONGO_INDEXES: Record<MongoCollectionName, IndexDescription[]> = {
  connections: [
    { key: { profileId: 1, subjectKey: 1 }, name: 'profileId_subjectKey_unique', unique: true },
    { key: { id: 1 }, name: 'id_unique', unique: true },
    { key: { status: 1, id: 1 }, name: 'status_id' },
    // Admin lists of one profile, in id order, without sorting the profile's connections in memory.
    { key: { profileId: 1, id: 1 }, name: 'profileId_id' },
    // Counts by profile, status and subject kind (admin profile pages) read the index alone.
    { key: { profileId: 1, status: 1, subjectKey: 1 }, name: 'profileId_status_subjectKey' },
    // A user's connections across profiles (token service GetTokenStatus and SignOut, chat).
    { key: { subjectKey: 1 }, name: 'subjectKey' },
  ],
  authorizationRequests: [
    // Unset until the browser opens the start link, so only string values must be unique.
    {
      key: { stateHash: 1 },
      name: 'stateHash_unique',
      unique: true,
      partialFilterExpression: { stateHash: { $type: 'string' } },
    },
    { key: { expiresAt: 1 }, name: 'expiresAt' },
    // Abandoned requests disappear even if nobody calls deleteExpired.
    { key: { expireAt: 1 }, name: 'expireAt_ttl', expireAfterSeconds: 0 },
  ],
  locks: [{ key: { expireAt: 1 }, name: 'expireAt_ttl', expireAfterSeconds: 0 }],
  profiles: [],
  documents: [],
  audit: [
    { key: { seq: -1 }, name: 'seq_unique', unique: true },
    { key: { target: 1, seq: -1 }, name: 'target_seq' },
  ],
  adminKeys: [{ key: { keyHash: 1 }, name: 'keyHash_unique', unique: true }],
  counters: [],
};

/**
 * A deterministic ObjectId for a natural key. Not a string `_id`: some wire-compatible servers
 * reject those, and an ObjectId keeps the primary index compact. The parts are JSON-encoded so
 * that no separator inside a key part can make two different keys hash alike.
 */
export function keyId(collection: string, ...key: string[]): ObjectId {
  const digest = createHash('sha256')
    .update(JSON.stringify([collection, ...key]), 'utf8')
    .digest('hex');
  return new ObjectId(digest.slice(0, 24));
}

/** A literal for a regular expression (subject keys hold `.` and `%`). */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export const CONNECTION_ORDER = { id: 1 } as const;
export const AUDIT_ORDER = { seq: -1 } as const;

export const connectionFilters = {
  byKey: (profileId: string, subjectKey: string) => ({
    _id: keyId(MONGO_COLLECTIONS.connections, profileId, subjectKey),
  }),
  byId: (id: string) => ({ id }),
  byIdAndVersion: (id: string, version: number) => ({ id, version }),
  /** Lists, counts and updateMany; `after` continues a list in id order. */
  matching(filter: ConnectionFilter, after?: string): Document {
    const clauses: Document[] = [];
    if (filter.profileId !== undefined) clauses.push({ profileId: filter.profileId });
    if (filter.status !== undefined) clauses.push({ status: filter.status });
    if (filter.subjectKey !== undefined) clauses.push({ subjectKey: filter.subjectKey });
    if (filter.subject !== undefined) {
      // Anchored prefix regexes: MongoDB turns them into index bounds on subjectKey.
      clauses.push({
        $or: [{ subjectKey: filter.subject }, { subjectKey: { $regex: `^${escapeRegex(filter.subject)}#` } }],
      });
    }
    if (filter.subjectKind === 'org') clauses.push({ subjectKey: { $regex: '^org(#|$)' } });
    if (filter.subjectKind === 'user') clauses.push({ subjectKey: { $regex: '^user:' } });
    if (after !== undefined) clauses.push({ id: { $gt: after } });
    return clauses.length > 0 ? { $and: clauses } : {};
  },
};

export const requestFilters = {
  byStateHash: (stateHash: string) => ({ stateHash }),
  expiredBefore: (before: number) => ({ expiresAt: { $lt: before } }),
  claimable: (now: number): Document => ({
    expiresAt: { $lte: now },
    $or: [
      { status: { $in: ['created', 'started'] } },
      // Consumed but never completed: the process died mid-exchange (SECURITY.md #25).
      { status: 'consumed', consumedAt: { $lte: now - ABANDONED_EXCHANGE_MS } },
    ],
  }),
};

export const auditFilters = {
  page(beforeSeq: number | undefined, target: string | undefined): Document {
    const filter: Document = {};
    if (beforeSeq !== undefined) filter.seq = { $lt: beforeSeq };
    if (target !== undefined) filter.target = target;
    return filter;
  },
};

export const adminKeyFilters = {
  byHash: (keyHash: string) => ({ keyHash }),
};

/** One query the adapter sends, with example values. */
export interface MongoQueryShape {
  name: string;
  collection: MongoCollectionName;
  filter: Document;
  sort?: Record<string, 1 | -1>;
}

/**
 * The connection filters the engine, the admin pages and API, and the token service pass to
 * list/count/updateMany (profiles/engine.ts, bot/admin, bot/tokenService, connectionNames.ts).
 */
const LISTED: ConnectionFilter[] = [
  {},
  { profileId: 'hubspot' },
  { profileId: 'hubspot', status: 'active' },
  { profileId: 'hubspot', subjectKind: 'user' },
  { profileId: 'hubspot', subjectKind: 'user', status: 'active' },
  { status: 'revoked' },
  { subjectKey: 'user:msteams:u1' },
  { subject: 'user:msteams:u1' },
  { profileId: 'hubspot', subject: 'user:msteams:u1' },
];

const COUNTED: ConnectionFilter[] = [
  { profileId: 'hubspot' },
  { profileId: 'hubspot', status: 'active' },
  { profileId: 'hubspot', subjectKind: 'user', status: 'active' },
  { profileId: 'hubspot', subjectKind: 'org' },
];

/**
 * Every filter the adapter sends outside `_id` lookups, plus one `_id` lookup per kind. Left out on
 * purpose: `find({})` of the profiles and admin keys, which read those small collections whole.
 */
export function mongoQueryShapes(): MongoQueryShape[] {
  const now = 1_760_000_000_000;
  return [
    {
      name: 'connection by key (getToken)',
      collection: 'connections',
      filter: connectionFilters.byKey('hubspot', 'user:msteams:u1'),
    },
    { name: 'connection by id', collection: 'connections', filter: connectionFilters.byId('con_x') },
    {
      name: 'connection compare-and-set',
      collection: 'connections',
      filter: connectionFilters.byIdAndVersion('con_x', 3),
    },
    ...LISTED.flatMap((filter): MongoQueryShape[] => [
      {
        name: `connections list ${JSON.stringify(filter)}`,
        collection: 'connections',
        filter: connectionFilters.matching(filter),
        sort: CONNECTION_ORDER,
      },
      {
        name: `connections list ${JSON.stringify(filter)}, next page`,
        collection: 'connections',
        filter: connectionFilters.matching(filter, 'con_x'),
        sort: CONNECTION_ORDER,
      },
    ]),
    ...COUNTED.map((filter): MongoQueryShape => ({
      name: `connections count ${JSON.stringify(filter)}`,
      collection: 'connections',
      filter: connectionFilters.matching(filter),
    })),
    {
      name: 'request by id',
      collection: 'authorizationRequests',
      filter: { _id: keyId(MONGO_COLLECTIONS.authorizationRequests, 'ar_x') },
    },
    {
      name: 'request by state hash (callback)',
      collection: 'authorizationRequests',
      filter: requestFilters.byStateHash('h'),
    },
    {
      name: 'expired requests (delete)',
      collection: 'authorizationRequests',
      filter: requestFilters.expiredBefore(now),
    },
    {
      name: 'expired requests (claim)',
      collection: 'authorizationRequests',
      filter: requestFilters.claimable(now),
    },
    {
      name: 'audit page',
      collection: 'audit',
      filter: auditFilters.page(undefined, undefined),
      sort: AUDIT_ORDER,
    },
    {
      name: 'audit page, next',
      collection: 'audit',
      filter: auditFilters.page(42, undefined),
      sort: AUDIT_ORDER,
    },
    {
      name: 'audit page of a target',
      collection: 'audit',
      filter: auditFilters.page(undefined, 'profile:hubspot'),
      sort: AUDIT_ORDER,
    },
    {
      name: 'audit page of a target, next',
      collection: 'audit',
      filter: auditFilters.page(42, 'profile:hubspot'),
      sort: AUDIT_ORDER,
    },
    { name: 'admin key by hash', collection: 'adminKeys', filter: adminKeyFilters.byHash('h') },
  ];
}
