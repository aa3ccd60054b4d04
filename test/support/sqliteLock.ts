// Another process holding the write lock of a SQLite file, and a watch on this process's event loop:
// the two halves of the SECURITY.md #53 tests (a locked store must not stall everything else).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

export interface HeldLock {
  /** Commits the other process's transaction; resolves once it has. */
  release(): Promise<void>;
  /** Ends the other process (releasing the lock if still held). */
  stop(): Promise<void>;
}

/** Starts a child process that opens `file` and holds `BEGIN IMMEDIATE`/`EXCLUSIVE` until released. */
export async function holdWriteLock(
  file: string,
  mode: 'IMMEDIATE' | 'EXCLUSIVE' = 'IMMEDIATE',
): Promise<HeldLock> {
  const child = spawn(process.execPath, [path.join(__dirname, 'sqliteLockHolder.mjs'), file, mode], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const waitFor = (expected: string) =>
    new Promise<void>((resolve, reject) => {
      const onLine = (line: string) => {
        if (line !== expected) return;
        lines.off('line', onLine);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null) =>
        reject(new Error(`lock holder exited (${code}) before "${expected}":\n${stderr}`));
      lines.on('line', onLine);
      child.once('exit', onExit);
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor('locked');
  return {
    async release() {
      const released = waitFor('released');
      child.stdin.write('release\n');
      await released;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        await exited;
      }
    },
  };
}

export interface EventLoopWatch {
  /** Stops watching: how often a 10 ms interval fired, and the longest gap between firings (ms). */
  stop(): { ticks: number; maxGapMs: number };
}

/** A 10 ms interval on this process's event loop, recording how often it ran and its longest gap. */
export function watchEventLoop(): EventLoopWatch {
  let last = performance.now();
  let maxGapMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks += 1;
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      maxGapMs = Math.max(maxGapMs, performance.now() - last);
      return { ticks, maxGapMs };
    },
  };
}
