// Issue 12 (scale): connection ids sort by creation time (so SQLite keeps a page of the admin list on
// neighbouring rows) and stay as unguessable as `newId`'s: the same 144 random bits after the time.
import { OPAQUE_ID } from '../../bot/admin/adminContext';
import { newConnectionId, newId, newTimeOrderedId, timeOfId } from '../../profiles/ids';

const T0 = 1_760_000_000_000;
const SHAPE = /^con_[0-9a-f]{16}[A-Za-z0-9_-]{24}$/;

describe('newTimeOrderedId', () => {
  test('is the prefix, the time as 12 hex digits, a 4-digit count, then 24 base64url characters of 144 random bits', () => {
    const id = newConnectionId(T0);
    expect(id).toMatch(SHAPE);
    expect(id.slice(4, 16)).toBe('0199c82cc000');
    expect(timeOfId(id)).toBe(T0);
    const random = Buffer.from(id.slice(20), 'base64url');
    expect(random).toHaveLength(18);
    expect(random.toString('base64url')).toBe(id.slice(20));
    expect(newTimeOrderedId('aud', 0)).toMatch(/^aud_000000000000[0-9a-f]{4}[A-Za-z0-9_-]{24}$/);
  });

  test('ids made in the same millisecond differ, in their random part', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5_000; i += 1) ids.add(newConnectionId(T0));
    expect(ids.size).toBe(5_000);
    const randomParts = new Set([...ids].map((id) => id.slice(20)));
    expect(randomParts.size).toBe(5_000);
    // All 144 bits vary: each of the 18 bytes takes (nearly) all 256 values over 5,000 ids.
    const values = Array.from({ length: 18 }, () => new Set<number>());
    for (const part of randomParts) Buffer.from(part, 'base64url').forEach((byte, i) => values[i]?.add(byte));
    for (const seen of values) expect(seen.size).toBeGreaterThan(240);
  });

  test('an id made later sorts after one made earlier, by plain string order (SQLite BINARY, MongoDB)', () => {
    // Across digit boundaries of the time (hex 9 → a, f → 10; base64url z → 0, 9 → -) and far apart:
    // base64url text, or hex without the fixed width, would order some of these pairs the other way.
    const times = [
      0,
      9,
      10,
      15,
      16,
      51,
      52,
      61,
      62,
      63,
      64,
      255,
      256,
      0x9ffff,
      0xa0000,
      T0,
      T0 + 1,
      T0 + 16,
      T0 + 3_600_000,
      2 ** 47,
    ];
    for (let i = 1; i < times.length; i += 1) {
      for (let round = 0; round < 50; round += 1) {
        const earlier = newConnectionId(times[i - 1] as number);
        const later = newConnectionId(times[i] as number);
        expect([earlier, later].sort()).toEqual([earlier, later]);
        expect(earlier < later).toBe(true);
      }
    }
  });

  test('ids made one after another in the same millisecond sort in the order they were made', () => {
    const made = Array.from({ length: 300 }, () => newConnectionId(T0 + 5));
    expect([...made].sort()).toEqual(made);
    expect(made.map((id) => id.slice(16, 20)).slice(0, 3)).toEqual(['0000', '0001', '0002']);
    expect(made[299]?.slice(16, 20)).toBe('012b');
    // A record dated in the past restarts the count (its id sorts at its own time).
    const now = newConnectionId(T0 + 6);
    const past = newConnectionId(T0 - 1);
    expect(past.slice(16, 20)).toBe('0000');
    expect([now, past].sort()).toEqual([past, now]);
  });

  test('passes the admin API and pages id check (OPAQUE_ID), at the end of its time range too', () => {
    expect(OPAQUE_ID.test(newConnectionId(T0))).toBe(true);
    expect(OPAQUE_ID.test(newConnectionId(16 ** 12 - 1))).toBe(true);
    expect(newConnectionId(16 ** 12 - 1)).toMatch(/^con_ffffffffffff[0-9a-f]{4}[A-Za-z0-9_-]{24}$/);
  });

  test('refuses a time that is not epoch milliseconds in its 12 hex digits, naming it', () => {
    expect(() => newConnectionId(-1)).toThrow(
      "an id's time must be epoch milliseconds from 0 to 281474976710655, got -1",
    );
    expect(() => newConnectionId(Number.NaN)).toThrow(RangeError);
    expect(() => newConnectionId(16 ** 12)).toThrow(RangeError);
  });

  test('timeOfId reads only time-ordered ids: a random id (newId) has no time', () => {
    expect(timeOfId(newId('con'))).toBeNull();
    expect(timeOfId('con_given')).toBeNull();
    expect(timeOfId(newTimeOrderedId('con', T0 + 123))).toBe(T0 + 123);
  });
});
