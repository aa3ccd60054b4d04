// Runs the real service (bot/main.ts, what `npm start` runs) as a child process for end-to-end tests:
// from the TypeScript sources through tsx, so no build step is needed and dist/ can never be stale.
// The child gets a temporary DATA_DIR (unless one is given, e.g. shared by two instances), a free port,
// and only the environment the test names; every line it prints is kept for assertions (log scans).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { findRepoRoot } from './authServer';
import { freePort } from './freePort';

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 8_000;

export { freePort };

export interface ServiceLogLine {
  stream: 'stdout' | 'stderr';
  text: string;
  /** The pino record when the line is JSON. */
  json?: Record<string, unknown>;
}

export interface ServiceOptions {
  /** A label for error messages ("A", "B", ...). */
  name?: string;
  /** 0 or undefined picks a free port. */
  port?: number;
  /** Shared with another instance to share the SQLite store; a temporary directory otherwise. */
  dataDir?: string;
  /** Extra environment (PUBLIC_URL, ENCRYPTION_KEYS, DEMO_PROVIDER_URL, ...). PORT and DATA_DIR are set here. */
  env?: Record<string, string>;
}

export interface RunningService {
  name: string;
  port: number;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  dataDir: string;
  pid: number | undefined;
  /** Every line printed so far, stdout and stderr. */
  lines(): ServiceLogLine[];
  /** Waits for a line whose text matches (or whose JSON record satisfies) the predicate. */
  waitForLog(
    match: RegExp | ((line: ServiceLogLine) => boolean),
    timeoutMs?: number,
  ): Promise<ServiceLogLine>;
  /** SIGTERM, then SIGKILL of the whole process group after a grace period. Idempotent. */
  stop(): Promise<void>;
}

// Variables bot/config.ts reads: never inherited from the test runner's environment, so a developer's
// shell (HUBSPOT_CLIENT_ID, MONGODB_URI, ...) cannot change what the test runs against.
const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SystemRoot', 'TZ'];

export async function startService(options: ServiceOptions = {}): Promise<RunningService> {
  const name = options.name ?? 'service';
  const port = options.port || (await freePort());
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'authprofiles-e2e-'));
  const root = findRepoRoot(__dirname);

  const env: Record<string, string> = {};
  for (const key of INHERITED) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, {
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    PROFILES_DIR: path.join(dataDir, 'no-custom-profiles'),
    ...options.env,
    PORT: String(port),
    DATA_DIR: dataDir,
  });

  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join('bot', 'main.ts')], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a stuck service and its demo provider child can be killed together.
    detached: true,
  });

  const collected: ServiceLogLine[] = [];
  const listeners = new Set<(line: ServiceLogLine) => void>();
  const collect = (stream: 'stdout' | 'stderr', input: NodeJS.ReadableStream | null): void => {
    if (!input) return;
    createInterface({ input }).on('line', (text) => {
      const line: ServiceLogLine = { stream, text };
      if (text.startsWith('{')) {
        try {
          line.json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not a pino line
        }
      }
      collected.push(line);
      for (const listener of listeners) listener(line);
    });
  };
  collect('stdout', child.stdout);
  collect('stderr', child.stderr);

  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = `exited (code ${code}, signal ${signal})`;
      resolve();
    });
  });

  const tail = (): string =>
    collected
      .slice(-30)
      .map((line) => line.text)
      .join('\n');

  const killGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitInfo === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      // The demo provider exits with the service; make sure nothing of the group is left behind.
      killGroup('SIGKILL');
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exitInfo !== undefined) {
      await stop();
      throw new Error(`service ${name} ${exitInfo} before it was ready:\n${tail()}`);
    }
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) break;
      await res.body?.cancel();
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`service ${name} did not answer /healthz within ${READY_TIMEOUT_MS} ms:\n${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    name,
    port,
    baseUrl,
    dataDir,
    pid: child.pid,
    lines: () => [...collected],
    waitForLog: (match, timeoutMs = 10_000) => {
      const test = typeof match === 'function' ? match : (line: ServiceLogLine) => match.test(line.text);
      const found = collected.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const listener = (line: ServiceLogLine): void => {
          if (!test(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        };
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(
            new Error(
              `service ${name} logged nothing matching ${String(match)} within ${timeoutMs} ms:\n${tail()}`,
            ),
          );
        }, timeoutMs);
        listeners.add(listener);
      });
    },
    stop,
  };
}

export interface ProxiedRequest {
  method: string;
  path: string;
  backend: string;
  status: number;
}

export interface LoadBalancer {
  /** http://127.0.0.1:<port>: the PUBLIC_URL every instance behind it shares. */
  url: string;
  port: number;
  /** Every request forwarded so far, with the name of the instance that answered it. */
  served(): ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * A tiny reverse proxy standing for the load balancer of a scaled-out deployment: every instance
 * gets its URL as PUBLIC_URL, and `choose` says which instance answers each request (so a test can
 * send the OAuth callback to another instance than the one that holds the chat). Each response
 * carries `x-served-by: <instance name>`.
 */
export async function startLoadBalancer(
  choose: (request: { method: string; path: string }) => RunningService,
): Promise<LoadBalancer> {
  const served: ProxiedRequest[] = [];
  const server = createHttpServer((req, res) => {
    const method = req.method ?? 'GET';
    const requestPath = req.url ?? '/';
    const backend = choose({ method, path: requestPath });
    const upstream = httpRequest(
      { host: '127.0.0.1', port: backend.port, method, path: requestPath, headers: req.headers },
      (answer) => {
        served.push({ method, path: requestPath, backend: backend.name, status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-served-by': backend.name });
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      served.push({ method, path: requestPath, backend: backend.name, status: 502 });
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    served: () => [...served],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
