import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { pooledRandomBytes } from './randomPool';
import { AuthProfilesError } from './errors';

/**
 * AES-256-GCM for tokens and client secrets at rest (SECURITY.md #27–#30).
 *
 * A stored value reads `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url parts), so a record says
 * which key sealed it and several keys can be live during a rotation. The additional
 * authenticated data names the record and the field, so a ciphertext copied into another
 * record or field fails to open.
 */

const FORMAT = 'v1';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** Names the record and field a secret belongs to; part of the GCM tag. */
export type SecretContext = string;

export function secretContext(collection: string, recordId: string, field: string): SecretContext {
  return `${collection}/${recordId}/${field}`;
}

/** A stored secret this service cannot open (SECURITY.md #52): the key id it names, and why not. */
export interface UnreadableSecret {
  /** The key id the stored value names; null when it is not an encrypted value at all. */
  keyId: string | null;
  code: 'encryption-key-unknown' | 'decryption-failed';
}

/** For lists and messages: names the key id, never a secret. */
export function describeUnreadable(secret: UnreadableSecret): string {
  if (secret.keyId === null) return 'unreadable: not an encrypted value';
  return secret.code === 'encryption-key-unknown'
    ? `unreadable: sealed with key "${secret.keyId}", which is not in ENCRYPTION_KEYS`
    : `unreadable: does not open with key "${secret.keyId}" (wrong key or altered value)`;
}

export class KeyRing {
  private readonly keys: Map<string, Buffer>;
  readonly currentKeyId: string;

  constructor(keys: readonly EncryptionKey[]) {
    const first = keys[0];
    if (!first)
      throw new AuthProfilesError('invalid-configuration', 'ENCRYPTION_KEYS: at least one key is required');
    this.keys = new Map();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id))
        throw new AuthProfilesError('invalid-configuration', `ENCRYPTION_KEYS: bad key id "${id}"`);
      if (key.length !== 32) {
        throw new AuthProfilesError(
          'invalid-configuration',
          `ENCRYPTION_KEYS: key "${id}" must be 32 bytes (base64)`,
        );
      }
      if (this.keys.has(id))
        throw new AuthProfilesError('invalid-configuration', `ENCRYPTION_KEYS: key id "${id}" repeats`);
      this.keys.set(id, key);
    }
    this.currentKeyId = first.id;
  }

  encrypt(plaintext: string, context: SecretContext): string {
    const key = this.keys.get(this.currentKeyId) as Buffer;
    // A fresh random 96-bit IV per value (never reused under a key), drawn from the pool (randomPool.ts).
    const iv = pooledRandomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(`${FORMAT}|${this.currentKeyId}|${context}`, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT, this.currentKeyId, b64(iv), b64(body), b64(cipher.getAuthTag())].join('.');
  }

  decrypt(sealed: string, context: SecretContext): string {
    const parts = sealed.split('.');
    const [format, keyId, iv, body, tag] = parts;
    if (parts.length !== 5 || format !== FORMAT || !keyId || !iv || body === undefined || !tag) {
      throw new AuthProfilesError('decryption-failed', `cannot decrypt ${context}: not an encrypted value`);
    }
    const key = this.keys.get(keyId);
    if (!key) {
      throw new AuthProfilesError(
        'encryption-key-unknown',
        `cannot decrypt ${context}: key id "${keyId}" is not in ENCRYPTION_KEYS`,
      );
    }
    try {
      const ivBytes = Buffer.from(iv, 'base64url');
      const tagBytes = Buffer.from(tag, 'base64url');
      // GCM accepts IVs of any length and tags as short as 4 bytes unless told otherwise; a
      // truncated tag would make forging a value far cheaper, so only the full 16 bytes open.
      if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES)
        throw new Error('bad iv or tag length');
      const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(`${FORMAT}|${keyId}|${context}`, 'utf8'));
      decipher.setAuthTag(tagBytes);
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch (cause) {
      throw new AuthProfilesError(
        'decryption-failed',
        `cannot decrypt ${context} with key "${keyId}": authentication failed (wrong record, tampered value or wrong key)`,
        { cause },
      );
    }
  }

  /** The key id a stored value was sealed with, or undefined for something that is not one. */
  static keyIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts.length === 5 && parts[0] === FORMAT ? parts[1] : undefined;
  }

  /** Ids of every key this ring holds, the current one first (never the keys themselves). */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /**
   * Why a stored value cannot be opened, told from its key id alone (no decryption): a key this
   * ring does not hold, or not an encrypted value at all. Null when the key is here (a tampered
   * value is only found by opening it).
   */
  unreadable(
    sealed: string,
  ): { keyId: string | null; code: 'encryption-key-unknown' | 'decryption-failed' } | null {
    const keyId = KeyRing.keyIdOf(sealed);
    if (keyId === undefined) return { keyId: null, code: 'decryption-failed' };
    return this.keys.has(keyId) ? null : { keyId, code: 'encryption-key-unknown' };
  }

  isCurrent(sealed: string): boolean {
    return KeyRing.keyIdOf(sealed) === this.currentKeyId;
  }

  /** Opens with whichever key sealed it and seals again with the current key. */
  reencrypt(sealed: string, context: SecretContext): string {
    return this.isCurrent(sealed) ? sealed : this.encrypt(this.decrypt(sealed, context), context);
  }
}

/**
 * Parses `ENCRYPTION_KEYS`: comma-separated `id:base64key` pairs, the first one encrypts.
 * Example: `k2:...,k1:...` while rotating from k1 to k2.
 */
export function parseEncryptionKeys(value: string): EncryptionKey[] {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new AuthProfilesError('invalid-configuration', 'ENCRYPTION_KEYS is empty');
  return entries.map((entry, index) => {
    const separator = entry.indexOf(':');
    if (separator <= 0) {
      throw new AuthProfilesError(
        'invalid-configuration',
        `ENCRYPTION_KEYS entry ${index + 1} must be "id:base64key" (generate a key with: openssl rand -base64 32)`,
      );
    }
    const id = entry.slice(0, separator);
    const key = Buffer.from(entry.slice(separator + 1), 'base64');
    if (key.length !== 32) {
      throw new AuthProfilesError(
        'invalid-configuration',
        `ENCRYPTION_KEYS: key "${id}" must decode to 32 bytes`,
      );
    }
    return { id, key };
  });
}

export function generateKeySpec(id = `k${Date.now().toString(36)}`): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

function b64(buffer: Buffer): string {
  return buffer.toString('base64url');
}
