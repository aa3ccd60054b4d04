import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { pooledRandomBytes } from './randomPool';

/** Unguessable identifiers: 144 random bits, URL-safe. */
export function newId(prefix: string): string {
  return `${prefix}_${pooledRandomBytes(18).toString('base64url')}`;
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
