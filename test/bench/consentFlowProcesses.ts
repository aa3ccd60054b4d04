// The processes of bench section (f) (test/bench/consentFlow.ts): the real service as a child (bot/main.ts,
// dev mode, a temp DATA_DIR, the probe preloaded), the stand-alone demo CRM, a channel stand-in that
// receives the bot's replies, and CPU read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { findRepoRoot } from '../support/authServer';
import { freePort } from '../support/serviceProcess';

export const CHANNEL_ID = 'webchat';
const REPLY_TIMEOUT_MS = 15_000;

export interface Activity {
  type?: string;
  text?: string;
  attachments?: { contentType?: string; content?: { buttons?: { value?: string }[] } }[];
  conversation?: { id?: string };
}

/** The channel's side of the Bot Framework protocol: receives the bot's replies at its serviceUrl. */
export class ChannelStandIn {
  private readonly server: http.Server;
  private readonly replies = new Map<string, Activity[]>();
  private readonly waiters = new Map<string, () => void>();
  serviceUrl = '';

  constructor() {
    this.server = http.createServer((req, res) => {
      const match = /^\/v3\/conversations\/([^/]+)\/activities(?:\/[^/]+)?$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match?.[1]) {
        res.writeHead(404).end();
        return;
      }
      const conversation = decodeURIComponent(match[1]);
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const activity = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Activity;
        const list = this.replies.get(conversation) ?? [];
        list.push(activity);
        this.replies.set(conversation, list);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `reply-${list.length}` }));
        this.waiters.get(conversation)?.();
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.serviceUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  count(conversation: string): number {
    return this.replies.get(conversation)?.length ?? 0;
  }

  /** Resolves once the conversation holds `count` replies; returns them. */
  waitFor(conversation: string, count: number): Promise<Activity[]> {
    const current = (): Activity[] => this.replies.get(conversation) ?? [];
    if (current().length >= count) return Promise.resolve(current());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(conversation);
        reject(
          new Error(
            `conversation ${conversation}: ${current().length} of ${count} replies within ${REPLY_TIMEOUT_MS} ms: ${JSON.stringify(current().slice(-2))}`,
          ),
        );
      }, REPLY_TIMEOUT_MS);
      this.waiters.set(conversation, () => {
        if (current().length < count) return;
        clearTimeout(timer);
        this.waiters.delete(conversation);
        resolve(current());
      });
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface ServiceChild {
  baseUrl: string;
  pid: number;
  /** utime + stime of the service process, ms. */
  cpuMs(): number;
  /** The same for the demo CRM's own process when it runs outside; NaN when it is in the service. */
  crmCpuMs(): number;
  /** The same for the demo provider the service started (oidc-provider, its child process). */
  providerCpuMs(): number;
  probe(message: Record<string, unknown>, answer: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** The demo CRM in its own process (bot/dev/demoCrmServer.ts), introspecting at the service's demo provider. */
export async function startCrmChild(
  root: string,
  env: Record<string, string>,
): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('bot', 'dev', 'demoCrmServer.ts')], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo CRM not ready within 30 s:\n${stderr}`)), 30_000);
    void exit.then(() => reject(new Error(`demo CRM exited:\n${stderr}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('demo CRM child has no pid');
  return {
    url,
    pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exit;
      }
    },
  };
}

/**
 * CPU time of a process, ms, to the nanosecond: the sum over its threads of the first field of
 * /proc/<pid>/task/<tid>/schedstat (time on a CPU, ns). utime + stime in /proc/<pid>/stat count in
 * 10 ms ticks, too coarse for a part of a flow that costs 1–5 ms (issue 12). A thread that exits
 * takes its time with it; node's threads (V8 platform, libuv pool) live as long as the process.
 */
export function processCpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch (error) {
      // The thread ended between the listing and the read.
      if (
        (error as NodeJS.ErrnoException).code !== 'ENOENT' &&
        (error as NodeJS.ErrnoException).code !== 'ESRCH'
      )
        throw error;
    }
  }
  return ns / 1e6;
}

/** A process's children (Linux /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}

/** This process's CPU (the channel stand-in and the browser part of each flow), ms. */
export const benchCpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/**
 * Where the dev demo CRM runs: 'in-service' mounts it under the service's /demo/crm (as `npm start`
 * does), so the service also pays the CRM's side of each call and its introspection; 'outside' runs it
 * in its own process (DEMO_CRM_URL), as production has HubSpot outside the service.
 */
export type CrmPlacement = 'in-service' | 'outside';

export async function startServiceChild(crm: CrmPlacement): Promise<ServiceChild> {
  const root = findRepoRoot(__dirname);
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'authprofiles-bench-'));
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, {
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    PORT: String(port),
    PUBLIC_URL: baseUrl,
    DATA_DIR: dataDir,
    PROFILES_DIR: path.join(dataDir, 'no-custom-profiles'),
    // A channel that authenticates its users (as Teams SSO does): no 6-digit code after the callback.
    SIGNIN_VERIFICATION_OFF: CHANNEL_ID,
  });
  let crmChild: Awaited<ReturnType<typeof startCrmChild>> | undefined;
  if (crm === 'outside') {
    // The service's demo provider on a known port with a known client secret, so the CRM process can
    // introspect there (started first; it calls the provider only when a token reaches it).
    const providerPort = await freePort();
    const secret = randomBytes(24).toString('base64url');
    Object.assign(env, { DEMO_PROVIDER_PORT: String(providerPort), DEMO_CLIENT_SECRET: secret });
    crmChild = await startCrmChild(root, {
      ...env,
      DEMO_PROVIDER_URL: `http://127.0.0.1:${providerPort}`,
      PORT: '0',
    });
    env.DEMO_CRM_URL = crmChild.url;
  }
  const child: ChildProcess = spawn(
    process.execPath,
    // `npm start`'s V8 flag (package.json), then the sources through tsx, then the probe.
    [
      `--max-semi-space-size=${process.env.BENCH_SEMI_SPACE_MB ?? '4'}`,
      '--import',
      'tsx',
      '--import',
      path.join(root, 'test', 'bench', 'serviceProbe.ts'),
      path.join('bot', 'main.ts'),
    ],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true },
  );
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      if (process.env.BENCH_SERVICE_LOG) appendFileSync(process.env.BENCH_SERVICE_LOG, `${line}\n`);
      tail.push(line);
      if (tail.length > 30) tail.shift();
    });
  }
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('service child has no pid');
  const stop = async (): Promise<void> => {
    await crmChild?.stop();
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => process.kill(-pid, 'SIGKILL'), 8_000);
      await exit;
      clearTimeout(timer);
    }
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is gone
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`service exited before it was ready:\n${tail.join('\n')}`);
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`service not ready within 60 s:\n${tail.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let providerPid: number | undefined;
  return {
    baseUrl,
    pid,
    cpuMs: () => processCpuMs(pid),
    crmCpuMs: () => (crmChild ? processCpuMs(crmChild.pid) : NaN),
    providerCpuMs: () => {
      providerPid ??= childPids(pid).find((child) =>
        readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('authServer.mjs'),
      );
      return providerPid === undefined ? NaN : processCpuMs(providerPid);
    },
    probe(message, answer) {
      return new Promise((resolve) => {
        const listener = (raw: unknown): void => {
          const reply = raw as Record<string, unknown>;
          if (reply.probe !== answer) return;
          child.off('message', listener);
          resolve(reply);
        };
        child.on('message', listener);
        child.send(message);
      });
    },
    stop,
  };
}
