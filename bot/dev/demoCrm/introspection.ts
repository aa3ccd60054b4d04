import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LRUCache } from 'lru-cache';

/** What the demo needs to know about a presented token (a subset of an RFC 7662 response). */
export interface DemoIntrospection {
  active: boolean;
  scope?: string;
  sub?: string;
  /** Seconds since the epoch; a cached answer is never trusted past it. */
  exp?: number;
}

// RFC 7662 introspection client for the demo provider

export interface OAuthIntrospectorOptions {
  /** e.g. `${issuer}/token/introspection` */
  introspectionUrl: string;
  clientId: string;
  clientSecret: string;
  /** When set, tokens whose `aud` does not include it are inactive (e.g. `${issuer}/api`). */
  audience?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const introspectionResponseSchema = z.object({
  active: z.boolean(),
  scope: z.string().optional(),
  sub: z.string().optional(),
  exp: z.number().optional(),
  token_type: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
});

/**
 * Introspects with client_secret_basic. Only access tokens count: oidc-provider also reports refresh
 * tokens as active (without a token_type), and a refresh token must never work as a bearer token.
 */
export function oauthIntrospector(
  options: OAuthIntrospectorOptions,
): (token: string) => Promise<DemoIntrospection> {
  const doFetch = options.fetch ?? fetch;
  // RFC 6749 §2.3.1: client id and secret are form-encoded before they are joined and base64-encoded.
  const credentials = Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
  ).toString('base64');
  return async (token) => {
    const res = await doFetch(options.introspectionUrl, {
      method: 'POST',
      headers: {
        authorization: `Basic ${credentials}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`introspection endpoint answered ${res.status}`);
    }
    const parsed = introspectionResponseSchema.safeParse(await res.json());
    if (!parsed.success) throw new Error('introspection endpoint answered an unexpected document');
    const answer = parsed.data;
    if (!answer.active || answer.token_type?.toLowerCase() !== 'bearer') return { active: false };
    if (options.audience !== undefined) {
      const audiences = Array.isArray(answer.aud) ? answer.aud : answer.aud === undefined ? [] : [answer.aud];
      if (!audiences.includes(options.audience)) return { active: false };
    }
    return { active: true, scope: answer.scope, sub: answer.sub, exp: answer.exp };
  };
}

// Token cache

interface CacheEntry {
  expiresAt: number;
  answer: Promise<DemoIntrospection>;
}

/**
 * Remembers introspection answers per token for a short time (never past the token's `exp`), shares one
 * request among concurrent callers, forgets failures at once, and holds at most `maxEntries` tokens
 * (lru-cache, the project's one cache).
 * Keys are SHA-256 digests so the cache does not hold the tokens themselves.
 */
export class IntrospectionCache {
  private readonly entries: LRUCache<string, CacheEntry>;

  constructor(
    private readonly introspect: (token: string) => Promise<DemoIntrospection>,
    private readonly ttlMs: number,
    maxEntries: number,
    private readonly clock: () => number,
  ) {
    this.entries = new LRUCache({ max: Math.max(1, maxEntries) });
  }

  lookup(token: string): Promise<DemoIntrospection> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.answer;
    this.entries.delete(key);
    if (this.ttlMs <= 0) return this.introspect(token);

    const entry: CacheEntry = { expiresAt: now + this.ttlMs, answer: Promise.resolve({ active: false }) };
    entry.answer = this.introspect(token).then(
      (answer) => {
        if (answer.exp !== undefined) entry.expiresAt = Math.min(entry.expiresAt, answer.exp * 1000);
        return answer;
      },
      (error: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw error;
      },
    );
    this.forgetExpired(now);
    // Bounded: past `maxEntries` the least recently used answers are forgotten first.
    this.entries.set(key, entry);
    return entry.answer;
  }

  private forgetExpired(now: number): void {
    if (this.entries.size < this.entries.max) return;
    for (const key of [...this.entries.keys()]) {
      const entry = this.entries.get(key);
      if (entry && entry.expiresAt <= now) this.entries.delete(key);
    }
  }
}
