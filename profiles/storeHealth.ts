import { isAuthProfilesError } from './errors';
import { newId } from './ids';
import type { Store } from './store/types';

/**
 * What `/healthz` says about the store (SECURITY.md #53): a read round trip and a small write (a lease
 * row of this instance, taken and released through the lock repository every adapter has), so a
 * store that still answers reads but takes no writes (locked by another process, read-only file,
 * full disk) is reported as failing. The whole check is bounded, so a health probe never hangs.
 */
export interface StoreHealth {
  kind: Store['kind'];
  status: 'ok' | 'unavailable';
  /** Milliseconds the check took. */
  ms: number;
  /** Which probe failed. */
  failing?: 'read' | 'write';
  /** Stable reason: the engine's error code, or `timeout`. */
  error?: string;
}

export interface StoreHealthCheck {
  check(): Promise<StoreHealth>;
}

export function storeHealthCheck(
  store: Store,
  options: { timeoutMs: number; clock?: () => number },
): StoreHealthCheck {
  const clock = options.clock ?? Date.now;
  const owner = newId('health');
  const lease = `healthz:${owner}`;
  return {
    async check() {
      const started = Date.now();
      let step: 'read' | 'write' = 'read';
      const probe = (async () => {
        await store.ping();
        step = 'write';
        await store.locks.acquire(lease, owner, 60_000, clock());
        await store.locks.release(lease, owner);
      })();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
      });
      try {
        const outcome = await Promise.race([probe.then(() => 'ok' as const), timeout]);
        const ms = Date.now() - started;
        if (outcome === 'ok') return { kind: store.kind, status: 'ok', ms };
        // The probe goes on in the background and fails or succeeds by itself; nobody waits for it.
        probe.catch(() => undefined);
        return { kind: store.kind, status: 'unavailable', ms, failing: step, error: 'timeout' };
      } catch (error) {
        return {
          kind: store.kind,
          status: 'unavailable',
          ms: Date.now() - started,
          failing: step,
          error: isAuthProfilesError(error) ? error.code : 'store-unavailable',
        };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
