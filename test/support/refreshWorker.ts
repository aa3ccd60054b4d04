// One "instance" of the service for the cross-process refresh tests and the bench (SECURITY.md
// #21–#22): its own engine on a SQLite file shared with other processes, firing `calls` concurrent
// getToken calls at one moment. Runs as TypeScript (`node --import tsx`) or compiled (dist/).
//
// Config: REFRESH_WORKER_CONFIG (JSON, see RefreshWorkerConfig). Protocol on stdout, one JSON line
// each: {"ready":true} once the engine is built, then {"done":true,"results":[...]}. Without
// `startAt` in the config the worker reads the start time (epoch ms) as a line on stdin, so a parent
// can start every worker at the same instant however long each took to boot.
import { createInterface } from 'node:readline';
import { KeyRing, parseEncryptionKeys } from '../../profiles/encryption';
import { AuthorizationEngine } from '../../profiles/engine';
import { silentLogger, type EngineContext } from '../../profiles/engineContext';
import { sha256 } from '../../profiles/ids';
import { OutboundRequests } from '../../profiles/outboundRequests';
import { ProfileCatalog } from '../../profiles/profileCatalog';
import { SqliteStore } from '../../profiles/store/sqliteStore';
import type { RefreshWorkerConfig, RefreshWorkerResult } from './refreshWorkers';

async function startTime(config: RefreshWorkerConfig): Promise<number> {
  if (config.startAt !== undefined) return config.startAt;
  const lines = createInterface({ input: process.stdin });
  const line = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    lines.once('close', () => reject(new Error('stdin closed before the start time came')));
  });
  lines.close();
  return Number(line);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.REFRESH_WORKER_CONFIG ?? '') as RefreshWorkerConfig;
  const store = new SqliteStore(config.dbFile);
  const keyRing = new KeyRing(parseEncryptionKeys(config.encryptionKeys));
  const context: EngineContext = {
    store,
    keyRing,
    catalog: new ProfileCatalog({ store, keyRing, env: {}, validation: { allowInsecureLoopback: true } }),
    outbound: new OutboundRequests({ allowInsecureLoopback: true }),
    publicUrl: 'http://127.0.0.1:39999',
    clock: Date.now,
    log: silentLogger,
    settings: config.settings,
  };
  const engine = new AuthorizationEngine(context);
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);

  const startAt = await startTime(config);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  const results = await Promise.all(
    Array.from({ length: config.calls }, async (): Promise<RefreshWorkerResult> => {
      const started = performance.now();
      const result = await engine.getToken(config.profile, config.subject).catch((error: unknown) => ({
        ok: false as const,
        reason: `threw ${(error as { code?: string }).code ?? 'error'}`,
      }));
      const waitMs = performance.now() - started;
      // Only a hash of the token leaves the process: enough to compare, useless to anyone reading.
      return result.ok
        ? { ok: true, tokenHash: sha256(result.accessToken), waitMs }
        : { ok: false, reason: result.reason, waitMs };
    }),
  );
  const activity = engine.tokens.activity();
  await store.close();
  process.stdout.write(`${JSON.stringify({ done: true, results, activity })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`refresh worker failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
