// Issue 12 (scale): every query the MongoDB adapter sends is served by an index. The queries come
// from the adapter's own filter builders (mongoQueryShapes in profiles/store/mongoQueries.ts).
//  - Here, always: each query's constrained fields lead some declared index (MONGO_INDEXES), and a
//    sorted list finds its sort key right after the index's equality prefix (no in-memory sort of
//    a whole profile).
//  - Against a real server (MONGODB_URI, or a mongod on PATH): each query's winning plan, from
//    explain('queryPlanner'), has no COLLSCAN. CongoDB (the stand-in used otherwise) scans every
//    query and has no query planner, so that part is skipped there, with the reason printed.
import type { Document, IndexDescription } from 'mongodb';
import { MongoClient } from 'mongodb';
import {
  MONGO_COLLECTIONS,
  MONGO_INDEXES,
  mongoQueryShapes,
  type MongoQueryShape,
} from '../../profiles/store/mongoQueries';
import { MongoStore } from '../../profiles/store/mongoStore';
import { mongoTestTarget, startMongoForTests, type MongoForTests } from '../support/mongoServer';

type Constraint = 'eq' | 'range';
/** The fields one branch of a filter constrains (a filter with `$or` has one branch per alternative). */
type Branch = Map<string, Constraint>;

function constraintOf(value: unknown): Constraint | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'eq';
  const operators = Object.keys(value as Document);
  if (!operators.some((key) => key.startsWith('$'))) return 'eq'; // e.g. an ObjectId
  if (operators.includes('$eq') || operators.includes('$in')) return 'eq';
  const regex = (value as { $regex?: unknown }).$regex;
  if (typeof regex === 'string') return regex.startsWith('^') ? 'range' : null;
  return operators.some((key) => ['$gt', '$gte', '$lt', '$lte'].includes(key)) ? 'range' : null;
}

function cross(left: Branch[], right: Branch[]): Branch[] {
  return left.flatMap((a) => right.map((b) => new Map([...a, ...b])));
}

function branchesOf(filter: Document): Branch[] {
  let branches: Branch[] = [new Map()];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and') {
      for (const part of value as Document[]) branches = cross(branches, branchesOf(part));
    } else if (key === '$or') {
      branches = cross(
        branches,
        (value as Document[]).flatMap((part) => branchesOf(part)),
      );
    } else {
      const constraint = constraintOf(value);
      if (constraint) branches = branches.map((branch) => new Map([...branch, [key, constraint]]));
    }
  }
  return branches;
}

/** Why no declared index serves this branch, or null when one does. */
function unserved(
  branch: Branch,
  sort: string | undefined,
  indexes: readonly IndexDescription[],
): string | null {
  const keyLists = [['_id'], ...indexes.map((index) => Object.keys(index.key))];
  const leading = keyLists.filter(
    (keys) => branch.has(keys[0] as string) || (branch.size === 0 && keys[0] === sort),
  );
  if (leading.length === 0) return `no index leads with any of [${[...branch.keys()].join(', ')}]`;
  // One subject's connections are few: sorting them is fine. Anything else must come in order.
  if (sort === undefined || branch.has('subjectKey')) return null;
  const ordered = leading.some((keys) => {
    let equal = 0;
    while (equal < keys.length && branch.get(keys[equal] as string) === 'eq') equal += 1;
    return keys.slice(0, equal + 1).includes(sort);
  });
  return ordered ? null : `no index gives ${sort} order after [${[...branch.keys()].join(', ')}]`;
}

function problemsOf(shape: MongoQueryShape): string[] {
  const sort = shape.sort ? Object.keys(shape.sort)[0] : undefined;
  return branchesOf(shape.filter)
    .map((branch) => unserved(branch, sort, MONGO_INDEXES[shape.collection]))
    .filter((problem): problem is string => problem !== null);
}

const shapes = mongoQueryShapes();

describe('MongoDB adapter queries against its declared indexes (mongoQueryShapes, MONGO_INDEXES)', () => {
  test('the list covers getToken, the connection lists and counts, callbacks, expiry, audit and admin keys', () => {
    const names = shapes.map((shape) => shape.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'connection by key (getToken)',
        'connections list {"subjectKey":"user:msteams:u1"}',
        'connections list {"profileId":"hubspot"}, next page',
        'connections count {"profileId":"hubspot","subjectKind":"user","status":"active"}',
        'request by state hash (callback)',
        'expired requests (claim)',
        'audit page of a target, next',
        'admin key by hash',
      ]),
    );
  });

  test.each(shapes.map((shape) => [shape.name, shape] as const))(
    '%s: served by a declared index',
    (_name, shape) => {
      expect(problemsOf(shape)).toEqual([]);
    },
  );

  test('the check itself: a filter on an unindexed field, or a sort no index gives, is reported', () => {
    expect(problemsOf({ name: 'x', collection: 'connections', filter: { lastError: 'e' } })).toEqual([
      'no index leads with any of [lastError]',
    ]);
    expect(
      problemsOf({
        name: 'x',
        collection: 'connections',
        filter: { profileId: 'p' },
        sort: { updatedAt: 1 },
      }),
    ).toEqual(['no index gives updatedAt order after [profileId]']);
    expect(
      problemsOf({
        name: 'x',
        collection: 'connections',
        filter: { $or: [{ profileId: 'p' }, { createdBy: 'u' }] },
      }),
    ).toEqual(['no index leads with any of [createdBy]']);
  });
});

const target = mongoTestTarget();
const onRealServer = target.realServer ? describe : describe.skip;
if (!target.realServer) {
  console.log(
    'skipped: explain() of the MongoDB adapter queries needs a real MongoDB server (CongoDB, used otherwise, has no query planner and scans every query); set MONGODB_URI',
  );
}

/** Every stage name in an explain's winning plan (classic and slot-based engine layouts). */
function stagesOf(plan: unknown): string[] {
  if (plan === null || typeof plan !== 'object') return [];
  const node = plan as Record<string, unknown>;
  const own = typeof node.stage === 'string' ? [node.stage] : [];
  return [
    ...own,
    ...Object.values(node).flatMap((value) =>
      Array.isArray(value) ? value.flatMap(stagesOf) : stagesOf(value),
    ),
  ];
}

onRealServer(`MongoDB adapter queries on a real server (${target.source}): explain('queryPlanner')`, () => {
  let mongo: MongoForTests;
  let store: MongoStore;
  let client: MongoClient;
  let dbName: string;

  beforeAll(async () => {
    mongo = await startMongoForTests();
    dbName = mongo.newDatabaseName();
    // Connecting creates the collections' indexes, as at service start.
    store = await MongoStore.connect(mongo.uri, { dbName });
    client = await new MongoClient(mongo.uri).connect();
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await store?.close();
    await mongo?.stop();
  });

  test.each(shapes.map((shape) => [shape.name, shape] as const))(
    '%s: no COLLSCAN in the winning plan',
    async (_name, shape) => {
      const collection = client.db(dbName).collection(MONGO_COLLECTIONS[shape.collection]);
      const explained = (await collection
        .find(shape.filter)
        .sort(shape.sort ?? {})
        .explain('queryPlanner')) as { queryPlanner?: { winningPlan?: unknown } };
      const stages = stagesOf(explained.queryPlanner?.winningPlan);
      expect(stages.length).toBeGreaterThan(0);
      expect(stages).not.toContain('COLLSCAN');
    },
  );
});
