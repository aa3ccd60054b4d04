// The store sections' measuring processes, started by storeScale.ts (one fresh process per phase, so
// no earlier phase's garbage sits in the RSS it reports). Prints one JSON line on stdout.
//   writes <n>          store n connections one by one through saveConnection, then read them back
//   build <n> <dir>     build a store of n real sealed connections in <dir>, in bulk; check its query plans
//   read <n> <dir> <ops> [warm]  getToken and list figures on that store, and the RSS after them;
//                       with `warm`, the database file is read once first, so it is all in the page cache
import Database from 'better-sqlite3';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { newConnectionRecord, saveConnection } from '../../profiles/connections';
import { silentLogger } from '../../profiles/engineContext';
import { newConnectionId, timeOfId } from '../../profiles/ids';
import type { Profile } from '../../profiles/profileCatalog';
import { SqliteStore } from '../../profiles/store/sqliteStore';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { createHarness, type Harness } from '../support/engineHarness';
import { fullScans, queryPlan, recordStatements } from '../support/sqlitePlans';
import { mb, OFFLINE_PROFILE, peakRssMb, round, timeCalls, tokenSet } from './benchFigures';

const subjectOf = (i: number): Subject => ({ kind: 'user', channelId: 'bench', userId: `u${i}` });
const CONNECTION_OPTIONS = { createdBy: 'user:bench', requireVerification: false };
const PAGE = 50;
const BUILD_BATCH = 10_000;

function keys(): string {
  const spec = process.env.BENCH_ENCRYPTION_KEYS;
  if (!spec) throw new Error('BENCH_ENCRYPTION_KEYS is not set (storeScale.ts sets it)');
  return spec;
}

async function open(dir?: string): Promise<{ harness: Harness; profile: Profile }> {
  const harness = await createHarness({
    profiles: [OFFLINE_PROFILE],
    encryptionKeys: keys(),
    ...(dir ? { dir } : {}),
  });
  harness.context.log = silentLogger;
  return { harness, profile: await harness.engine.catalog.get('bench') };
}

/** (c) n connections stored one by one (seal + upsert, one commit each), then read back. */
async function writes(n: number) {
  const { harness, profile } = await open();
  try {
    const rssStart = process.memoryUsage().rss;
    const now = harness.clock();
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < n; i += 1) {
      await saveConnection(
        harness.context,
        profile,
        subjectKey(subjectOf(i)),
        tokenSet(String(i), now),
        CONNECTION_OPTIONS,
      );
    }
    const storeSeconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const rssAfterStore = process.memoryUsage().rss;
    const readStarted = performance.now();
    let usable = 0;
    for (let i = 0; i < n; i += 1) {
      const result = await harness.engine.getToken(profile, subjectOf(i));
      if (result.ok && result.accessToken.startsWith(`bench-access-${i}-`)) usable += 1;
    }
    let listed = 0;
    let after: string | undefined;
    for (;;) {
      const page = await harness.store.connections.list(
        {},
        after === undefined ? { limit: 1000 } : { limit: 1000, after },
      );
      listed += page.length;
      if (page.length < 1000) break;
      after = page[page.length - 1]?.id;
    }
    const readSeconds = (performance.now() - readStarted) / 1000;
    const rssAfterRead = process.memoryUsage().rss;
    (globalThis as { gc?: () => void }).gc?.();
    const activity = harness.engine.tokens.activity();
    return {
      connections: n,
      storeSeconds: round(storeSeconds, 2),
      writesPerSecond: Math.round(n / storeSeconds),
      cpuUsPerWrite: round((used.user + used.system) / n),
      readSeconds: round(readSeconds, 2),
      usableViaGetToken: usable,
      listedInPages: listed,
      rssStartMb: mb(rssStart),
      rssAfterStoreMb: mb(rssAfterStore),
      rssAfterReadMb: mb(rssAfterRead),
      rssAfterGcMb: mb(process.memoryUsage().rss),
      heapUsedAfterGcMb: mb(process.memoryUsage().heapUsed),
      peakRssMb: peakRssMb(),
      tokenServiceInFlight: activity.inFlight,
      tokenServiceUnsaved: activity.unsaved,
      tokenServiceOpenedAccessTokens: activity.openedAccessTokens,
    };
  } finally {
    await harness.close();
  }
}

/**
 * A store of n connections, each the record saveConnection stores (newConnectionRecord: tokens
 * sealed with AES-256-GCM under their own AAD), written through the adapter's upsert statement in
 * transactions of 10,000 (SqliteStore.connections.upsertMany) instead of one commit each.
 */
async function build(n: number, dir: string) {
  const { harness, profile } = await open(dir);
  try {
    const store = harness.store as SqliteStore;
    const now = harness.clock();
    const started = performance.now();
    for (let from = 0; from < n; from += BUILD_BATCH) {
      const batch = [];
      for (let i = from; i < Math.min(n, from + BUILD_BATCH); i += 1) {
        batch.push(
          newConnectionRecord(
            harness.context,
            profile,
            subjectKey(subjectOf(i)),
            tokenSet(String(i), now),
            CONNECTION_OPTIONS,
          ).record,
        );
      }
      await store.connections.upsertMany(batch);
    }
    const buildSeconds = round((performance.now() - started) / 1000, 1);
    const count = await store.connections.count({});
    return {
      connections: count,
      buildSeconds,
      fullScans: await planCheck(join(dir, 'authprofiles.db'), profile),
    };
  } finally {
    await harness.close();
  }
}

/** The statements the read phase runs, recorded from the adapter and explained on this file. */
async function planCheck(file: string, profile: Profile): Promise<string[]> {
  const recorder = recordStatements();
  const store = new SqliteStore(file);
  try {
    const key = subjectKey(subjectOf(1));
    await store.connections.get(profile.id, key);
    await store.connections.list({ profileId: profile.id }, { limit: PAGE + 1, after: 'con_M' });
    await store.connections.list({ subject: key }, { limit: 200 });
    await store.connections.list({ subjectKey: key }, { limit: 500 });
    await store.connections.count({ profileId: profile.id, subjectKind: 'user', status: 'revoked' });
    return recorder
      .take()
      .flatMap((statement) =>
        fullScans(queryPlan(file, statement)).map((line) => `${statement.sql}: ${line}`),
      );
  } finally {
    recorder.stop();
    await store.close();
  }
}

/** A random sample of k distinct indexes below n (Floyd's algorithm), in random order. */
function sample(n: number, k: number): number[] {
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j += 1) {
    const t = Math.floor(Math.random() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort(() => Math.random() - 0.5);
}

/**
 * The span of creation times of the store's connection ids (time-ordered, profiles/ids.ts), from
 * the ends of the id index, on a connection of its own that is closed before anything is measured.
 */
function idTimes(file: string): { from: number; to: number } {
  const db = new Database(file, { readonly: true });
  try {
    const ends = db.prepare('SELECT min(id) AS first, max(id) AS last FROM connections').get() as {
      first: string | null;
      last: string | null;
    };
    const from = timeOfId(ends.first ?? '');
    const to = timeOfId(ends.last ?? '');
    if (from === null || to === null)
      throw new Error(`storeChild: connection ids are not time-ordered (${ends.first} … ${ends.last})`);
    return { from, to };
  } finally {
    db.close();
  }
}

/**
 * A random position in the admin list: an id made at a random time of the build, as production
 * makes them. The build writes at a steady rate, so a uniform time is a uniform position; a random
 * base64url string (as before the ids were time-ordered) would fall before or after every id.
 */
const randomAfter = ({ from, to }: { from: number; to: number }): string =>
  newConnectionId(from + Math.floor(Math.random() * (to - from + 1)));

/**
 * Reads the database file once, start to end, so every page of it is in the OS page cache: the
 * machine may have dropped pages left untouched for a while (this VM's kernel pages out memory idle
 * for about a minute), and a read of a dropped page waits for the disk.
 */
function readWholeFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    while (readSync(fd, buffer, 0, buffer.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * getToken on valid tokens of distinct random subjects (so the cache of opened tokens never helps),
 * admin list pages of the profile at random positions, and a user's connections across profiles.
 */
async function read(n: number, dir: string, ops: number, warm: boolean) {
  if (warm) readWholeFile(join(dir, 'authprofiles.db'));
  const times = idTimes(join(dir, 'authprofiles.db'));
  const { harness, profile } = await open(dir);
  try {
    const rssStart = process.memoryUsage().rss;
    const picks = sample(n, Math.min(n, ops + 1_000));
    const warmup = picks.slice(0, 1_000);
    const measured = picks.slice(1_000);
    const getToken = async (i: number) => {
      const result = await harness.engine.getToken(profile, subjectOf(i));
      if (!result.ok || !result.accessToken.startsWith(`bench-access-${i}-`))
        throw new Error(`connection ${i} unusable`);
    };
    const listPage = () =>
      harness.engine.listConnections(
        { profileId: profile.id },
        { limit: PAGE + 1, after: randomAfter(times) },
      );
    const ofUser = (i: number) => harness.engine.connectionsOf(subjectOf(i));
    for (const i of warmup) await getToken(i);
    for (let i = 0; i < 200; i += 1) await listPage();
    for (const i of warmup.slice(0, 500)) await ofUser(i);
    // Blocks read from the disk (not the page cache) and waits for it, during the measured reads.
    const before = process.resourceUsage();
    const tokenSamples: number[] = [];
    const tokenSeconds = await timeCalls(
      measured.length,
      (j) => getToken(measured[j] as number),
      tokenSamples,
    );
    const listSamples: number[] = [];
    const listSeconds = await timeCalls(Math.floor(ops / 5), listPage, listSamples);
    const userSamples: number[] = [];
    const userSeconds = await timeCalls(
      Math.floor(ops / 5),
      (j) => ofUser(measured[j] as number),
      userSamples,
    );
    const rssAfterRead = process.memoryUsage().rss;
    const after = process.resourceUsage();
    return {
      connections: n,
      diskReadBlocks: after.fsRead - before.fsRead,
      voluntaryContextSwitches: after.voluntaryContextSwitches - before.voluntaryContextSwitches,
      getToken: { samples: tokenSamples, seconds: tokenSeconds },
      listPage: { samples: listSamples, seconds: listSeconds },
      userConnections: { samples: userSamples, seconds: userSeconds },
      rssStartMb: mb(rssStart),
      rssAfterReadMb: mb(rssAfterRead),
      peakRssMb: peakRssMb(),
    };
  } finally {
    await harness.close();
  }
}

async function main(): Promise<unknown> {
  const [phase, count, dir, ops, cache] = process.argv.slice(2);
  const n = Number(count);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`storeChild: bad connection count "${count}"`);
  if (phase === 'writes') return writes(n);
  if (phase === 'build' && dir) return build(n, dir);
  if (phase === 'read' && dir) return read(n, dir, Number(ops ?? 10_000), cache === 'warm');
  throw new Error(
    `storeChild: unknown phase "${phase}" (writes <n> | build <n> <dir> | read <n> <dir> [ops] [warm])`,
  );
}

main().then(
  (figures) => console.log(JSON.stringify(figures)),
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
