import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeySpec, KeyRing, parseEncryptionKeys } from './encryption';
import type { EngineLogger } from './engineContext';
import { AuthProfilesError } from './errors';

export const DEV_KEY_FILE = 'encryption-key.dev';

/**
 * `ENCRYPTION_KEYS` when set. Without it, production refuses to start (SECURITY.md #31) and dev
 * generates a key under DATA_DIR once, with a warning, so `npm start` works on a fresh machine.
 */
export function loadKeyRing(options: {
  encryptionKeys: string | undefined;
  production: boolean;
  dataDir: string;
  log: EngineLogger;
}): KeyRing {
  if (options.encryptionKeys && options.encryptionKeys.trim() !== '') {
    return new KeyRing(parseEncryptionKeys(options.encryptionKeys));
  }
  if (options.production) {
    throw new AuthProfilesError(
      'invalid-configuration',
      'ENCRYPTION_KEYS is required in production (NODE_ENV=production): set it to "k1:<32 random bytes in base64>", e.g. k1:$(openssl rand -base64 32)',
    );
  }
  const file = join(options.dataDir, DEV_KEY_FILE);
  let created = false;
  if (!existsSync(file)) {
    mkdirSync(options.dataDir, { recursive: true });
    // Written aside, then linked into place: the key file appears complete or not at all, and when
    // another process starting at the same moment got there first, its key is the one used.
    const spec = `${generateKeySpec('dev1')}\n`;
    const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(temporary, spec, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temporary, file);
      created = true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        // someone else's key won; fall through and read it
      } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') {
        // A file system without hard links: exclusive create is the next best thing.
        writeFileSync(file, spec, { mode: 0o600, flag: 'wx' });
        created = true;
      } else {
        throw error;
      }
    } finally {
      rmSync(temporary, { force: true });
    }
  }
  if (created) {
    options.log.warn(
      { file },
      'ENCRYPTION_KEYS is not set: generated a development key; set ENCRYPTION_KEYS in production',
    );
  } else {
    options.log.warn({ file }, 'ENCRYPTION_KEYS is not set: using the development key');
  }
  return new KeyRing(parseEncryptionKeys(readFileSync(file, 'utf8')));
}
