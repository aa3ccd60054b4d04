/**
 * The one in-memory cache of this project: a Map with a size limit that forgets the least recently
 * used entry first (reading or writing an entry makes it the most recent). A `Map` already keeps
 * insertion order, which is all an LRU needs. Used by the token service (opened access tokens), the
 * admin-key throttle (clients) and the demo CRM (introspection answers).
 *
 * Why not `lru-cache`: it is not a direct dependency (only old copies come in transitively, which we
 * must not rely on), and these three uses need nothing beyond this; TTLs stay with their callers,
 * which know when an entry stops being true.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('a BoundedMap holds at least one entry');
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /** Adds or replaces `key` as the most recent entry; the least recent go while over the limit. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Entries from the least to the most recently used (for sweeping stale ones). */
  keys(): IterableIterator<K> {
    return this.entries.keys();
  }

  get size(): number {
    return this.entries.size;
  }
}
