import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttemptThrottle } from './attemptThrottle';
import { recordAudit, type EngineContext } from './engineContext';
import { AuthProfilesError } from './errors';
import { newId, randomToken, safeEqual, sha256 } from './ids';
import type { AdminRole } from './profileAdmin';
import type { StoredAdminKey } from './store/types';

/**
 * Admin API keys: from `ADMIN_API_KEYS` (role:key pairs) and created with the CLI. Created keys
 * are stored as sha256 hashes (they are 256-bit random, so a slow hash adds nothing) and shown
 * once. Comparison of configured keys is constant-time.
 *
 * A key is identified everywhere else (admin page sessions, pre-authorization requests) by its
 * sha256, `keyHash`: stable across restarts and reordering of `ADMIN_API_KEYS`, never the key itself.
 * `principalForKeyHash` answers what that key may do *now* (SECURITY.md #43). Guessing is throttled
 * per client and overall (SECURITY.md #46, profiles/attemptThrottle.ts).
 */

export interface AdminPrincipal {
  role: AdminRole;
  /** For the audit log: `admin:<key name>`. */
  name: string;
  keyId: string;
  /** sha256 of the key: names the key for sessions and requests without holding it. */
  keyHash: string;
}

export interface ConfiguredKey {
  role: AdminRole;
  key: string;
}

const KEY_SHAPE = /^[A-Za-z0-9._~+/=-]{16,200}$/;

export class AdminKeys {
  private readonly configured: { role: AdminRole; hash: string; index: number }[];
  readonly throttle: AttemptThrottle;

  constructor(
    private readonly engine: EngineContext,
    configured: readonly ConfiguredKey[],
    options: { throttle?: AttemptThrottle } = {},
  ) {
    this.configured = configured.map((entry, index) => ({
      role: entry.role,
      hash: sha256(entry.key),
      index: index + 1,
    }));
    this.throttle = options.throttle ?? new AttemptThrottle();
  }

  /**
   * The principal for a key presented by `client` (an address, for throttling), or null (the caller
   * answers 401 without saying why). Throws `TooManyAttemptsError` (answer 429) while that client,
   * or everyone, has failed too often: then the key is not even looked at.
   */
  async authenticate(key: string | undefined, client = 'local'): Promise<AdminPrincipal | null> {
    if (!key) return null;
    const attempt = this.throttle.begin(client, (scope, waitMs) =>
      this.engine.log.warn(
        { event: 'admin-key-throttled', scope, client: scope === 'client' ? client : undefined, waitMs },
        'too many failed admin key attempts: slowing down',
      ),
    );
    const principal = KEY_SHAPE.test(key) ? await this.principalForKeyHash(sha256(key)) : null;
    if (principal) attempt.succeeded();
    return principal;
  }

  /**
   * What the key with this hash may do now: null once it was removed from `ADMIN_API_KEYS` or
   * revoked, and its current role (sessions follow a role change). Not throttled: only hashes of
   * keys that signed in before reach it, never a guess.
   */
  async principalForKeyHash(hash: string): Promise<AdminPrincipal | null> {
    let match: AdminPrincipal | null = null;
    for (const entry of this.configured) {
      // Walk every entry so timing does not reveal which one matched.
      if (safeEqual(entry.hash, hash) && !match) {
        match = {
          role: entry.role,
          name: `${entry.role}:env-${entry.index}`,
          keyId: `env-${entry.index}`,
          keyHash: entry.hash,
        };
      }
    }
    if (match) return match;
    const stored = await this.engine.store.adminKeys.findByHash(hash);
    if (!stored || stored.revokedAt !== null) return null;
    return { role: stored.role, name: `${stored.role}:${stored.name}`, keyId: stored.id, keyHash: hash };
  }

  async create(
    name: string,
    role: AdminRole,
    actor: string,
  ): Promise<{ key: string; record: StoredAdminKey }> {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
      throw new AuthProfilesError(
        'invalid-configuration',
        'key name must be 1-64 letters, digits, ".", "_" or "-"',
        { status: 400 },
      );
    }
    const key = `ap_${randomToken(32)}`;
    const record: StoredAdminKey = {
      id: newId('key'),
      name,
      role,
      keyHash: sha256(key),
      createdAt: this.engine.clock(),
      revokedAt: null,
    };
    await this.engine.store.adminKeys.create(record);
    await recordAudit(this.engine, {
      actor,
      action: 'admin-key.created',
      target: `admin-key:${record.id}`,
      details: { name, role },
    });
    return { key, record };
  }

  async revoke(id: string, actor: string): Promise<boolean> {
    const revoked = await this.engine.store.adminKeys.revoke(id, this.engine.clock());
    if (revoked)
      await recordAudit(this.engine, {
        actor,
        action: 'admin-key.revoked',
        target: `admin-key:${id}`,
        details: {},
      });
    return revoked;
  }

  async list(): Promise<Omit<StoredAdminKey, 'keyHash'>[]> {
    return (await this.engine.store.adminKeys.list()).map(({ keyHash: _hash, ...rest }) => rest);
  }
}

export const DEV_ADMIN_KEY_FILE = 'admin-key.dev';

/** Dev mode without ADMIN_API_KEYS: one admin key kept under DATA_DIR so it survives restarts. */
export function devAdminKey(dataDir: string): { key: string; file: string; created: boolean } {
  const file = join(dataDir, DEV_ADMIN_KEY_FILE);
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), file, created: false };
  mkdirSync(dataDir, { recursive: true });
  const key = `ap_dev_${randomToken(24)}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { key, file, created: true };
}
