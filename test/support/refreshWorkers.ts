// Starts refreshWorker processes that share one SQLite file (SECURITY.md #21–#22), for the tests
// (TypeScript through tsx) and the bench (compiled JavaScript in dist/, no tsx needed).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { EngineSettings } from '../../profiles/engineContext';
import type { Profile } from '../../profiles/profileCatalog';
import type { Subject } from '../../profiles/subjects';

export interface RefreshWorkerConfig {
  dbFile: string;
  /** ENCRYPTION_KEYS-style key spec, the same the parent's engine uses. */
  encryptionKeys: string;
  /** A resolved profile (as `catalog.get` returns it), so every process has the same fingerprint. */
  profile: Profile;
  subject: Subject;
  /** Concurrent getToken calls this worker fires at `startAt`. */
  calls: number;
  settings: EngineSettings;
  /** Epoch ms; when absent, the start time is sent on stdin by `RefreshWorkerGroup.start`. */
  startAt?: number;
}

export type RefreshWorkerResult =
  { ok: true; tokenHash: string; waitMs: number } | { ok: false; reason: string; waitMs: number };

export interface RefreshWorkerReport {
  results: RefreshWorkerResult[];
  /** The worker's TokenService after its calls: inFlight and unsaved are 0 when nothing was left behind. */
  activity: { inFlight: number; unsaved: number; openedAccessTokens: number };
}

export interface RefreshWorkerGroup {
  pids: number[];
  /** Sends every worker the same start time (now + delayMs) and resolves with their reports. */
  start(delayMs?: number): Promise<RefreshWorkerReport[]>;
  /** SIGKILL, as a crash: no finally blocks, no lease release. */
  kill(index: number): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/** The worker next to this file: compiled JavaScript when this is, TypeScript through tsx otherwise. */
function workerArgs(): string[] {
  const compiled = __filename.endsWith('.js');
  const script = path.join(__dirname, compiled ? 'refreshWorker.js' : 'refreshWorker.ts');
  return compiled ? [script] : ['--import', 'tsx', script];
}

interface Worker {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  report: Promise<RefreshWorkerReport>;
  exited: Promise<void>;
}

function startWorker(config: RefreshWorkerConfig): Worker {
  const child = spawn(process.execPath, workerArgs(), {
    env: { ...process.env, REFRESH_WORKER_CONFIG: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  // 'close', not 'exit': by then every line the worker wrote has been read.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  let onReady: () => void = () => undefined;
  let onReport: (report: RefreshWorkerReport) => void = () => undefined;
  let onFailure: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    const timer = setTimeout(
      () => reject(new Error(`refresh worker not ready\n${stderr}`)),
      READY_TIMEOUT_MS,
    );
    timer.unref();
    void exited.then(() => reject(new Error(`refresh worker exited before ready\n${stderr}`)));
  });
  const report = new Promise<RefreshWorkerReport>((resolve, reject) => {
    onReport = resolve;
    onFailure = reject;
  });
  // A killed worker never reports; keep that from becoming an unhandled rejection.
  report.catch(() => undefined);
  void exited.then(() => onFailure(new Error(`refresh worker exited without a report\n${stderr}`)));
  lines.on('line', (line) => {
    let message: { ready?: boolean; done?: boolean } & Partial<RefreshWorkerReport>;
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return; // not part of the protocol
    }
    if (message.ready) onReady();
    if (message.done && message.results && message.activity) {
      onReport({ results: message.results, activity: message.activity });
    }
  });
  return { child, ready, report, exited };
}

export async function startRefreshWorkers(
  count: number,
  config: Omit<RefreshWorkerConfig, 'startAt'>,
): Promise<RefreshWorkerGroup> {
  const workers = Array.from({ length: count }, () => startWorker(config));
  try {
    await Promise.all(workers.map((worker) => worker.ready));
  } catch (error) {
    for (const worker of workers) worker.child.kill('SIGKILL');
    throw error;
  }
  return {
    pids: workers.map((worker) => worker.child.pid ?? -1),
    async start(delayMs = 200) {
      const startAt = Date.now() + delayMs;
      for (const worker of workers) worker.child.stdin.end(`${startAt}\n`);
      return Promise.all(workers.map((worker) => worker.report));
    },
    async kill(index) {
      const worker = workers[index];
      if (!worker || worker.child.exitCode !== null) return;
      worker.child.kill('SIGKILL');
      await worker.exited;
    },
    async stop() {
      for (const worker of workers) {
        if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      }
      await Promise.all(workers.map((worker) => worker.exited));
    },
  };
}
