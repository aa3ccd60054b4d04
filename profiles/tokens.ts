import { recordAudit, type EngineContext } from './engineContext';
import { AuthProfilesError, isAuthProfilesError } from './errors';
import { newId } from './ids';
import { openAccessToken, openTokens, sealTokens } from './connections';
import { requestRefreshToken } from './oauth/tokenEndpoint';
import { processTokenResponse } from './oauth/tokenResponse';
import { assertUsable, profileUrl, type Profile } from './profileCatalog';
import type { StoredConnection } from './store/types';
import { subjectKey as keyOf, type Subject } from './subjects';

/**
 * `getToken`: a valid access token for (profile, subject), refreshed when due, or the exact reason
 * why not. A refresh happens once per connection however many callers and processes ask at once
 * (SECURITY rows 17–22): a promise shared in-process, a lease in the store across processes, and a
 * re-read after taking the lease in case another process already refreshed.
 */

export type TokenUnavailableReason =
  'not-connected' | 'needs-reauthorization' | 'pending-verification' | 'provider-unavailable';

export type TokenResult =
  | {
      ok: true;
      accessToken: string;
      tokenType: string;
      expiresAt: number;
      scopes: string[];
      connectionId: string;
    }
  | { ok: false; reason: TokenUnavailableReason; message: string; connectionId?: string };

export class TokenService {
  private readonly inFlight = new Map<string, Promise<TokenResult>>();
  /** Distinguishes this process's leases from other processes'. */
  private readonly owner = newId('proc');

  constructor(private readonly engine: EngineContext) {}

  /**
   * `rejectedAccessToken`: the API answered 401 to this token, so refresh even if it looks
   * unexpired (once: a token other callers already replaced is simply returned).
   */
  async getToken(profile: Profile, subject: Subject, options: { rejectedAccessToken?: string } = {}): Promise<TokenResult> {
    const connection = await this.engine.store.connections.get(profile.id, keyOf(subject));
    const verdict = await this.check(profile, connection, options.rejectedAccessToken);
    if (verdict !== 'refresh') return verdict;
    const key = (connection as StoredConnection).id;
    let shared = this.inFlight.get(key);
    if (!shared) {
      shared = this.refreshWithLease(profile, key, options.rejectedAccessToken).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, shared);
    }
    return shared;
  }

  /** Answers from the stored record, or says a refresh is needed. */
  private async check(
    profile: Profile,
    connection: StoredConnection | null,
    rejectedAccessToken?: string,
  ): Promise<TokenResult | 'refresh'> {
    if (!connection || connection.status === 'revoked') {
      return { ok: false, reason: 'not-connected', message: `not connected to ${profile.displayName}` };
    }
    if (connection.status === 'pending-verification') {
      return {
        ok: false,
        reason: 'pending-verification',
        message: 'the sign-in waits for its verification code',
        connectionId: connection.id,
      };
    }
    if (connection.status === 'needs-reauthorization') return needsReauthorization(profile, connection);
    if (connection.profileFingerprint !== profile.fingerprint) {
      // The profile's client, scopes or endpoints changed since these tokens were issued (row 39).
      await this.markNeedsReauthorization(connection, 'profile-changed');
      return needsReauthorization(profile, connection);
    }
    const now = this.engine.clock();
    const rejected =
      rejectedAccessToken !== undefined && openAccessToken(this.engine, connection) === rejectedAccessToken;
    if (!rejected && connection.expiresAt - this.engine.settings.refreshSkewMs > now) {
      return usable(this.engine, connection);
    }
    if (rejected && connection.refreshToken === null) {
      await this.markNeedsReauthorization(connection, 'rejected-by-api');
      return needsReauthorization(profile, connection);
    }
    if (connection.refreshToken === null) {
      if (connection.expiresAt > now) return usable(this.engine, connection);
      await this.markNeedsReauthorization(connection, 'expired');
      return needsReauthorization(profile, connection);
    }
    return 'refresh';
  }

  private async refreshWithLease(profile: Profile, connectionId: string, rejectedAccessToken?: string): Promise<TokenResult> {
    const { store, settings, clock } = this.engine;
    const lock = `refresh:${connectionId}`;
    const deadline = clock() + settings.refreshLeaseMs * 2;
    let wait = 25;
    while (clock() < deadline) {
      if (await store.locks.acquire(lock, this.owner, settings.refreshLeaseMs, clock())) {
        let release = true;
        try {
          // Re-read under the lease: another process may have refreshed while we waited.
          const current = await store.connections.getById(connectionId);
          const verdict = await this.check(profile, current, rejectedAccessToken);
          if (verdict !== 'refresh') return verdict;
          const outcome = await this.refresh(profile, current as StoredConnection);
          release = outcome.release;
          return outcome.result;
        } finally {
          if (release) await store.locks.release(lock, this.owner).catch(() => undefined);
        }
      }
      // Someone else holds the lease: poll the record until it is fresh or the lease runs out (row 22).
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 250);
      const current = await store.connections.getById(connectionId);
      const verdict = await this.check(profile, current, rejectedAccessToken);
      if (verdict !== 'refresh') return verdict;
    }
    return {
      ok: false,
      reason: 'provider-unavailable',
      message: 'timed out waiting for another refresh of this connection',
      connectionId,
    };
  }

  private async refresh(
    profile: Profile,
    connection: StoredConnection,
  ): Promise<{ result: TokenResult; release: boolean }> {
    const engine = this.engine;
    assertUsable(profile);
    const { refreshToken } = openTokens(engine, connection);
    let body: unknown;
    try {
      body = await requestRefreshToken(
        profileUrl(profile, 'refreshUrl') as string,
        {
          clientId: profile.clientId,
          clientSecret: profile.clientSecret,
          authMethod: profile.tokenEndpointAuthMethod,
        },
        refreshToken as string,
        engine.settings.http,
      );
    } catch (error) {
      return { result: await this.refreshFailed(profile, connection, error), release: true };
    }
    let tokens;
    try {
      tokens = processTokenResponse(
        body,
        {
          tokenTypes: profile.tokenTypes,
          defaultTokenTtlSeconds: profile.defaultTokenTtlSeconds,
          requestedScopes: connection.scopes,
        },
        engine.clock(),
      );
    } catch (error) {
      return { result: await this.refreshFailed(profile, connection, error), release: true };
    }
    // Row 17: no refresh_token in the answer means the old one stays valid.
    const sealed = sealTokens(engine, connection.profileId, connection.subjectKey, {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken ?? refreshToken,
    });
    const now = engine.clock();
    const patch = {
      ...sealed,
      tokenType: tokens.tokenType,
      scopes: tokens.scopes,
      expiresAt: tokens.expiresAt,
      expiresAtEstimated: tokens.expiresAtEstimated,
      lastError: null,
      refreshedAt: now,
      updatedAt: now,
    };
    // Row 20: the provider may have rotated the refresh token already, so the write is retried;
    // if it still fails the lease is kept until it expires, so no caller reuses the old token meanwhile.
    let written: StoredConnection | null = null;
    for (let attempt = 0, delay = 50; attempt < 5 && !written; attempt += 1, delay *= 2) {
      try {
        written = await engine.store.connections.update(connection.id, connection.version, patch);
        if (!written) break;
      } catch (error) {
        engine.log.warn(
          { connectionId: connection.id, attempt: attempt + 1, errorCode: (error as { code?: string }).code },
          'storing refreshed tokens failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    const result: TokenResult = {
      ok: true,
      accessToken: tokens.accessToken,
      tokenType: tokens.tokenType,
      expiresAt: tokens.expiresAt,
      scopes: tokens.scopes,
      connectionId: connection.id,
    };
    if (!written) {
      engine.log.error(
        { connectionId: connection.id, profileId: profile.id },
        'refreshed tokens could not be stored; lease kept until it expires',
      );
      return { result, release: false };
    }
    engine.log.info({ connectionId: connection.id, profileId: profile.id }, 'connection refreshed');
    return { result, release: true };
  }

  private async refreshFailed(
    profile: Profile,
    connection: StoredConnection,
    error: unknown,
  ): Promise<TokenResult> {
    const code = isAuthProfilesError(error) ? error.code : 'provider-error';
    this.engine.log.warn({ connectionId: connection.id, profileId: profile.id, errorCode: code }, 'refresh failed');
    if (code === 'invalid-grant') {
      // Row 18: the grant is gone; ask for consent again instead of retrying.
      await this.markNeedsReauthorization(connection, 'invalid-grant');
      return needsReauthorization(profile, connection);
    }
    // Row 19: stored tokens stay as they are; the caller may try again later.
    await recordAudit(this.engine, {
      actor: 'system',
      action: 'connection.refresh-failed',
      target: `connection:${connection.id}`,
      details: { profile: profile.id, code },
    });
    if (connection.expiresAt > this.engine.clock()) return usable(this.engine, connection);
    return {
      ok: false,
      reason: 'provider-unavailable',
      message: `${profile.displayName} is not answering right now; try again in a moment`,
      connectionId: connection.id,
    };
  }

  private async markNeedsReauthorization(connection: StoredConnection, why: string): Promise<void> {
    const now = this.engine.clock();
    const updated = await this.engine.store.connections.update(connection.id, connection.version, {
      status: 'needs-reauthorization',
      lastError: why,
      updatedAt: now,
    });
    if (updated) {
      await recordAudit(this.engine, {
        actor: 'system',
        action: 'connection.needs-reauthorization',
        target: `connection:${connection.id}`,
        details: { profile: connection.profileId, subject: connection.subjectKey, reason: why },
      });
    }
  }
}

function usable(engine: EngineContext, connection: StoredConnection): TokenResult {
  return {
    ok: true,
    accessToken: openAccessToken(engine, connection),
    tokenType: connection.tokenType,
    expiresAt: connection.expiresAt,
    scopes: connection.scopes,
    connectionId: connection.id,
  };
}

function needsReauthorization(profile: Profile, connection: StoredConnection): TokenResult {
  return {
    ok: false,
    reason: 'needs-reauthorization',
    message: `the connection to ${profile.displayName} must be authorized again`,
    connectionId: connection.id,
  };
}

export function assertTokenResult(result: TokenResult): asserts result is Extract<TokenResult, { ok: true }> {
  if (!result.ok) throw new AuthProfilesError(result.reason, result.message);
}
