import type { Store } from '../../profiles/store/types';
import type { Logger } from '../logger';
import type { SigninResumer } from './signinResumer';

/**
 * Tells conversations whose sign-in expired, so a waiting dialog ends with a message even if the
 * user never writes again. `claimExpired` hands each request to one instance only; requests
 * that expired long ago are deleted after a day.
 */
export interface SweeperOptions {
  store: Store;
  resumer: SigninResumer;
  log: Logger;
  intervalMs: number;
  clock: () => number;
}

/** One pass; returns how many waiting conversations were told. */
export async function sweepExpired(options: Omit<SweeperOptions, 'intervalMs'>): Promise<number> {
  const now = options.clock();
  const expired = await options.store.authorizationRequests.claimExpired(now, 50);
  for (const request of expired) {
    await options.resumer.resume(request, { requestId: request.id, outcome: 'expired' });
  }
  await options.store.authorizationRequests.deleteExpired(now - 24 * 3600_000);
  return expired.length;
}

export function startExpirySweeper(options: SweeperOptions): { stop(): void } {
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      await sweepExpired(options);
    } catch (error) {
      options.log.warn({ err: error }, 'expiry sweep failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
