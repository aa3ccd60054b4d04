import { join } from 'node:path';
import type { Command } from 'commander';
import { DEV_KEY_FILE, type RotationReport } from '../../../profiles';
import type { Config } from '../../config';
import { err, out } from './cliOutput';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE, type OpenedEngine } from './common';
import type { Backends } from './openBackend';

/** `encryption rotate`: re-encrypt every record with the current key, resumable (SECURITY.md #52). */
export function encryptionCommands(backends: Backends) {
  /**
   * Refuses a rotation to a key that a service using this store does not hold (SECURITY.md #52): the
   * records it re-encrypts would be unreadable there. Key ids only in the message, never keys.
   */
  async function assertServicesHoldKey(engine: OpenedEngine['engine'], cfg: Config): Promise<void> {
    const target = engine.currentKeyId;
    const holders = await engine.keyHoldersToRespect();
    const now = Date.now();
    const ago = (at: number) => `${Math.max(0, Math.round((now - at) / 1000))} s ago`;
    const describe = (holder: (typeof holders)[number]) =>
      holder.running
        ? `the running service (${holder.where}, seen ${ago(holder.seenAt)})`
        : `the service that last ran on this store (${holder.where}, stopped ${ago(holder.stoppedAt ?? holder.seenAt)})`;
    const lacking = holders.filter((holder) => !holder.keyIds.includes(target));
    if (lacking.length > 0) {
      const holder = lacking[0] as (typeof holders)[number];
      const old = holder.keyIds.map((id) => `"${id}"`).join(', ');
      const devKey = cfg.devFeatures
        ? ` (in dev mode the old key is the content of ${join(cfg.dataDir, DEV_KEY_FILE)})`
        : '';
      throw new CliError(
        `refusing to re-encrypt with key "${target}": ${describe(holder)} holds only ${old} and could not read ` +
          `what this rotation writes${lacking.length > 1 ? ` (nor could ${lacking.length - 1} other instance(s))` : ''}.\n` +
          `Put the new key first in the service's ENCRYPTION_KEYS, keep the old one after it, restart the service, ` +
          `then run this command again with the same ENCRYPTION_KEYS${devKey}:\n` +
          `  ENCRYPTION_KEYS="${target}:<new key>,${holder.currentKeyId}:<old key>"\n` +
          `(--force skips this check, for a service that will never run again with that configuration)`,
        EXIT_USAGE,
      );
    }
    for (const holder of holders.filter((candidate) => candidate.currentKeyId !== target)) {
      err(
        `note: ${describe(holder)} can read "${target}" but still seals new secrets with "${holder.currentKeyId}": ` +
          `put "${target}" first there before removing "${holder.currentKeyId}" from ENCRYPTION_KEYS`,
      );
    }
  }

  async function encryptionRotate(
    options: { after?: string; batchSize?: number; force?: boolean },
    command: Command,
  ): Promise<number> {
    backends.localOnly(command, 'encryption rotate');
    const cfg = backends.config();
    const services = await backends.openEngine(cfg);
    const { engine } = services;
    let progress: RotationReport | null = null;
    const interrupted = () => {
      err('');
      err('interrupted.');
      if (progress?.lastId) err(`resume with: authprofiles encryption rotate --after ${progress.lastId}`);
      else err('nothing was finished yet; run the same command again');
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    try {
      if (!options.force) await assertServicesHoldKey(engine, cfg);
      err(`re-encrypting with the current key "${engine.currentKeyId}" (${describeStore(cfg)})`);
      const report = await engine.reencryptAll({
        ...(options.after ? { after: options.after } : {}),
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
        onProgress: (current) => {
          progress = { ...current, failed: [...current.failed] };
          err(
            `  scanned ${current.scanned}, re-encrypted ${current.reencrypted}, already current ${current.alreadyCurrent}, ` +
              `failed ${current.failed.length} (last ${current.lastId ?? '-'})`,
          );
        },
      });
      out(`key: ${engine.currentKeyId}`);
      out(`scanned: ${report.scanned}`);
      out(`re-encrypted: ${report.reencrypted}`);
      out(`already current: ${report.alreadyCurrent}`);
      out(`failed: ${report.failed.length}`);
      for (const failure of report.failed) out(`  ${failure.id} ${failure.code}`);
      if (report.failed.length > 0) {
        err(
          `${report.failed.length} record(s) could not be re-encrypted. Add the key they were sealed with to ENCRYPTION_KEYS ` +
            '(after the current one) and run again: records already on the current key are skipped.',
        );
        if (report.lastId)
          err(
            `to continue after the last record handled: authprofiles encryption rotate --after ${report.lastId}`,
          );
        return EXIT_FAILED;
      }
      return EXIT_OK;
    } finally {
      process.removeListener('SIGINT', interrupted);
      process.removeListener('SIGTERM', interrupted);
      await services.close().catch(() => undefined);
    }
  }

  function describeStore(cfg: Config): string {
    return cfg.env.MONGODB_URI ? `mongodb database ${cfg.env.MONGODB_DB}` : `sqlite under ${cfg.dataDir}`;
  }

  return { rotate: encryptionRotate };
}
