import { LRUCache } from 'lru-cache';

/**
 * Throttles failed admin-key attempts (SECURITY.md #46): per client and overall, each with
 * exponential backoff. A client that has failed `clientFree` times is refused (without its key being
 * checked) for 1 s, then 2 s, 4 s … up to `clientMaxMs`; past `overallFree` failures from everyone
 * the same happens to every client that has not signed in successfully lately, which stops guessing
 * spread over many addresses while admins already at work are not locked out by it.
 *
 * Each attempt is counted as a failure *before* its key is checked and given back when the key is
 * good: a burst of parallel guesses cannot all slip through before the first failure is recorded.
 *
 * Memory is bounded: clients live in `LRUCache`s (lru-cache, least recently used first out). State is per process: with N instances an attacker
 * gets at most N times the budget, still with backoff.
 */

export interface ThrottleSettings {
  /** Failures per client before it is made to wait. */
  clientFree: number;
  /** Failures from all clients together before clients without a recent success are made to wait. */
  overallFree: number;
  /** First wait; doubles with each further failure. */
  baseMs: number;
  clientMaxMs: number;
  /** Kept short: while it lasts, admins signing in from a new address wait too. */
  overallMaxMs: number;
  /** A client (or everyone) with no failure for this long starts afresh. */
  forgetAfterMs: number;
  /** How long a successful sign-in exempts its client from the overall limit. */
  trustedForMs: number;
  /** Clients remembered (failures, and recent successes); the least recently seen are dropped. */
  maxClients: number;
  clock: () => number;
}

export const DEFAULT_THROTTLE: ThrottleSettings = {
  clientFree: 5,
  overallFree: 50,
  baseMs: 1000,
  clientMaxMs: 15 * 60_000,
  overallMaxMs: 60_000,
  forgetAfterMs: 60 * 60_000,
  trustedForMs: 24 * 3600_000,
  maxClients: 10_000,
  clock: Date.now,
};

/** The attempt was refused before the key was looked at. */
export class TooManyAttemptsError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    readonly scope: 'client' | 'overall',
  ) {
    super(
      scope === 'client'
        ? `too many failed key attempts from this address; try again in ${retryAfterSeconds} s`
        : `too many failed key attempts; try again in ${retryAfterSeconds} s`,
    );
    this.name = 'TooManyAttemptsError';
  }
}

interface Failures {
  count: number;
  lastAt: number;
  blockedUntil: number;
}

/** What `begin` hands out: call `succeeded()` when the key was good, nothing when it was not. */
export interface Attempt {
  succeeded(): void;
}

export class AttemptThrottle {
  readonly settings: ThrottleSettings;
  private readonly clients: LRUCache<string, Failures>;
  private readonly trusted: LRUCache<string, number>;
  private overall: Failures = { count: 0, lastAt: 0, blockedUntil: 0 };

  constructor(settings: Partial<ThrottleSettings> = {}) {
    this.settings = { ...DEFAULT_THROTTLE, ...settings };
    this.clients = new LRUCache({ max: this.settings.maxClients });
    this.trusted = new LRUCache({ max: this.settings.maxClients });
  }

  /** Tracked clients (for tests of the memory bound). */
  get trackedClients(): number {
    return this.clients.size;
  }

  /**
   * Throws `TooManyAttemptsError` when `client` must wait; otherwise counts the attempt as failed
   * until `succeeded()` says otherwise. `onBlock` hears when a new wait starts (for the log).
   */
  begin(client: string, onBlock?: (scope: 'client' | 'overall', waitMs: number) => void): Attempt {
    const { clock, forgetAfterMs, trustedForMs } = this.settings;
    const now = clock();
    const mine = this.fresh(this.clients.get(client), now);
    if (mine.blockedUntil > now) throw refusal(mine.blockedUntil - now, 'client');
    if (this.overall.lastAt + forgetAfterMs <= now && this.overall.blockedUntil <= now) {
      this.overall = { count: 0, lastAt: 0, blockedUntil: 0 };
    }
    const trustedAt = this.trusted.get(client);
    const trusted = trustedAt !== undefined && trustedAt + trustedForMs > now;
    if (!trusted && this.overall.blockedUntil > now)
      throw refusal(this.overall.blockedUntil - now, 'overall');

    const overallBefore = { ...this.overall };
    const mineWait = this.fail(mine, now, this.settings.clientFree, this.settings.clientMaxMs);
    this.clients.set(client, mine);
    const overallWait = this.fail(this.overall, now, this.settings.overallFree, this.settings.overallMaxMs);
    if (mineWait > 0) onBlock?.('client', mineWait);
    if (overallWait > 0) onBlock?.('overall', overallWait);
    const overall = this.overall;
    let settled = false;
    return {
      succeeded: () => {
        if (settled) return;
        settled = true;
        this.clients.delete(client);
        this.trusted.set(client, clock());
        // Give back the failure this attempt was counted as (and the wait it alone started).
        if (this.overall === overall) {
          overall.count = Math.max(0, overall.count - 1);
          if (overallWait > 0 && overall.blockedUntil === now + overallWait) {
            overall.blockedUntil = overallBefore.blockedUntil;
          }
        }
      },
    };
  }

  private fresh(entry: Failures | undefined, now: number): Failures {
    if (!entry || (entry.lastAt + this.settings.forgetAfterMs <= now && entry.blockedUntil <= now)) {
      return { count: 0, lastAt: 0, blockedUntil: 0 };
    }
    return entry;
  }

  /** Counts a failure; returns the wait it starts (0 while still within the free failures). */
  private fail(entry: Failures, now: number, free: number, maxMs: number): number {
    entry.count += 1;
    entry.lastAt = now;
    if (entry.count < free) return 0;
    const wait = Math.min(maxMs, this.settings.baseMs * 2 ** Math.min(entry.count - free, 30));
    entry.blockedUntil = now + wait;
    return wait;
  }
}

function refusal(waitMs: number, scope: 'client' | 'overall'): TooManyAttemptsError {
  return new TooManyAttemptsError(Math.max(1, Math.ceil(waitMs / 1000)), scope);
}
