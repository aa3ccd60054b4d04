import { reencryptConnection } from './connections';
import { secretContext } from './encryption';
import { recordAudit, type EngineContext } from './engineContext';
import { isAuthProfilesError } from './errors';

export interface RotationReport {
  scanned: number;
  reencrypted: number;
  alreadyCurrent: number;
  /** Records that could not be opened (unknown key id, bad tag), by id with the error code. */
  failed: { id: string; code: string }[];
  /** Id of the last connection handled; pass it back as `after` to resume. */
  lastId: string | null;
}

/**
 * Re-seals every stored secret with the current key (SECURITY.md #29). Records already on the
 * current key are skipped, so running it again after an interruption resumes where it stopped;
 * `after` skips the connections already walked. Each write is compare-and-set, so a refresh that
 * lands meanwhile wins and its fresh ciphertext (already on the current key) is kept.
 */
export async function reencryptAll(
  engine: EngineContext,
  options: { batchSize?: number; after?: string; onProgress?: (report: RotationReport) => void } = {},
): Promise<RotationReport> {
  const report: RotationReport = {
    scanned: 0,
    reencrypted: 0,
    alreadyCurrent: 0,
    failed: [],
    lastId: options.after ?? null,
  };
  const { store, keyRing } = engine;
  for (const listed of await store.profiles.list()) {
    if (!listed.clientSecret) continue;
    report.scanned += 1;
    try {
      const outcome = await retryOnConflict(
        listed,
        (id) => store.profiles.get(id),
        async (profile) => {
          if (!profile.clientSecret || keyRing.isCurrent(profile.clientSecret)) return 'current';
          const clientSecret = keyRing.reencrypt(
            profile.clientSecret,
            secretContext('profiles', profile.id, 'clientSecret'),
          );
          const { version, ...rest } = profile;
          return (await store.profiles.put({ ...rest, clientSecret }, version)) ? 'sealed' : 'conflict';
        },
      );
      if (outcome === 'sealed') report.reencrypted += 1;
      else if (outcome === 'current' || outcome === 'gone') report.alreadyCurrent += 1;
      else report.failed.push({ id: `profile:${listed.id}`, code: 'conflict' });
    } catch (error) {
      report.failed.push({
        id: `profile:${listed.id}`,
        code: isAuthProfilesError(error) ? error.code : 'error',
      });
    }
  }
  const batchSize = options.batchSize ?? 500;
  for (;;) {
    const page = await store.connections.list(
      {},
      { limit: batchSize, ...(report.lastId ? { after: report.lastId } : {}) },
    );
    if (page.length === 0) break;
    for (const listed of page) {
      report.scanned += 1;
      report.lastId = listed.id;
      try {
        // A lost compare-and-set means someone else wrote the record meanwhile: a refresh (already
        // on the current key) or a status change (still on the old key), so read it again and
        // decide afresh rather than counting it as done.
        const outcome = await retryOnConflict(
          listed,
          (id) => store.connections.getById(id),
          async (connection) => {
            const sealed = reencryptConnection(engine, connection);
            if (!sealed) return 'current';
            return (await store.connections.update(connection.id, connection.version, sealed))
              ? 'sealed'
              : 'conflict';
          },
        );
        if (outcome === 'sealed') report.reencrypted += 1;
        else if (outcome === 'current' || outcome === 'gone') report.alreadyCurrent += 1;
        else report.failed.push({ id: listed.id, code: 'conflict' });
      } catch (error) {
        report.failed.push({ id: listed.id, code: isAuthProfilesError(error) ? error.code : 'error' });
      }
    }
    options.onProgress?.(report);
  }
  await recordAudit(engine, {
    actor: 'system',
    action: 'encryption.rotated',
    target: `key:${keyRing.currentKeyId}`,
    details: { scanned: report.scanned, reencrypted: report.reencrypted, failed: report.failed.length },
  });
  return report;
}

const CONFLICT_ATTEMPTS = 5;

/** Runs `attempt` on the record, re-reading it after each lost compare-and-set (a few times). */
async function retryOnConflict<T extends { id: string }>(
  first: T,
  reread: (id: string) => Promise<T | null>,
  attempt: (record: T) => Promise<'sealed' | 'current' | 'conflict'>,
): Promise<'sealed' | 'current' | 'conflict' | 'gone'> {
  let record: T | null = first;
  for (let round = 0; round < CONFLICT_ATTEMPTS; round += 1) {
    const outcome = await attempt(record);
    if (outcome !== 'conflict') return outcome;
    record = await reread(first.id);
    if (!record) return 'gone';
  }
  return 'conflict';
}
