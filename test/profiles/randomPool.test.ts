// profiles/randomPool.ts: IVs and record ids drawn from a refilled CSPRNG buffer (issue 12) must
// still never repeat, across refills too (SECURITY.md #27: one IV per value under a key).
import { KeyRing } from '../../profiles/encryption';
import { newId } from '../../profiles/ids';
import { pooledRandomBytes } from '../../profiles/randomPool';

describe('pooledRandomBytes', () => {
  test('hands out distinct bytes across many refills of its buffer', () => {
    // 12 bytes at a time over ~60 refills of the 4 KiB buffer, with odd sizes in between to shift
    // every boundary: a refill that failed, or bytes handed out twice, would repeat a value.
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i += 1) {
      const bytes = pooledRandomBytes(i % 7 === 0 ? 5 : 12);
      if (bytes.length === 12) seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(20_000 - Math.ceil(20_000 / 7));
  });

  test('returns a copy: what the caller holds does not change as the buffer is wiped and refilled', () => {
    const first = pooledRandomBytes(12);
    const kept = Buffer.from(first);
    for (let i = 0; i < 1_000; i += 1) pooledRandomBytes(12);
    expect(first.equals(kept)).toBe(true);
    expect(first.equals(Buffer.alloc(12))).toBe(false);
  });

  test('refuses a count that is not a positive integer, and serves large counts directly', () => {
    expect(() => pooledRandomBytes(0)).toThrow('random byte count must be > 0, got 0');
    expect(() => pooledRandomBytes(1.5)).toThrow(RangeError);
    expect(pooledRandomBytes(5_000)).toHaveLength(5_000);
  });

  test('AES-GCM IVs and record ids from the pool do not repeat', () => {
    const ring = new KeyRing([{ id: 'k1', key: Buffer.alloc(32, 7) }]);
    const ivs = new Set<string>();
    const ids = new Set<string>();
    for (let i = 0; i < 2_000; i += 1) {
      ivs.add(ring.encrypt('same plaintext', 'connections/x/accessToken').split('.')[2] ?? '');
      ids.add(newId('con'));
    }
    expect(ivs.size).toBe(2_000);
    expect(ids.size).toBe(2_000);
  });
});
