// (c) Connection writes on SQLite and memory: n connections stored one by one through saveConnection
//     (seal + upsert, one commit each) and read back. Target (issue 12): >= 10,000 writes/s.
// (e) Scale: getToken and list figures on a store of 10,000 connections and on one of --connections
//     (default 1,000,000), each built in bulk from real sealed records, measured in a fresh process:
//     p99 within 1.5x and RSS after the read phase flat (within 1.2x) at the large size. The same
//     reads run again after each database file was read once (all of it in the page cache), and the
//     blocks each read phase took from the disk are printed: this VM pages out memory left idle for
//     about a minute, so at 1M a random read may wait for the disk (README, Benchmarks).
// Every phase runs in its own child process, so no earlier phase's heap is in the RSS it reports.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySpec } from '../../profiles/encryption';
import {
  atLeast,
  atMost,
  informational,
  median,
  round,
  row,
  summarize,
  type Latencies,
  type SectionResult,
  type Verdict,
} from './benchFigures';

export const WRITES_PER_SECOND_TARGET = 10_000;
const WRITE_CONNECTIONS = 100_000;
const SMALL_STORE = 10_000;
export const DEFAULT_LARGE_STORE = 1_000_000;
const READ_OPS = 12_000;
const READ_ROUNDS = 3;
const P99_RATIO_TARGET = 1.5;
const RSS_RATIO_TARGET = 1.2;
/**
 * The same V8 flags as `npm start` (package.json): a 4 MB young generation keeps RSS near the live
 * heap; V8's default (16 MB semi-spaces) adds ~20 MB of high-water mark.
 */
const SERVICE_NODE_FLAGS = ['--max-semi-space-size=4'];

/** Runs one storeChild.ts phase in a fresh node process and returns its JSON line. */
async function child<T>(args: string[], keys: string): Promise<T> {
  const entry = join(__dirname, `storeChild${__filename.endsWith('.ts') ? '.ts' : '.js'}`);
  // `npm run bench` runs through tsx; the child needs the same loader.
  const loader = __filename.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const proc = spawn(process.execPath, ['--expose-gc', ...SERVICE_NODE_FLAGS, ...loader, entry, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_ENCRYPTION_KEYS: keys },
  });
  let output = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  if (code !== 0) throw new Error(`bench phase "${args.join(' ')}" failed (exit ${code})`);
  return JSON.parse(output.trim().split('\n').pop() ?? '') as T;
}

interface WriteFigures {
  connections: number;
  storeSeconds: number;
  writesPerSecond: number;
  cpuUsPerWrite: number;
  readSeconds: number;
  usableViaGetToken: number;
  listedInPages: number;
  rssStartMb: number;
  rssAfterStoreMb: number;
  rssAfterReadMb: number;
  rssAfterGcMb: number;
  heapUsedAfterGcMb: number;
  peakRssMb: number | null;
  tokenServiceInFlight: number;
  tokenServiceUnsaved: number;
  tokenServiceOpenedAccessTokens: number;
}

export async function storeWritesSection(): Promise<SectionResult> {
  const figures = await child<WriteFigures>(['writes', String(WRITE_CONNECTIONS)], generateKeySpec('bench1'));
  const writes = atLeast(figures.writesPerSecond, WRITES_PER_SECOND_TARGET, '/s');
  const rss = atMost(figures.rssAfterReadMb, 150, ' MB');
  const allRead: Verdict = {
    target: `= ${figures.connections}`,
    met: figures.usableViaGetToken === figures.connections && figures.listedInPages === figures.connections,
  };
  const nothingLeft: Verdict = {
    target: '= 0',
    met: figures.tokenServiceInFlight === 0 && figures.tokenServiceUnsaved === 0,
  };
  const bounded = atMost(figures.tokenServiceOpenedAccessTokens, 1000);
  return {
    name: 'memory',
    lines: [
      `(c) ${figures.connections} encrypted connections stored one by one (saveConnection), then read back`,
      row('store (seal + upsert, one commit each), s', [figures.storeSeconds]),
      row('connection writes/s on SQLite', [figures.writesPerSecond], writes),
      row('CPU µs per write (user + system of the process)', [figures.cpuUsPerWrite], informational),
      row('read back (getToken each + list pages), s', [figures.readSeconds]),
      row('RSS MB: start / after store / after read', [
        figures.rssStartMb,
        figures.rssAfterStoreMb,
        figures.rssAfterReadMb,
      ]),
      row(
        'RSS MB after GC / heap used after GC',
        [figures.rssAfterGcMb, figures.heapUsedAfterGcMb],
        informational,
      ),
      row('peak RSS MB (VmHWM of the measuring process)', [figures.peakRssMb ?? 'n/a'], informational),
      row('RSS after read-back MB', [figures.rssAfterReadMb], rss),
      row(
        'read back: via getToken / listed in pages',
        [figures.usableViaGetToken, figures.listedInPages],
        allRead,
      ),
      row(
        'left in memory: in flight / unsaved',
        [figures.tokenServiceInFlight, figures.tokenServiceUnsaved],
        nothingLeft,
      ),
      row('opened access tokens kept (bounded cache)', [figures.tokenServiceOpenedAccessTokens], bounded),
    ],
    figures: { ...figures },
    broken: [
      ...(allRead.met ? [] : ['connections not read back']),
      ...(nothingLeft.met ? [] : ['token work left in memory']),
      ...(bounded.met ? [] : ['opened-token cache over its bound']),
    ],
    verdicts: [
      { figure: 'connection writes/s on SQLite', verdict: writes },
      { figure: 'RSS after 100k read back', verdict: rss },
    ],
  };
}

interface BuildFigures {
  connections: number;
  buildSeconds: number;
  fullScans: string[];
}

interface Timed {
  samples: number[];
  seconds: number;
}

interface ReadFigures {
  connections: number;
  diskReadBlocks: number;
  voluntaryContextSwitches: number;
  getToken: Timed;
  listPage: Timed;
  userConnections: Timed;
  rssStartMb: number;
  rssAfterReadMb: number;
  peakRssMb: number | null;
}

type ReadKind = 'getToken' | 'listPage' | 'userConnections';

interface SizeFigures {
  connections: number;
  buildSeconds: number;
  fullScans: string[];
  getToken: Latencies;
  listPage: Latencies;
  userConnections: Latencies;
  /** Median over the read rounds (one fresh process each). */
  rssAfterReadMb: number;
  peakRssMb: number | null;
  /** Summed over the read rounds: blocks read from the disk, and waits (voluntary context switches). */
  diskReadBlocks: number;
  voluntaryContextSwitches: number;
  /** The same reads after the database file was read once (page cache warm). */
  warm: Pick<SizeFigures, 'getToken' | 'listPage' | 'userConnections' | 'diskReadBlocks'>;
}

function merged(rounds: readonly ReadFigures[], kind: ReadKind): Latencies {
  return summarize(
    rounds.flatMap((figures) => figures[kind].samples),
    rounds.reduce((sum, figures) => sum + figures[kind].seconds, 0),
  );
}

/**
 * Builds both stores, then reads them in alternating rounds, each round a fresh process on one
 * store: on a shared machine, other work then falls on both sizes alike instead of on whichever
 * was measured during it.
 */
async function measureSizes(sizes: readonly number[], keys: string): Promise<SizeFigures[]> {
  const dirs = sizes.map(() => mkdtempSync(join(tmpdir(), 'authprofiles-scale-')));
  try {
    const builds: BuildFigures[] = [];
    for (const [i, size] of sizes.entries()) {
      builds.push(await child<BuildFigures>(['build', String(size), dirs[i] as string], keys));
    }
    const rounds: ReadFigures[][] = sizes.map(() => []);
    const warmRounds: ReadFigures[][] = sizes.map(() => []);
    for (const [cache, into] of [
      ['as-is', rounds],
      ['warm', warmRounds],
    ] as const) {
      for (let round = 0; round < READ_ROUNDS; round += 1) {
        for (const [i, size] of sizes.entries()) {
          const args = ['read', String(size), dirs[i] as string, String(READ_OPS / READ_ROUNDS), cache];
          into[i]?.push(await child<ReadFigures>(args, keys));
        }
      }
    }
    const sum = (read: readonly ReadFigures[], key: 'diskReadBlocks' | 'voluntaryContextSwitches') =>
      read.reduce((total, figures) => total + figures[key], 0);
    return sizes.map((size, i) => {
      const read = rounds[i] ?? [];
      const warm = warmRounds[i] ?? [];
      const build = builds[i] as BuildFigures;
      const peaks = read.map((figures) => figures.peakRssMb).filter((peak): peak is number => peak !== null);
      return {
        connections: size,
        buildSeconds: build.buildSeconds,
        fullScans: build.fullScans,
        getToken: merged(read, 'getToken'),
        listPage: merged(read, 'listPage'),
        userConnections: merged(read, 'userConnections'),
        rssAfterReadMb: median(read.map((figures) => figures.rssAfterReadMb)),
        peakRssMb: peaks.length ? Math.max(...peaks) : null,
        diskReadBlocks: sum(read, 'diskReadBlocks'),
        voluntaryContextSwitches: sum(read, 'voluntaryContextSwitches'),
        warm: {
          getToken: merged(warm, 'getToken'),
          listPage: merged(warm, 'listPage'),
          userConnections: merged(warm, 'userConnections'),
          diskReadBlocks: sum(warm, 'diskReadBlocks'),
        },
      };
    });
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

export async function storeScaleSection(large: number): Promise<SectionResult> {
  const keys = generateKeySpec('bench1');
  const [small, big] = (await measureSizes([SMALL_STORE, large], keys)) as [SizeFigures, SizeFigures];
  const lines = [
    `(e) scale: the same reads on ${SMALL_STORE} and on ${large} connections (SQLite, built in bulk, fresh process)`,
    row('', [
      `ops/s ${SMALL_STORE / 1000}k`,
      `ops/s ${large / 1000}k`,
      `p50 ${SMALL_STORE / 1000}k`,
      `p50 ${large / 1000}k`,
      `p99 ${SMALL_STORE / 1000}k`,
      `p99 ${large / 1000}k`,
    ]),
  ];
  const verdicts: { figure: string; verdict: Verdict }[] = [];
  const figure = (label: string, key: 'getToken' | 'listPage' | 'userConnections') => {
    const a = small[key];
    const b = big[key];
    lines.push(row(label, [a.opsPerSecond, b.opsPerSecond, a.p50Us, b.p50Us, a.p99Us, b.p99Us]));
    const ratio = round(b.p99Us / a.p99Us, 2);
    const verdict = atMost(ratio, P99_RATIO_TARGET, 'x');
    lines.push(row(`  p99 ${large / 1000}k / ${SMALL_STORE / 1000}k`, [ratio], verdict));
    verdicts.push({ figure: `${label}: p99 at ${large} / ${SMALL_STORE}`, verdict });
  };
  figure('getToken, valid token, distinct random users', 'getToken');
  figure('admin list page of a profile (51, random position)', 'listPage');
  figure("a user's connections across profiles", 'userConnections');
  lines.push(
    row(
      `disk blocks read ${SMALL_STORE / 1000}k / ${large / 1000}k, then waits (3 rounds)`,
      [
        small.diskReadBlocks,
        big.diskReadBlocks,
        small.voluntaryContextSwitches,
        big.voluntaryContextSwitches,
      ],
      informational,
    ),
  );
  lines.push('  the same reads after each database file was read once (all of it in the page cache):');
  for (const [label, key] of [
    ['getToken', 'getToken'],
    ['admin list page', 'listPage'],
    ["a user's connections", 'userConnections'],
  ] as const) {
    const a = small.warm[key];
    const b = big.warm[key];
    lines.push(
      row(`  ${label}, page cache warm`, [
        a.opsPerSecond,
        b.opsPerSecond,
        a.p50Us,
        b.p50Us,
        a.p99Us,
        b.p99Us,
      ]),
      row(
        `    p99 ${large / 1000}k / ${SMALL_STORE / 1000}k, warm`,
        [round(b.p99Us / a.p99Us, 2)],
        informational,
      ),
    );
  }
  lines.push(
    row('  blocks read from disk, warm', [small.warm.diskReadBlocks, big.warm.diskReadBlocks], informational),
  );
  const rssRatio = round(big.rssAfterReadMb / small.rssAfterReadMb, 2);
  const rss = atMost(rssRatio, RSS_RATIO_TARGET, 'x');
  const scans = [...small.fullScans, ...big.fullScans];
  const indexed: Verdict = { target: '= 0', met: scans.length === 0 };
  lines.push(
    row(
      'RSS MB after the read phase (median of 3)',
      [small.rssAfterReadMb, big.rssAfterReadMb],
      informational,
    ),
    row(`  RSS ${large / 1000}k / ${SMALL_STORE / 1000}k`, [rssRatio], rss),
    row(
      'peak RSS MB of the read process (VmHWM)',
      [small.peakRssMb ?? 'n/a', big.peakRssMb ?? 'n/a'],
      informational,
    ),
    row(
      'store built in bulk (10k-record transactions), s',
      [small.buildSeconds, big.buildSeconds],
      informational,
    ),
    row('full scans or sorts in the read queries (EXPLAIN)', [scans.length], indexed),
  );
  verdicts.push({ figure: `RSS after reads at ${large} / ${SMALL_STORE}`, verdict: rss });
  verdicts.push({ figure: 'read queries served by indexes', verdict: indexed });
  return {
    name: 'scale',
    lines,
    figures: { small, large: big },
    broken: scans.length ? [`full scans: ${scans.join('; ')}`] : [],
    verdicts,
  };
}
