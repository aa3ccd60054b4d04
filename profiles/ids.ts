import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { pooledRandomBytes } from './randomPool';

/** Unguessable identifiers: 144 random bits, URL-safe. */
export function newId(prefix: string): string {
  return `${prefix}_${pooledRandomBytes(18).toString('base64url')}`;
}

/** 12 hex digits hold every millisecond until the year 10889. */
const TIME_DIGITS = 12;
const MAX_TIME = 16 ** TIME_DIGITS - 1;
/** 4 hex digits: 65,536 ids per millisecond (a write costs ~60 µs of CPU); more share the last. */
const SEQUENCE_DIGITS = 4;
const MAX_SEQUENCE = 16 ** SEQUENCE_DIGITS - 1;
const TIME_ORDERED_ID = /^[A-Za-z0-9]+_([0-9a-f]{12})[0-9a-f]{4}[A-Za-z0-9_-]{24}$/;

/** The millisecond of the last id this process made, and how many it made in it before that one. */
let lastTime = -1;
let sequence = 0;

/**
 * An id that sorts by creation time (issue 12, scale): `<prefix>_`, the time in epoch milliseconds as
 * 12 lowercase hex digits, a 4-hex-digit count of the ids this process made earlier in that
 * millisecond, then the same 144 random bits as `newId`, so it stays as unguessable (the count only
 * orders; nothing is derived from the random part). Hex, not base64url: fixed-width hex sorts in
 * ASCII as in number, base64url's alphabet does not. Connections get these: SQLite stores rows in
 * insertion order (rowid), so with ids in creation order a page of the admin list (`ORDER BY id`)
 * reads neighbouring rows from a few table pages instead of one page per row, as random ids did;
 * the count keeps that true when many are made in one millisecond (a bulk load makes ~30). The id
 * reveals when it was made, which is the record's `createdAt`, shown wherever the connection is.
 * Ids of other processes in the same millisecond sort by their count and random part; older random
 * ids (`newId`) keep working and sort among these by their text.
 */
export function newTimeOrderedId(prefix: string, at: number): string {
  if (!Number.isFinite(at) || at < 0 || at > MAX_TIME) {
    throw new RangeError(`an id's time must be epoch milliseconds from 0 to ${MAX_TIME}, got ${at}`);
  }
  const ms = Math.floor(at);
  // Counted per millisecond, restarted whenever the time changes (also backwards: a record dated
  // in the past, a clock set back), so ids made one after another at one time sort as made.
  sequence = ms === lastTime ? Math.min(sequence + 1, MAX_SEQUENCE) : 0;
  lastTime = ms;
  const time = ms.toString(16).padStart(TIME_DIGITS, '0');
  const order = sequence.toString(16).padStart(SEQUENCE_DIGITS, '0');
  return `${prefix}_${time}${order}${pooledRandomBytes(18).toString('base64url')}`;
}

/**
 * A new connection's id, from its `createdAt`: the engine's clock (`context.clock`) as read when
 * the record was made, so ids follow the clock that dates the record (and a test's clock), not
 * the store's own reading of `Date.now()`. Called before the store's error wrapping, so a bad time
 * is a RangeError naming it, not an outage.
 */
export function newConnectionId(createdAt: number): string {
  return newTimeOrderedId('con', createdAt);
}

/** The creation time of an id made by `newTimeOrderedId`, or null for any other id (e.g. a `newId`). */
export function timeOfId(id: string): number | null {
  const time = TIME_ORDERED_ID.exec(id)?.[1];
  return time === undefined ? null : Number.parseInt(time, 16);
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Stored instead of bearer values (state, binding cookie, admin keys): a dump reveals nothing usable. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
