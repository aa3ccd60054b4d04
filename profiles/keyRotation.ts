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
 * Re-seals every stored secret with the current key (SECURITY row 29). Records already on the
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
  for (const profile of await store.profiles.list()) {
    if (!profile.clientSecret) continue;
    report.scanned += 1;
    if (keyRing.isCurrent(profile.clientSecret)) {
      report.alreadyCurrent += 1;
      continue;
    }
    try {
      const clientSecret = keyRing.reencrypt(
        profile.clientSecret,
        secretContext('profiles', profile.id, 'clientSecret'),
      );
      const { version, ...rest } = profile;
      if (await store.profiles.put({ ...rest, clientSecret }, version)) report.reencrypted += 1;
    } catch (error) {
      report.failed.push({
        id: `profile:${profile.id}`,
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
    for (const connection of page) {
      report.scanned += 1;
      report.lastId = connection.id;
      try {
        const sealed = reencryptConnection(engine, connection);
        if (!sealed) {
          report.alreadyCurrent += 1;
          continue;
        }
        if (await store.connections.update(connection.id, connection.version, sealed))
          report.reencrypted += 1;
        else report.alreadyCurrent += 1;
      } catch (error) {
        report.failed.push({ id: connection.id, code: isAuthProfilesError(error) ? error.code : 'error' });
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
