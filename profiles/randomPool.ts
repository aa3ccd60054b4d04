import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * Random bytes for values that must be unique and unguessable but are not keys or bearer secrets:
 * AES-GCM IVs (SECURITY.md #27) and record ids. A `randomBytes` call has a fixed cost of ~3.7 µs on
 * Node 20 whatever its size, and storing one connection took three of them (issue 12: ~10% of a
 * write). Here they come from one 4 KiB buffer filled by the same CSPRNG (`randomFillSync`), each
 * byte handed out once and wiped from the buffer as it goes, so no two callers ever get the same
 * bytes. Secrets (OAuth state, PKCE verifiers, admin keys) keep calling `randomBytes` directly
 * (`randomToken` in ids.ts): a buffer of their future values should not sit in memory.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

export function pooledRandomBytes(size: number): Buffer {
  if (!Number.isInteger(size) || size <= 0)
    throw new RangeError(`random byte count must be > 0, got ${size}`);
  if (size > POOL_BYTES / 4) return randomBytes(size);
  if (offset + size > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size));
  pool.fill(0, offset, offset + size);
  offset += size;
  return bytes;
}
