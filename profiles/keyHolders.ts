import type { EngineContext } from './engineContext';

/**
 * Which encryption keys the running services hold, kept in the store they share (SECURITY.md #52).
 * Each service instance announces the key ids of its ENCRYPTION_KEYS at start and again every
 * `HEARTBEAT_MS`, and says when it stops. `authprofiles encryption rotate` reads this before it
 * re-encrypts anything: sealing records with a key a service does not have makes them unreadable
 * there (the README's first rotation recipe did exactly that to a dev store).
 *
 * Key ids only, never keys. One document holds every instance, written compare-and-set.
 */

const DOCUMENT_KEY = 'authprofiles:key-holders';
/** How often a running instance renews its entry. */
export const HEARTBEAT_MS = 30_000;
/** An entry not renewed for this long belongs to an instance that is gone (crashed, killed). */
export const STALE_MS = 3 * HEARTBEAT_MS;
/** Entries of stopped or gone instances are kept this long, then dropped. */
const FORGET_MS = 30 * 24 * 3600_000;
const WRITE_ATTEMPTS = 5;

export interface KeyHolder {
  instanceId: string;
  /** Every key id in the instance's ENCRYPTION_KEYS, the one it encrypts with first. */
  keyIds: string[];
  currentKeyId: string;
  /** Where it runs, for messages: `host pid 1234`. */
  where: string;
  startedAt: number;
  seenAt: number;
  stoppedAt: number | null;
}

type Holders = Record<string, KeyHolder>;

async function read(engine: EngineContext): Promise<{ holders: Holders; eTag: string | undefined }> {
  const found = (await engine.store.documents.read([DOCUMENT_KEY])).get(DOCUMENT_KEY);
  const holders = (found?.value.holders ?? {}) as Holders;
  return { holders, eTag: found?.eTag };
}

async function update(engine: EngineContext, change: (holders: Holders, now: number) => void): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const { holders, eTag } = await read(engine);
    const now = engine.clock();
    change(holders, now);
    for (const [id, holder] of Object.entries(holders)) {
      if ((holder.stoppedAt ?? holder.seenAt) < now - FORGET_MS) delete holders[id];
    }
    // Compare-and-set on the document; only its very first write is last-writer-wins, and an entry
    // lost to that race comes back with its instance's next heartbeat.
    const written = await engine.store.documents.write(DOCUMENT_KEY, { holders }, eTag ?? '*');
    if (written !== null || attempt >= WRITE_ATTEMPTS) return;
  }
}

/** Announces (or renews) this instance's key ids. */
export async function announceKeyHolder(
  engine: EngineContext,
  instance: { instanceId: string; where: string; startedAt: number },
): Promise<void> {
  await update(engine, (holders, now) => {
    holders[instance.instanceId] = {
      ...instance,
      keyIds: engine.keyRing.keyIds,
      currentKeyId: engine.keyRing.currentKeyId,
      seenAt: now,
      stoppedAt: null,
    };
  });
}

/** Marks this instance stopped; its key ids still count until another instance starts. */
export async function withdrawKeyHolder(engine: EngineContext, instanceId: string): Promise<void> {
  await update(engine, (holders, now) => {
    const holder = holders[instanceId];
    if (holder) holders[instanceId] = { ...holder, stoppedAt: now };
  });
}

/**
 * The services whose keys a rotation must respect: every instance running now; when none is, the
 * one that ran last (it is the configuration that will open the store at its next start).
 */
export async function keyHoldersToRespect(
  engine: EngineContext,
): Promise<(KeyHolder & { running: boolean })[]> {
  const { holders } = await read(engine);
  const now = engine.clock();
  const all = Object.values(holders);
  const running = all.filter((holder) => holder.stoppedAt === null && holder.seenAt >= now - STALE_MS);
  if (running.length > 0) return running.map((holder) => ({ ...holder, running: true }));
  const last = all.sort((a, b) => (b.stoppedAt ?? b.seenAt) - (a.stoppedAt ?? a.seenAt))[0];
  return last ? [{ ...last, running: false }] : [];
}

/** A running heartbeat: renews the entry until stopped, then marks the instance stopped. */
export interface KeyHolderHeartbeat {
  stop(): Promise<void>;
}

export function startKeyHolderHeartbeat(
  engine: EngineContext,
  instance: { instanceId: string; where: string },
  options: { intervalMs?: number } = {},
): KeyHolderHeartbeat {
  const entry = { ...instance, startedAt: engine.clock() };
  const beat = () =>
    announceKeyHolder(engine, entry).catch((error: unknown) =>
      engine.log.warn(
        { errorCode: (error as { code?: string }).code },
        'could not record the encryption key ids of this instance',
      ),
    );
  const first = beat();
  const timer = setInterval(() => void beat(), options.intervalMs ?? HEARTBEAT_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await first;
      await withdrawKeyHolder(engine, instance.instanceId).catch(() => undefined);
    },
  };
}
