// `npm run bench`: the engine's token path measured in one run, on this machine.
//   (a) getToken on a valid token (SQLite) against a raw read of the same row from the same store;
//   (a') GetToken of the Bot Framework token service over HTTP (caller JWT verified each call)
//        against the direct getToken of the same connection;
//   (b) a refresh storm: 200 callers in 4 processes on one expired connection, real oidc-provider;
//   (c) memory: 100k encrypted connections stored through the real upsert path and read back;
//       their rate is the "connection writes per second on SQLite" figure (target >= 10,000/s, issue 12);
//   (d) CRM card formatting: a page of deals built into an Adaptive Card, against serialising the
//       same page (JSON.stringify), the least any reply does with it;
//   (e) consent flows and turns through the real service in a child process (test/bench/consentFlow.ts),
//       once with the dev demo CRM inside the service (as `npm start`) and once in its own process
//       (DEMO_CRM_URL, as production has HubSpot outside), where the targets are judged.
// Prints a table, then one JSON line with every figure. Exits non-zero when an invariant breaks
// (more than one refresh, callers with different tokens, something left in memory).
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { saveConnection } from '../../profiles/connections';
import { generateKeySpec } from '../../profiles/encryption';
import { silentLogger } from '../../profiles/engineContext';
import { sha256 } from '../../profiles/ids';
import type { TokenSet } from '../../profiles/oauth/tokenResponse';
import type { Profile } from '../../profiles/profileCatalog';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { MAX_CARD_ROWS, resultCard, type CardResult } from '../../dialogs/actionCards';
import type { Request, Response } from 'restify';
import { startAuthServer } from '../support/authServer';
import {
  authorize,
  createHarness,
  FAST_SETTINGS,
  PUBLIC_URL,
  serverProfile,
  type Harness,
} from '../support/engineHarness';
import { startRefreshWorkers } from '../support/refreshWorkers';
import { benchConsentFlows, printConsentFlows } from './consentFlow';

const KEYS = generateKeySpec('bench1');
const CLIENT = {
  client_id: 'bench',
  client_secret: 'bench-secret-value-123',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

const READ_OPS = 20_000;
const HTTP_OPS = 4_000;
const READ_ROUNDS = 4;
const STORM_PROCESSES = 4;
const STORM_CALLS_PER_PROCESS = 50;
const MEMORY_CONNECTIONS = 100_000;
const PAGE = 1_000;
/** Issue 12's target for connection writes on SQLite. */
const WRITES_PER_SECOND_TARGET = 10_000;
const CARD_OPS = 20_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

const mb = (bytes: number): number => round(bytes / 1024 / 1024);

function tokenSet(seed: string, now: number): TokenSet {
  return {
    accessToken: `bench-access-${seed}-${'a'.repeat(40)}`,
    refreshToken: `bench-refresh-${seed}-${'r'.repeat(40)}`,
    tokenType: 'bearer',
    expiresAt: now + 3_600_000,
    expiresAtEstimated: false,
    scopes: ['crm.objects.deals.read'],
  };
}

interface Latencies {
  opsPerSecond: number;
  p50Us: number;
  p99Us: number;
}

/** Times `ops` sequential awaited calls, one by one; rounds alternate with the other subject. */
async function timeCalls(ops: number, call: () => Promise<unknown>, into: number[]): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < ops; i += 1) {
    const t0 = process.hrtime.bigint();
    await call();
    into.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function summarize(samples: number[], seconds: number): Latencies {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    opsPerSecond: Math.round(samples.length / seconds),
    p50Us: round(percentile(sorted, 50)),
    p99Us: round(percentile(sorted, 99)),
  };
}

async function benchReads(harness: Harness, profile: Profile) {
  const subject: Subject = { kind: 'user', channelId: 'bench', userId: 'reader' };
  const key = subjectKey(subject);
  await saveConnection(harness.context, profile, key, tokenSet('reader', harness.clock()), {
    createdBy: 'user:bench',
    requireVerification: false,
  });
  const check = await harness.engine.getToken(profile, subject);
  if (!check.ok) throw new Error(`bench connection unusable: ${check.reason}`);
  const rawSamples: number[] = [];
  const tokenSamples: number[] = [];
  let rawSeconds = 0;
  let tokenSeconds = 0;
  const raw = () => harness.store.connections.get(profile.id, key);
  const token = () => harness.engine.getToken(profile, subject);
  // Warm-up, then alternate rounds so drift (GC, CPU frequency) hits both sides alike.
  await timeCalls(2_000, raw, []);
  await timeCalls(2_000, token, []);
  for (let round = 0; round < READ_ROUNDS; round += 1) {
    rawSeconds += await timeCalls(READ_OPS / READ_ROUNDS, raw, rawSamples);
    tokenSeconds += await timeCalls(READ_OPS / READ_ROUNDS, token, tokenSamples);
  }
  const rawRead = summarize(rawSamples, rawSeconds);
  const getToken = summarize(tokenSamples, tokenSeconds);
  return { rawRead, getToken, ratio: round(getToken.opsPerSecond / rawRead.opsPerSecond, 2) };
}

/**
 * GetToken as a bot calls it: HTTP on loopback with keep-alive, the bearer JWT verified by jose on
 * every call (keys cached), the query validated, then the same engine.getToken as in (a).
 */
async function benchHttp(harness: Harness, profile: Profile) {
  // Loaded here, not at the top: the memory phase's child process runs this file and must not carry them.
  const { exportJWK, generateKeyPair, SignJWT } = await import('jose');
  const { default: pino } = await import('pino');
  const { default: restify } = await import('restify');
  const { createCallerAuthenticator } = await import('../../bot/tokenService/callerAuthentication');
  const { registerTokenService } = await import('../../bot/tokenService/routes');
  const botAppId = 'bench-bot';
  const subject: Subject = { kind: 'user', channelId: 'bench', userId: 'http-reader', botAppId };
  await saveConnection(harness.context, profile, subjectKey(subject), tokenSet('http', harness.clock()), {
    createdBy: 'user:bench',
    requireVerification: false,
  });
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256' };
  const keys = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => keys.listen(0, '127.0.0.1', () => resolve()));
  const server = restify.createServer();
  registerTokenService(server, {
    engine: harness.engine,
    log: pino({ level: 'silent' }),
    authenticate: createCallerAuthenticator({
      allowedAppIds: [botAppId],
      issuers: ['https://bench.invalid/'],
      audience: 'https://api.botframework.com',
      jwksUrl: `http://127.0.0.1:${(keys.address() as AddressInfo).port}/keys`,
      allowAnonymousLoopback: false,
    }),
  });
  // The floor: an empty route on the same server, through the same client.
  server.get('/bench/empty', async (_req: Request, res: Response) => {
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  try {
    const bearer = await new SignJWT({ appid: botAppId, ver: '1.0' })
      .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
      .setIssuer('https://bench.invalid/')
      .setAudience('https://api.botframework.com')
      .setExpirationTime('1h')
      .sign(privateKey);
    const query = new URLSearchParams({
      userId: 'http-reader',
      connectionName: profile.id,
      channelId: 'bench',
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/usertoken/GetToken?${query}`;
    const overHttp = async () => {
      const response = await fetch(url, { headers: { authorization: `Bearer ${bearer}` } });
      if (response.status !== 200) throw new Error(`GetToken answered ${response.status}`);
      await response.arrayBuffer();
    };
    const direct = () => harness.engine.getToken(profile, subject);
    const emptyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bench/empty`;
    const empty = async () => {
      await (await fetch(emptyUrl)).arrayBuffer();
    };
    const emptySamples: number[] = [];
    let emptySeconds = 0;
    const httpSamples: number[] = [];
    const directSamples: number[] = [];
    let httpSeconds = 0;
    let directSeconds = 0;
    await timeCalls(500, overHttp, []);
    await timeCalls(500, empty, []);
    await timeCalls(2_000, direct, []);
    for (let round = 0; round < READ_ROUNDS; round += 1) {
      httpSeconds += await timeCalls(HTTP_OPS / READ_ROUNDS, overHttp, httpSamples);
      emptySeconds += await timeCalls(HTTP_OPS / READ_ROUNDS, empty, emptySamples);
      directSeconds += await timeCalls(HTTP_OPS / READ_ROUNDS, direct, directSamples);
    }
    const overHttpFigures = summarize(httpSamples, httpSeconds);
    const directFigures = summarize(directSamples, directSeconds);
    return {
      getTokenHttp: overHttpFigures,
      emptyHttpRoute: summarize(emptySamples, emptySeconds),
      getTokenDirect: directFigures,
      ratio: round(overHttpFigures.opsPerSecond / directFigures.opsPerSecond, 3),
    };
  } finally {
    server.server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    keys.closeAllConnections();
    await new Promise<void>((resolve) => keys.close(() => resolve()));
  }
}

async function benchStorm(harness: Harness, server: Awaited<ReturnType<typeof startAuthServer>>) {
  const subject: Subject = { kind: 'user', channelId: 'bench', userId: 'storm' };
  const { outcome } = await authorize(harness, 'bench', subject);
  if (outcome.kind !== 'connected') throw new Error(`consent failed: ${outcome.kind}`);
  const profile = await harness.engine.catalog.get('bench');
  const connection = await harness.store.connections.get(profile.id, subjectKey(subject));
  if (!connection) throw new Error('no storm connection');
  // Expired in real time: the workers run on the real clock.
  await harness.store.connections.update(connection.id, connection.version, { expiresAt: Date.now() - 1000 });
  const workers = await startRefreshWorkers(STORM_PROCESSES, {
    dbFile: join(harness.dir, 'authprofiles.db'),
    encryptionKeys: KEYS,
    profile,
    subject,
    calls: STORM_CALLS_PER_PROCESS,
    settings: FAST_SETTINGS,
  });
  const before = (await server.stats()).token.refresh_token;
  let reports;
  try {
    reports = await workers.start(300);
  } finally {
    await workers.stop();
  }
  const refreshCalls = (await server.stats()).token.refresh_token - before;
  const results = reports.flatMap((report) => report.results);
  const waits = results.map((result) => result.waitMs).sort((a, b) => a - b);
  const hashes = new Set(results.map((result) => (result.ok ? result.tokenHash : `failed:${result.reason}`)));
  const stored = await harness.engine.getToken(profile, subject);
  const sameToken = hashes.size === 1 && stored.ok && hashes.has(sha256(stored.accessToken));
  return {
    callers: results.length,
    processes: STORM_PROCESSES,
    refreshCalls,
    allSameToken: sameToken,
    failures: results.filter((result) => !result.ok).length,
    p50WaitMs: round(percentile(waits, 50)),
    p99WaitMs: round(percentile(waits, 99)),
    maxWaitMs: round(waits[waits.length - 1] ?? NaN),
    leftInWorkers: reports.reduce(
      (sum, report) => sum + report.activity.inFlight + report.activity.unsaved,
      0,
    ),
  };
}

/** A page of deals as HubSpot returns them: amounts in two currencies, close dates as ISO and epoch ms. */
function dealPage(): { id: string; properties: Record<string, string | null> }[] {
  const stages = ['appointmentscheduled', 'contractsent', 'closedwon', 'closedlost', 'custom-stage'];
  return Array.from({ length: MAX_CARD_ROWS }, (_, i) => ({
    id: String(1000 + i),
    properties: {
      dealname: `Deal ${i} for Example Corp`,
      amount: i % 3 === 0 ? `${12_500 + i}` : `${7_200 + i}.5`,
      deal_currency_code: i % 2 === 0 ? 'USD' : 'EUR',
      dealstage: stages[i % stages.length] ?? null,
      closedate: i % 2 === 0 ? `2025-07-${String(10 + i).padStart(2, '0')}T00:00:00.000Z` : '1753920000000',
    },
  }));
}

/** Cards built per second for one page of deals, rounds alternating with the baseline. */
function benchCards() {
  const results = dealPage();
  // The HubSpot catalogue's deals.list-mine result (profiles/systemCatalog.json) as the runner gives it.
  const input: CardResult = {
    title: 'My deals',
    profileName: 'HubSpot',
    fields: [
      { name: 'amount', label: 'Amount', format: 'currency' },
      { name: 'dealstage', label: 'Stage', format: 'text' },
      { name: 'closedate', label: 'Close date', format: 'date' },
    ],
    items: results.map(({ properties: p }) => ({
      ...(p.dealname ? { title: p.dealname } : {}),
      values: { amount: p.amount ?? null, dealstage: p.dealstage ?? null, closedate: p.closedate ?? null },
    })),
    total: 42,
  };
  const options = { locale: 'en-US', timeZone: 'UTC' };
  const time = (ops: number, call: () => unknown): number => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < ops; i += 1) call();
    return Number(process.hrtime.bigint() - started) / 1e9;
  };
  const card = () => resultCard(input, options);
  const serialise = () => JSON.stringify(results);
  time(2_000, card);
  time(2_000, serialise);
  let cardSeconds = 0;
  let serialiseSeconds = 0;
  for (let round = 0; round < READ_ROUNDS; round += 1) {
    cardSeconds += time(CARD_OPS / READ_ROUNDS, card);
    serialiseSeconds += time(CARD_OPS / READ_ROUNDS, serialise);
  }
  const cardsPerSecond = Math.round(CARD_OPS / cardSeconds);
  const serialisedPerSecond = Math.round(CARD_OPS / serialiseSeconds);
  return {
    rowsPerCard: results.length,
    cardsPerSecond,
    serialisedPerSecond,
    ratio: round(cardsPerSecond / serialisedPerSecond, 3),
  };
}

/** A profile for the memory phase: no provider is contacted, so its URLs need not answer. */
const OFFLINE_PROFILE = {
  id: 'bench',
  displayName: 'Bench',
  authorizationUrl: 'http://127.0.0.1:9/authorize',
  tokenUrl: 'http://127.0.0.1:9/token',
  clientId: 'bench',
  clientSecret: 'bench-secret-value-123',
  scopes: ['crm.objects.deals.read'],
};

type MemoryFigures = Awaited<ReturnType<typeof benchMemory>>;

/** Runs in its own process (see memoryInChild), so earlier phases leave nothing in its RSS. */
async function benchMemory() {
  const harness = await createHarness({ profiles: [OFFLINE_PROFILE], encryptionKeys: KEYS });
  harness.context.log = silentLogger;
  try {
    const profile = await harness.engine.catalog.get('bench');
    const subjectOf = (i: number): Subject => ({ kind: 'user', channelId: 'bench', userId: `u${i}` });
    const rssStart = process.memoryUsage().rss;
    const storeStarted = performance.now();
    const now = harness.clock();
    for (let i = 0; i < MEMORY_CONNECTIONS; i += 1) {
      // saveConnection = sealTokens (AES-256-GCM, AAD bound to the record) + store.connections.upsert.
      await saveConnection(harness.context, profile, subjectKey(subjectOf(i)), tokenSet(String(i), now), {
        createdBy: 'user:bench',
        requireVerification: false,
      });
    }
    const storeSeconds = (performance.now() - storeStarted) / 1000;
    const writesPerSecond = Math.round(MEMORY_CONNECTIONS / storeSeconds);
    const rssAfterStore = process.memoryUsage().rss;

    // Read back twice: every record through getToken (read + decrypt), and every page of the store.
    const readStarted = performance.now();
    let usable = 0;
    for (let i = 0; i < MEMORY_CONNECTIONS; i += 1) {
      const result = await harness.engine.getToken(profile, subjectOf(i));
      if (result.ok && result.accessToken.startsWith(`bench-access-${i}-`)) usable += 1;
    }
    let listed = 0;
    let after: string | undefined;
    for (;;) {
      // No profileId filter: with one, SQLite sorts every matching row for each page (see report).
      const page = await harness.store.connections.list(
        {},
        after === undefined ? { limit: PAGE } : { limit: PAGE, after },
      );
      listed += page.length;
      if (page.length < PAGE) break;
      after = page[page.length - 1]?.id;
    }
    const readSeconds = (performance.now() - readStarted) / 1000;
    const rssAfterRead = process.memoryUsage().rss;
    // What is really retained: collect garbage (the child runs with --expose-gc), then measure.
    (globalThis as { gc?: () => void }).gc?.();
    const activity = harness.engine.tokens.activity();
    return {
      connections: MEMORY_CONNECTIONS,
      storeSeconds: round(storeSeconds, 2),
      writesPerSecond,
      readSeconds: round(readSeconds, 2),
      usableViaGetToken: usable,
      listedInPages: listed,
      rssStartMb: mb(rssStart),
      rssAfterStoreMb: mb(rssAfterStore),
      rssAfterReadMb: mb(rssAfterRead),
      rssAfterGcMb: mb(process.memoryUsage().rss),
      heapUsedAfterGcMb: mb(process.memoryUsage().heapUsed),
      peakRssMb: round(process.resourceUsage().maxRSS / 1024),
      tokenServiceInFlight: activity.inFlight,
      tokenServiceUnsaved: activity.unsaved,
      /** Bounded cache of opened access tokens (OPENED_ACCESS_TOKENS in profiles/tokens.ts). */
      tokenServiceOpenedAccessTokens: activity.openedAccessTokens,
    };
  } finally {
    await harness.close();
  }
}

async function memoryInChild(): Promise<MemoryFigures> {
  // `npm run bench` runs this file through tsx; the child needs the same loader.
  const loader = __filename.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(
    process.execPath,
    ['--expose-gc', ...SERVICE_NODE_FLAGS, ...loader, __filename, MEMORY_FLAG],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`memory phase failed (exit ${code})`);
  return JSON.parse(output.trim().split('\n').pop() ?? '') as MemoryFigures;
}

function row(label: string, ...values: (string | number)[]): string {
  return `  ${label.padEnd(46)}${values.map((value) => String(value).padStart(12)).join('')}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const server = await startAuthServer({
    clients: [{ ...CLIENT, redirect_uris: [`${PUBLIC_URL}/oauth/callback/bench`], rotateRefreshToken: true }],
    scopes: 'crm.objects.deals.read',
    accessTokenTtl: 3600,
  });
  const harness = await createHarness({
    profiles: [serverProfile(server, 'bench', CLIENT)],
    encryptionKeys: KEYS,
  });
  harness.context.log = silentLogger;
  let reads;
  let overHttp;
  let storm;
  try {
    const profile = await harness.engine.catalog.get('bench');
    reads = await benchReads(harness, profile);
    overHttp = await benchHttp(harness, profile);
    storm = await benchStorm(harness, server);
  } finally {
    await harness.close();
    await server.stop();
  }
  const cards = benchCards();
  const memory = await memoryInChild();
  const consentFlows = await benchConsentFlows();
  const seconds = round((performance.now() - started) / 1000);

  const ok = {
    ratio: reads.ratio >= 0.5,
    oneRefresh: storm.refreshCalls === 1,
    sameToken: storm.allSameToken && storm.failures === 0,
    rss: memory.rssAfterReadMb < 150,
    writes: memory.writesPerSecond >= WRITES_PER_SECOND_TARGET,
    nothingLeft:
      memory.tokenServiceInFlight === 0 && memory.tokenServiceUnsaved === 0 && storm.leftInWorkers === 0,
    bounded: memory.tokenServiceOpenedAccessTokens <= 1000,
    allRead: memory.usableViaGetToken === MEMORY_CONNECTIONS && memory.listedInPages === MEMORY_CONNECTIONS,
  };
  const mark = (pass: boolean): string => (pass ? 'ok' : 'FAIL');

  console.log(`authprofiles bench — node ${process.version}, ${cpus().length} cpus, ${seconds} s`);
  console.log('');
  console.log('(a) getToken on a valid token, SQLite store');
  console.log(row('', 'ops/s', 'p50 µs', 'p99 µs'));
  console.log(
    row(
      'raw read: store.connections.get',
      reads.rawRead.opsPerSecond,
      reads.rawRead.p50Us,
      reads.rawRead.p99Us,
    ),
  );
  console.log(
    row(
      'engine.getToken (read + checks + decrypt)',
      reads.getToken.opsPerSecond,
      reads.getToken.p50Us,
      reads.getToken.p99Us,
    ),
  );
  console.log(row('ratio getToken / raw read (aim >= 0.5)', reads.ratio, mark(ok.ratio)));
  console.log('');
  console.log("(a') token service GetToken over HTTP (JWT caller) vs direct getToken, same connection");
  console.log(row('', 'ops/s', 'p50 µs', 'p99 µs'));
  console.log(
    row(
      'GET /api/usertoken/GetToken',
      overHttp.getTokenHttp.opsPerSecond,
      overHttp.getTokenHttp.p50Us,
      overHttp.getTokenHttp.p99Us,
    ),
  );
  console.log(
    row(
      'floor: empty route, same server and client',
      overHttp.emptyHttpRoute.opsPerSecond,
      overHttp.emptyHttpRoute.p50Us,
      overHttp.emptyHttpRoute.p99Us,
    ),
  );
  console.log(
    row(
      'engine.getToken',
      overHttp.getTokenDirect.opsPerSecond,
      overHttp.getTokenDirect.p50Us,
      overHttp.getTokenDirect.p99Us,
    ),
  );
  console.log(row('ratio over HTTP / direct', overHttp.ratio));
  console.log('');
  console.log(
    `(b) refresh storm: ${storm.callers} callers in ${storm.processes} processes, one expired connection`,
  );
  console.log(row('refresh calls received by the provider', storm.refreshCalls, mark(ok.oneRefresh)));
  console.log(
    row(
      'callers with the same new token',
      `${storm.callers - storm.failures}/${storm.callers}`,
      mark(ok.sameToken),
    ),
  );
  console.log(row('wait ms: p50 / p99 / max', storm.p50WaitMs, storm.p99WaitMs, storm.maxWaitMs));
  console.log('');
  console.log(`(c) memory: ${memory.connections} encrypted connections stored and read back`);
  console.log(row('store (saveConnection: seal + upsert), s', memory.storeSeconds));
  console.log(
    row(
      `connection writes/s on SQLite (target ${WRITES_PER_SECOND_TARGET})`,
      memory.writesPerSecond,
      mark(ok.writes),
    ),
  );
  console.log(row('read back (getToken each + list pages), s', memory.readSeconds));
  console.log(
    row(
      'RSS MB: start / after store / after read',
      memory.rssStartMb,
      memory.rssAfterStoreMb,
      memory.rssAfterReadMb,
    ),
  );
  console.log(row('RSS MB after GC / heap used after GC', memory.rssAfterGcMb, memory.heapUsedAfterGcMb));
  console.log(row('peak RSS MB', memory.peakRssMb));
  console.log(row('RSS after read-back MB (aim < 150)', memory.rssAfterReadMb, mark(ok.rss)));
  console.log(
    row(
      'read back: via getToken / listed in pages',
      memory.usableViaGetToken,
      memory.listedInPages,
      mark(ok.allRead),
    ),
  );
  console.log(
    row(
      'left in memory: in flight / unsaved (must be 0)',
      memory.tokenServiceInFlight,
      memory.tokenServiceUnsaved,
      mark(ok.nothingLeft),
    ),
  );
  console.log(
    row(
      'opened access tokens kept (bounded cache, max 1000)',
      memory.tokenServiceOpenedAccessTokens,
      mark(ok.bounded),
    ),
  );
  console.log('');
  console.log(`(d) CRM card formatting: a page of ${cards.rowsPerCard} deals (dialogs/actionCards.ts)`);
  console.log(row('', 'per second'));
  console.log(row('resultCard (amounts, dates, stages)', cards.cardsPerSecond));
  console.log(row('baseline: JSON.stringify of the same page', cards.serialisedPerSecond));
  console.log(row('ratio cards / baseline', cards.ratio));
  console.log('');
  printConsentFlows(consentFlows);
  console.log('');
  console.log(
    JSON.stringify({
      bench: 'authprofiles',
      node: process.version,
      cpus: cpus().length,
      seconds,
      reads,
      overHttp,
      storm,
      memory,
      cards,
      consentFlows,
      ok,
    }),
  );
  if (!ok.oneRefresh || !ok.sameToken || !ok.nothingLeft || !ok.bounded || !ok.allRead) process.exitCode = 1;
}

const MEMORY_FLAG = '--memory-phase';
/**
 * The memory phase runs with the same V8 flags as `npm start` (package.json): a 4 MB young
 * generation keeps RSS near the live heap; V8's default (16 MB semi-spaces) adds ~20 MB of
 * high-water mark with no measurable gain here (store 29 s vs 31 s for 100k connections).
 */
const SERVICE_NODE_FLAGS = ['--max-semi-space-size=4'];

(process.argv.includes(MEMORY_FLAG)
  ? benchMemory().then((figures) => console.log(JSON.stringify(figures)))
  : main()
).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
