import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeySpec, KeyRing, parseEncryptionKeys } from './encryption';
import type { EngineLogger } from './engineContext';
import { AuthProfilesError } from './errors';

export const DEV_KEY_FILE = 'encryption-key.dev';

/**
 * `ENCRYPTION_KEYS` when set. Without it, production refuses to start (SECURITY row 31) and dev
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
  if (!existsSync(file)) {
    mkdirSync(options.dataDir, { recursive: true });
    writeFileSync(file, `${generateKeySpec('dev1')}\n`, { mode: 0o600, flag: 'wx' });
    options.log.warn(
      { file },
      'ENCRYPTION_KEYS is not set: generated a development key; set ENCRYPTION_KEYS in production',
    );
  } else {
    options.log.warn({ file }, 'ENCRYPTION_KEYS is not set: using the development key');
  }
  return new KeyRing(parseEncryptionKeys(readFileSync(file, 'utf8')));
}
