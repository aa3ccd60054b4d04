// Issue 12 points 1–2 for the chat side, measured through the real HTTP stack:
//   - complete in-conversation consent flows: the real service (bot/main.ts, dev mode, SQLite in a temp
//     DATA_DIR, the demo provider it starts itself) runs as a child process; a channel stand-in (an HTTP
//     server in this process, the activities' serviceUrl) posts "show my deals" to /api/messages and
//     receives the sign-in card and, after the callback, the proactive resumed reply (one message: "You're
//     connected" as its text and the CRM answer from the dev demo CRM as its card); the browser part is plain HTTP with cookies
//     (/oauth/start, the demo provider's login and consent forms, the callback);
//   - an authorized turn ("connect demo" when already connected: the AuthorizationDialog returns the
//     cached valid token, no provider or API call) against a plain turn ("help"), same users, same stack;
//   - the service's CPU (/proc/<pid>/stat utime+stime of the service child only, not its demo provider)
//     and its event-loop delay (test/bench/serviceProbe.ts, preloaded with --import, read over IPC).
// Both ways of placing the dev demo CRM (the stand-in third party) are measured, each in a fresh service:
//   - inside the service under /demo/crm (as `npm start` runs): the service pays both ends of each CRM
//     call and the CRM's token introspection at the provider;
//   - in its own process (bot/dev/demoCrmServer.ts via DEMO_CRM_URL), as production has HubSpot outside:
//     the service alone, where the targets are judged. BENCH_CRM=outside|in-service runs one of them.
// BENCH_CPU_PROFILE=<dir> also writes V8 CPU profiles of the service for the flows and the turns, and
// BENCH_HEAP_PROFILE=<dir> sampling heap profiles (what they allocate) for the same parts.
// The processes are in consentFlowProcesses.ts, the printed section in consentFlowSection.ts.
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { percentile, round } from './benchFigures';
import {
  benchCpuMs,
  ChannelStandIn,
  CHANNEL_ID,
  startServiceChild,
  type Activity,
  type CrmPlacement,
  type ServiceChild,
} from './consentFlowProcesses';

/** Issue 12's targets. */
export const TARGETS = {
  cpuMsPerFlow: 10,
  p95MsAt8Users: 100,
  authorizedTurnRatio: 0.8,
  eventLoopP99Ms: 20,
};

const WARM_FLOWS = 2;
const FLOWS_ONE_USER = 20;
const USERS = 8;
const FLOWS_PER_USER_AT_8 = 8;
const TURN_USERS = 4;
const TURNS_PER_ROUND = 200;
const TURN_ROUNDS = 3;

interface World {
  service: ServiceChild;
  channel: ChannelStandIn;
  nextActivity: number;
  nextLogin: number;
}

/** Demo CRM owners who own deals (bot/dev/demoCrm/sampleOwners.ts, sampleCrmData.ts): "my deals" needs one. */
const OWNER_LOGINS = ['alice', 'bob', 'carol'];

async function post(world: World, user: string, text: string): Promise<void> {
  world.nextActivity += 1;
  const activity = {
    type: 'message',
    id: `act-${world.nextActivity}`,
    channelId: CHANNEL_ID,
    serviceUrl: world.channel.serviceUrl,
    timestamp: new Date().toISOString(),
    locale: 'en-US',
    from: { id: user, name: user, role: 'user' },
    recipient: { id: 'bot', name: 'bot', role: 'bot' },
    conversation: { id: `conv-${user}`, conversationType: 'personal', isGroup: false },
    text,
  };
  const res = await fetch(`${world.service.baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(activity),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`/api/messages answered ${res.status}: ${body.slice(0, 200)}`);
}

function startUrlOf(activity: Activity | undefined): string {
  const url = activity?.attachments?.[0]?.content?.buttons?.[0]?.value;
  if (!url?.includes('/oauth/start/')) throw new Error(`no sign-in card: ${JSON.stringify(activity)}`);
  return url;
}

/** Service CPU by part of the flow, summed over the flows run one at a time (ms). */
type Phases = Record<'requestTurn' | 'oauthStart' | 'providerPages' | 'callbackAndResume', number>;

/** One complete flow for a new user; returns callback → final resumed reply, ms. */
async function consentFlow(
  world: World,
  user: string,
  phases?: Phases,
  request: 'show my deals' | 'connect demo' = 'show my deals',
): Promise<number> {
  const conversation = `conv-${user}`;
  const before = world.channel.count(conversation);
  let mark = world.service.cpuMs();
  const phase = (name: keyof Phases): void => {
    if (!phases) return;
    const now = world.service.cpuMs();
    phases[name] += now - mark;
    mark = now;
  };
  await post(world, user, request);
  const [card] = (await world.channel.waitFor(conversation, before + 1)).slice(before);
  phase('requestTurn');
  const startUrl = startUrlOf(card);
  // The browser: /oauth/start binds the request to it with a cookie, the provider's pages, the callback.
  const browser = new CookieJar();
  const start = await fetch(startUrl, { redirect: 'manual' });
  await start.arrayBuffer();
  browser.store(new URL(startUrl), start);
  const location = start.headers.get('location');
  if (start.status !== 302 || !location) throw new Error(`/oauth/start answered ${start.status}`);
  phase('oauthStart');
  // Sign in at the provider as one of the demo CRM's owners, so "my deals" finds the user's owner id.
  const login = OWNER_LOGINS[world.nextLogin++ % OWNER_LOGINS.length] as string;
  const callbackUrl = await completeConsent(location, { login, cookieJar: browser });
  phase('providerPages');
  // One resumed message: "show my deals" has "You're connected" as its text and the CRM card as its
  // attachment; "connect demo" the confirmation alone.
  const resumed = world.channel.waitFor(conversation, before + 2);
  const started = performance.now();
  const callback = await fetch(callbackUrl, { headers: { cookie: browser.header(callbackUrl) } });
  const page = await callback.text();
  if (callback.status !== 200) throw new Error(`callback answered ${callback.status}: ${page.slice(0, 300)}`);
  const replies = (await resumed).slice(before + 1);
  const ms = performance.now() - started;
  phase('callbackAndResume');
  const [resumedReply] = replies;
  if (!resumedReply?.text?.startsWith("You're connected")) {
    throw new Error(`unexpected resumed reply: ${JSON.stringify(resumedReply)}`);
  }
  if (
    request === 'show my deals' &&
    resumedReply.attachments?.[0]?.contentType !== 'application/vnd.microsoft.card.adaptive'
  ) {
    throw new Error(`no CRM card with the confirmation: ${JSON.stringify(resumedReply).slice(0, 3000)}`);
  }
  return ms;
}

export interface FlowFigures {
  users: number;
  flows: number;
  flowsPerSecond: number;
  cpuMsPerFlow: number;
  callbackToReplyP50Ms: number;
  callbackToReplyP95Ms: number;
  /** The demo CRM's own process per flow when it runs outside the service (NaN when inside). */
  crmCpuMsPerFlow: number;
  /** The demo provider's process per flow (login, consent, token, introspection). */
  providerCpuMsPerFlow: number;
  /** This bench process per flow: the channel stand-in and the browser (HTTP, cookies, forms). */
  benchCpuMsPerFlow: number;
  /** One user only: the service CPU per flow by part (ms), from /proc ticks summed over the flows. */
  cpuMsByPart?: Phases;
}

async function flows(
  world: World,
  users: number,
  perUser: number,
  label: string,
  request: 'show my deals' | 'connect demo' = 'show my deals',
): Promise<FlowFigures> {
  const latencies: number[] = [];
  const phases: Phases | undefined =
    users === 1 ? { requestTurn: 0, oauthStart: 0, providerPages: 0, callbackAndResume: 0 } : undefined;
  const cpuBefore = world.service.cpuMs();
  const crmCpuBefore = world.service.crmCpuMs();
  const providerCpuBefore = world.service.providerCpuMs();
  const benchCpuBefore = benchCpuMs();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: users }, async (_, worker) => {
      for (let i = 0; i < perUser; i += 1)
        latencies.push(await consentFlow(world, `${label}-${worker}-${i}`, phases, request));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = world.service.cpuMs() - cpuBefore;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    users,
    flows: latencies.length,
    flowsPerSecond: round(latencies.length / seconds),
    cpuMsPerFlow: round(cpu / latencies.length),
    crmCpuMsPerFlow: round((world.service.crmCpuMs() - crmCpuBefore) / latencies.length),
    providerCpuMsPerFlow: round((world.service.providerCpuMs() - providerCpuBefore) / latencies.length),
    benchCpuMsPerFlow: round((benchCpuMs() - benchCpuBefore) / latencies.length),
    callbackToReplyP50Ms: round(percentile(sorted, 50)),
    callbackToReplyP95Ms: round(percentile(sorted, 95)),
    ...(phases
      ? {
          cpuMsByPart: {
            requestTurn: round(phases.requestTurn / latencies.length),
            oauthStart: round(phases.oauthStart / latencies.length),
            providerPages: round(phases.providerPages / latencies.length),
            callbackAndResume: round(phases.callbackAndResume / latencies.length),
          },
        }
      : {}),
  };
}

interface TurnFigures {
  turnsPerSecond: number;
  cpuMsPerTurn: number;
  p50Ms: number;
}

/** `turns` turns over `users` (one conversation each, turns of one conversation in sequence). */
async function turns(
  world: World,
  users: readonly string[],
  text: string,
  expect: (reply: Activity | undefined) => boolean,
  turnCount: number,
  into: { ms: number[]; seconds: number; cpuMs: number },
): Promise<void> {
  const cpuBefore = world.service.cpuMs();
  const started = performance.now();
  let left = turnCount;
  await Promise.all(
    users.map(async (user) => {
      const conversation = `conv-${user}`;
      while (left > 0) {
        left -= 1;
        const before = world.channel.count(conversation);
        const t0 = performance.now();
        await post(world, user, text);
        const [reply] = (await world.channel.waitFor(conversation, before + 1)).slice(before);
        into.ms.push(performance.now() - t0);
        if (!expect(reply)) throw new Error(`"${text}" answered ${JSON.stringify(reply).slice(0, 300)}`);
      }
    }),
  );
  into.seconds += (performance.now() - started) / 1000;
  into.cpuMs += world.service.cpuMs() - cpuBefore;
}

function turnFigures(into: { ms: number[]; seconds: number; cpuMs: number }): TurnFigures {
  const sorted = [...into.ms].sort((a, b) => a - b);
  return {
    turnsPerSecond: Math.round(into.ms.length / into.seconds),
    cpuMsPerTurn: round(into.cpuMs / into.ms.length, 2),
    p50Ms: round(percentile(sorted, 50), 2),
  };
}

/** The flows in one service, with the demo CRM in it or outside it. */
export interface FlowSet {
  crm: CrmPlacement;
  firstFlowCpuMs: number;
  /** CommonJS modules the first flow loaded (0 when everything is loaded at start). */
  firstFlowModulesLoaded: number;
  oneUser: FlowFigures;
  eightUsers: FlowFigures;
  /** "connect demo" flows, one user: the consent without the CRM call. */
  consentOnly: FlowFigures;
  /** Event-loop delay during the 8-user flows. */
  eventLoop: { p99Ms: number; maxMs: number };
}

export interface ConsentFlowFigures {
  /** As `npm start` runs: the demo CRM under the service's /demo/crm (the service pays both ends). */
  crmInService?: FlowSet;
  /** As production runs (HubSpot outside): the demo CRM in its own process. Targets are judged here. */
  crmOutside: FlowSet;
  plainTurn: TurnFigures;
  authorizedTurn: TurnFigures;
  authorizedTurnRatio: number;
  eventLoop: { flowsP99Ms: number; turnsP99Ms: number; maxMs: number; p99Ms: number };
  ok: { cpu: boolean; p95: boolean; ratio: boolean; eventLoop: boolean };
  /** 1-minute load average at start and end, and the cores: latencies and event-loop delay depend on it. */
  machine: { cpus: number; loadAtStart: number; loadAtEnd: number };
}

async function readDelay(service: ServiceChild): Promise<{ p99Ms: number; maxMs: number }> {
  const eld = await service.probe({ probe: 'eld-read' }, 'eld');
  return { p99Ms: round(Number(eld.p99Ms)), maxMs: round(Number(eld.maxMs)) };
}

type Profiler = (name: string, run: () => Promise<void>) => Promise<void>;

function profiler(service: ServiceChild, crm: CrmPlacement): Profiler {
  const profileDir = process.env.BENCH_CPU_PROFILE;
  const heapDir = process.env.BENCH_HEAP_PROFILE;
  return async (name, run) => {
    if (heapDir) {
      mkdirSync(heapDir, { recursive: true });
      await service.probe({ probe: 'heap-start' }, 'heap-started');
    }
    if (profileDir) {
      mkdirSync(profileDir, { recursive: true });
      await service.probe({ probe: 'profile-start' }, 'profile-started');
    }
    await run();
    if (profileDir) {
      const file = path.resolve(profileDir, `${crm}-${name}.cpuprofile`);
      await service.probe({ probe: 'profile-stop', file }, 'profile-written');
    }
    if (heapDir) {
      const file = path.resolve(heapDir, `${crm}-${name}.heapprofile`);
      await service.probe({ probe: 'heap-stop', file }, 'heap-written');
    }
  };
}

async function measureFlows(world: World, crm: CrmPlacement, profile: Profiler): Promise<FlowSet> {
  const { service } = world;
  // The first flow after start, alone: what loading on first use costs (issue 12: warm at start).
  const markedCount = (await service.probe({ probe: 'modules-mark' }, 'modules-marked')).count;
  if (process.env.BENCH_LIST_LAZY) console.log(`modules at start: ${String(markedCount)}`);
  const cpuBefore = service.cpuMs();
  await consentFlow(world, 'first');
  const firstFlowCpuMs = round(service.cpuMs() - cpuBefore);
  const lazy = (await service.probe({ probe: 'modules-new' }, 'modules')).loaded as string[];
  if (process.env.BENCH_LIST_LAZY) console.log(`modules loaded by the first flow:\n  ${lazy.join('\n  ')}`);
  await flows(world, 1, WARM_FLOWS - 1, 'warm');
  let oneUser: FlowFigures | undefined;
  await profile('flows-1-user', async () => {
    oneUser = await flows(world, 1, FLOWS_ONE_USER, 'one');
  });
  // The consent alone: "connect demo" resumes with "You're connected", no CRM call.
  const consentOnly = await flows(world, 1, FLOWS_ONE_USER, 'consent', 'connect demo');
  await service.probe({ probe: 'eld-reset' }, 'eld-reset');
  let eightUsers: FlowFigures | undefined;
  await profile('flows-8-users', async () => {
    eightUsers = await flows(world, USERS, FLOWS_PER_USER_AT_8, 'eight');
  });
  if (!eightUsers || !oneUser) throw new Error('unreachable');
  return {
    crm,
    firstFlowCpuMs,
    firstFlowModulesLoaded: lazy.length,
    oneUser,
    eightUsers,
    consentOnly,
    eventLoop: await readDelay(service),
  };
}

/** Which placements to run: BENCH_CRM=outside or in-service runs one (quicker comparisons), else both. */
function placements(): CrmPlacement[] {
  const only = process.env.BENCH_CRM;
  if (only === 'outside' || only === 'in-service') return [only];
  if (only) throw new Error(`BENCH_CRM must be "outside" or "in-service", not "${only}"`);
  return ['in-service', 'outside'];
}

export async function benchConsentFlows(): Promise<ConsentFlowFigures> {
  const loadAtStart = round(loadavg()[0] ?? NaN);
  const channel = new ChannelStandIn();
  await channel.start();
  try {
    let crmInService: FlowSet | undefined;
    let result: Omit<ConsentFlowFigures, 'machine' | 'crmInService'> | undefined;
    for (const crm of placements()) {
      const service = await startServiceChild(crm);
      const world: World = { service, channel, nextActivity: 0, nextLogin: 0 };
      const profile = profiler(service, crm);
      try {
        const set = await measureFlows(world, crm, profile);
        if (crm === 'in-service') {
          crmInService = set;
          continue;
        }
        // Turns, on the production-like service. Users connected above; "connect demo" runs the
        // AuthorizationDialog, which returns their token.
        const users = Array.from({ length: TURN_USERS }, (_, i) => `eight-${i}-0`);
        const plain = { ms: [] as number[], seconds: 0, cpuMs: 0 };
        const authorized = { ms: [] as number[], seconds: 0, cpuMs: 0 };
        const isHelp = (reply: Activity | undefined) =>
          reply?.text?.startsWith('Here is what I can do') === true;
        const isAlreadyConnected = (reply: Activity | undefined) =>
          reply?.text?.startsWith('You are already connected to Demo CRM') === true;
        await turns(world, users, 'help', isHelp, 40, { ms: [], seconds: 0, cpuMs: 0 });
        await turns(world, users, 'connect demo', isAlreadyConnected, 40, { ms: [], seconds: 0, cpuMs: 0 });
        await service.probe({ probe: 'eld-reset' }, 'eld-reset');
        await profile('turns', async () => {
          // Alternating rounds, so drift (GC, other processes on the machine) hits both alike.
          for (let round = 0; round < TURN_ROUNDS; round += 1) {
            await turns(world, users, 'help', isHelp, TURNS_PER_ROUND, plain);
            await turns(world, users, 'connect demo', isAlreadyConnected, TURNS_PER_ROUND, authorized);
          }
        });
        const turnsDelay = await readDelay(service);
        const plainTurn = turnFigures(plain);
        const authorizedTurn = turnFigures(authorized);
        const authorizedTurnRatio = round(authorizedTurn.turnsPerSecond / plainTurn.turnsPerSecond, 2);
        const p99Ms = Math.max(set.eventLoop.p99Ms, turnsDelay.p99Ms);
        result = {
          crmOutside: set,
          plainTurn,
          authorizedTurn,
          authorizedTurnRatio,
          eventLoop: {
            flowsP99Ms: set.eventLoop.p99Ms,
            turnsP99Ms: turnsDelay.p99Ms,
            maxMs: Math.max(set.eventLoop.maxMs, turnsDelay.maxMs),
            p99Ms,
          },
          ok: {
            cpu: Math.max(set.oneUser.cpuMsPerFlow, set.eightUsers.cpuMsPerFlow) <= TARGETS.cpuMsPerFlow,
            p95: set.eightUsers.callbackToReplyP95Ms <= TARGETS.p95MsAt8Users,
            ratio: authorizedTurnRatio >= TARGETS.authorizedTurnRatio,
            eventLoop: p99Ms <= TARGETS.eventLoopP99Ms,
          },
        };
      } finally {
        await service.stop();
      }
    }
    if (!result) {
      // BENCH_CRM=in-service: no production-like figures, so no verdicts.
      if (!crmInService) throw new Error('unreachable');
      return {
        crmInService,
        crmOutside: crmInService,
        plainTurn: { turnsPerSecond: NaN, cpuMsPerTurn: NaN, p50Ms: NaN },
        authorizedTurn: { turnsPerSecond: NaN, cpuMsPerTurn: NaN, p50Ms: NaN },
        authorizedTurnRatio: NaN,
        eventLoop: { flowsP99Ms: crmInService.eventLoop.p99Ms, turnsP99Ms: NaN, maxMs: NaN, p99Ms: NaN },
        ok: { cpu: false, p95: false, ratio: false, eventLoop: false },
        machine: { cpus: cpus().length, loadAtStart, loadAtEnd: round(loadavg()[0] ?? NaN) },
      };
    }
    return {
      ...(crmInService ? { crmInService } : {}),
      ...result,
      machine: { cpus: cpus().length, loadAtStart, loadAtEnd: round(loadavg()[0] ?? NaN) },
    };
  } finally {
    await channel.close();
  }
}
