import type { Storage, StoreItems } from 'botbuilder';
import type { DocumentRepository } from '../../profiles';

/**
 * botbuilder `Storage` on the project's store, so waiting dialogs survive a restart and any
 * instance can resume them, with optimistic concurrency (SECURITY.md #26).
 *
 * botbuilder's BotState sets `eTag = '*'` on every save, which would make the last writer win
 * silently. So an item that was *read* through this storage is written conditionally on the eTag
 * it was read with (remembered per object in a WeakMap, hence per turn); a stale write throws
 * `StorageConflictError` instead of overwriting another instance's turn.
 */
export class StoreStorage implements Storage {
  private readonly readETags = new WeakMap<object, string>();

  constructor(private readonly documents: DocumentRepository) {}

  async read(keys: string[]): Promise<StoreItems> {
    const found = await this.documents.read(keys);
    const items: StoreItems = {};
    for (const [key, document] of found) {
      const item = { ...document.value, eTag: document.eTag };
      this.readETags.set(item, document.eTag);
      items[key] = item;
    }
    return items;
  }

  async write(changes: StoreItems): Promise<void> {
    for (const [key, item] of Object.entries(changes)) {
      const object = (item ?? {}) as Record<string, unknown> & { eTag?: string };
      const { eTag, ...value } = object;
      const expected = eTag === '*' || eTag === undefined ? (this.readETags.get(object) ?? eTag) : eTag;
      const written = await this.documents.write(key, value, expected);
      if (written === null) throw new StorageConflictError(key);
      object.eTag = written;
      this.readETags.set(object, written);
    }
  }

  async delete(keys: string[]): Promise<void> {
    await this.documents.delete(keys);
  }
}

export class StorageConflictError extends Error {
  readonly code = 'conflict';
  constructor(readonly key: string) {
    super(`storage conflict on "${key}": another turn changed it first (eTag mismatch)`);
    this.name = 'StorageConflictError';
  }
}
