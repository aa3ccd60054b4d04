import type { AuthorizationEngine } from '../../profiles';
import type { Logger } from '../logger';
import type { SigninResumer } from './signinResumer';

/**
 * Tells conversations whose sign-in expired, so a waiting dialog ends with a message even if the
 * user never writes again. The engine hands each expired sign-in to one instance only
 * (`expireSigninRequests`) and forgets those that ended long ago.
 */
export interface SweeperOptions {
  engine: Pick<AuthorizationEngine, 'expireSigninRequests'>;
  resumer: SigninResumer;
  log: Logger;
  intervalMs: number;
}

/** One pass; returns how many waiting conversations were told. */
export async function sweepExpired(options: Omit<SweeperOptions, 'intervalMs'>): Promise<number> {
  const expired = await options.engine.expireSigninRequests();
  for (const request of expired) {
    await options.resumer.resume(request, { requestId: request.id, outcome: 'expired' });
  }
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
