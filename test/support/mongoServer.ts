// A MongoDB for the MongoStore suites, in order of preference: the server in MONGODB_URI, a `mongod`
// on PATH, or CongoDB (a wire-compatible server that installs from npm; FACTS.md lists what it
// cannot do). Suites ask `mongoTestTarget()` synchronously which one they will get, because Jest
// decides which tests to skip while collecting them, before any server has started.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';

import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { findRepoRoot } from './authServer';
import { freePort } from './freePort';

export type MongoSource = 'MONGODB_URI' | 'mongod' | 'congodb';

export interface MongoTestTarget {
  source: MongoSource;
  /** False for CongoDB: no unique secondary indexes, no TTL expiry, no partial indexes. */
  realServer: boolean;
}

export interface MongoForTests extends MongoTestTarget {
  uri: string;
  /** A database name unique to this run; `stop()` drops every one still there. */
  newDatabaseName(): string;
  dropDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

export interface RunningCongoServer {
  uri: string;
  port: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export const CONGO_SERVER_SCRIPT = path.join(findRepoRoot(), 'test', 'support', 'congoServer.mjs');

export function mongoTestTarget(): MongoTestTarget {
  if (process.env.MONGODB_URI) return { source: 'MONGODB_URI', realServer: true };
  if (findOnPath('mongod')) return { source: 'mongod', realServer: true };
  return { source: 'congodb', realServer: false };
}

export async function startMongoForTests(): Promise<MongoForTests> {
  const target = mongoTestTarget();
  if (target.source === 'MONGODB_URI') {
    const uri = process.env.MONGODB_URI as string;
    return withDatabases(target, uri, async () => undefined);
  }
  if (target.source === 'mongod') {
    const mongod = await startMongod(findOnPath('mongod') as string);
    return withDatabases(target, mongod.uri, mongod.stop);
  }
  const congo = await startCongoServer();
  return withDatabases(target, congo.uri, congo.stop);
}

/** Hands out per-run database names and drops them, so a shared server is left as it was found. */
function withDatabases(target: MongoTestTarget, uri: string, stopServer: () => Promise<void>): MongoForTests {
  const run = `authprofiles_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const handedOut = new Set<string>();
  let counter = 0;
  let admin: MongoClient | undefined;
  const adminClient = async (): Promise<MongoClient> => {
    admin ??= await new MongoClient(uri, { serverSelectionTimeoutMS: 5_000 }).connect();
    return admin;
  };
  const dropDatabase = async (name: string): Promise<void> => {
    await (await adminClient()).db(name).dropDatabase();
    handedOut.delete(name);
  };
  return {
    ...target,
    uri,
    newDatabaseName: () => {
      const name = `${run}_${++counter}`;
      handedOut.add(name);
      return name;
    },
    dropDatabase,
    stop: async () => {
      try {
        for (const name of [...handedOut]) await dropDatabase(name);
      } finally {
        await admin?.close();
        await stopServer();
      }
    },
  };
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Starts test/support/congoServer.mjs; a child process because smartmongo is ESM-only. */
export async function startCongoServer(): Promise<RunningCongoServer> {
  // stdin stays open as a lifeline: the server exits when this process goes away.
  const child = spawn(process.execPath, [CONGO_SERVER_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  const ready = await waitForReadyLine(child, 'CongoDB');
  return {
    uri: `mongodb://${ready.host}:${ready.port}`,
    port: ready.port,
    stop: () => stopChild(child),
  };
}

async function waitForReadyLine(child: ChildProcess, what: string): Promise<{ port: number; host: string }> {
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  return new Promise((resolve, reject) => {
    if (!child.stdout) throw new Error(`${what}: no stdout`);
    const lines = createInterface({ input: child.stdout });
    const fail = (reason: string): void => {
      clearTimeout(timer);
      lines.close();
      child.kill('SIGKILL');
      reject(new Error(`${what} ${reason}\n--- stderr ---\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`exited before ready (code ${code}, signal ${signal})`);
    child.once('exit', onExit);
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.close();
      try {
        const parsed = JSON.parse(line) as { ready?: boolean; port?: number; host?: string };
        if (parsed.ready !== true || typeof parsed.port !== 'number') throw new Error('not a ready line');
        resolve({ port: parsed.port, host: parsed.host ?? '127.0.0.1' });
      } catch {
        fail(`printed an unexpected first line: ${line}`);
      }
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** A throwaway standalone `mongod` on a free port with its data in a temp dir. */
async function startMongod(binary: string): Promise<{ uri: string; stop(): Promise<void> }> {
  const dbPath = mkdtempSync(path.join(os.tmpdir(), 'authprofiles-mongod-'));
  const port = await freePort();
  const child = spawn(binary, ['--dbpath', dbPath, '--bind_ip', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const uri = `mongodb://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await stopChild(child);
    rmSync(dbPath, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS * 2;
  for (;;) {
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return { uri, stop };
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`mongod did not start on port ${port}`, { cause: error });
      }
    } finally {
      await client.close();
    }
  }
}
