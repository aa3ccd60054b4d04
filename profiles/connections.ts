import { splitConnectionKey } from './connectionNames';
import { randomInt } from 'node:crypto';
import { secretContext, type KeyRing, type UnreadableSecret } from './encryption';
import { recordAudit, type EngineContext } from './engineContext';
import { AuthProfilesError } from './errors';
import { safeEqual, sha256 } from './ids';
import type { TokenSet } from './oauth/tokenResponse';
import type { Profile } from './profileCatalog';
import { declinedScopesOf } from './scopesOnDemand';
import type { ConnectionAccount, ConnectionStatus, StoredConnection } from './store/types';

/**
 * Connections: the tokens one authorization produced. Stored records hold ciphertext; the
 * decrypted form exists only in memory, as `UsableTokens`, for the moment it is needed.
 */

export interface UsableTokens {
  accessToken: string;
  refreshToken: string | null;
}

/** What may be shown about a connection: no token, no hash. */
export interface ConnectionSummary {
  id: string;
  profileId: string;
  /** The subject's key, without the connection name. */
  subjectKey: string;
  /** The connection's name (`work`), or null for the unnamed (`default`) one. */
  name: string | null;
  /** Used when no name is given (profiles/connectionNames.ts). */
  isDefault: boolean;
  status: ConnectionStatus;
  /** The scopes granted. */
  scopes: string[];
  /** Scopes its last consent asked for that were not granted (issue 11 point 5); empty when unknown. */
  declinedScopes: string[];
  expiresAt: number;
  expiresAtEstimated: boolean;
  lastError: string | null;
  /** Who signed in at the provider (verified ID token), when the profile is OpenID Connect. */
  account: ConnectionAccount | null;
  /** The API base URL the provider assigned to this connection (e.g. a Salesforce instance). */
  apiBaseUrl: string | null;
  createdAt: number;
  updatedAt: number;
  refreshedAt: number | null;
  createdBy: string;
  /**
   * Its tokens are sealed with a key this service does not hold (SECURITY.md #52), told from the key
   * ids alone: listed and deletable, never usable until the key is back or the user signs in again.
   */
  unreadable: UnreadableSecret | null;
}

/** What may be shown about a connection; `keyRing` says whether its tokens can be opened here. */
export function summarize(connection: StoredConnection, keyRing: KeyRing): ConnectionSummary {
  const { id, profileId, status, scopes, expiresAt, expiresAtEstimated, lastError } = connection;
  const { createdAt, updatedAt, refreshedAt, createdBy } = connection;
  const { subjectKey, name } = splitConnectionKey(connection.subjectKey);
  return {
    id,
    profileId,
    subjectKey,
    name,
    isDefault: connection.preferred ?? name === null,
    status,
    scopes,
    declinedScopes: declinedScopesOf(connection),
    expiresAt,
    expiresAtEstimated,
    lastError,
    account: connection.account ?? null,
    apiBaseUrl: connection.apiBaseUrl ?? null,
    createdAt,
    updatedAt,
    refreshedAt,
    createdBy,
    unreadable: unreadableTokens(keyRing, connection),
  };
}

/** The first token of the connection this key ring cannot open, by key id (nothing is decrypted). */
export function unreadableTokens(keyRing: KeyRing, connection: StoredConnection): UnreadableSecret | null {
  return (
    keyRing.unreadable(connection.accessToken) ??
    (connection.refreshToken === null ? null : keyRing.unreadable(connection.refreshToken))
  );
}

// AAD names the connection by its natural key so ciphertext moved to another profile or subject
// fails to open (SECURITY.md #28), while a re-authorization that keeps the record id stays readable.
function tokenContext(profileId: string, subjectKey: string, field: 'accessToken' | 'refreshToken'): string {
  return secretContext('connections', `${profileId}|${subjectKey}`, field);
}

export function sealTokens(
  engine: EngineContext,
  profileId: string,
  subjectKey: string,
  tokens: UsableTokens,
): Pick<StoredConnection, 'accessToken' | 'refreshToken'> {
  return {
    accessToken: engine.keyRing.encrypt(
      tokens.accessToken,
      tokenContext(profileId, subjectKey, 'accessToken'),
    ),
    refreshToken:
      tokens.refreshToken === null
        ? null
        : engine.keyRing.encrypt(tokens.refreshToken, tokenContext(profileId, subjectKey, 'refreshToken')),
  };
}

export function openTokens(engine: EngineContext, connection: StoredConnection): UsableTokens {
  return {
    accessToken: engine.keyRing.decrypt(
      connection.accessToken,
      tokenContext(connection.profileId, connection.subjectKey, 'accessToken'),
    ),
    refreshToken:
      connection.refreshToken === null
        ? null
        : engine.keyRing.decrypt(
            connection.refreshToken,
            tokenContext(connection.profileId, connection.subjectKey, 'refreshToken'),
          ),
  };
}

export function openAccessToken(engine: EngineContext, connection: StoredConnection): string {
  return engine.keyRing.decrypt(
    connection.accessToken,
    tokenContext(connection.profileId, connection.subjectKey, 'accessToken'),
  );
}

/** Re-seals a record's secrets with the current key (rotation); returns null when nothing changes. */
export function reencryptConnection(
  engine: EngineContext,
  connection: StoredConnection,
): Pick<StoredConnection, 'accessToken' | 'refreshToken'> | null {
  const ring = engine.keyRing;
  const stale =
    !ring.isCurrent(connection.accessToken) ||
    (connection.refreshToken !== null && !ring.isCurrent(connection.refreshToken));
  return stale
    ? sealTokens(engine, connection.profileId, connection.subjectKey, openTokens(engine, connection))
    : null;
}

export interface SavedConnection {
  connection: StoredConnection;
  /** The code to show the person who consented, when verification is required. */
  verificationCode: string | null;
}

export interface ConnectionOptions {
  createdBy: string;
  requireVerification: boolean;
  account?: ConnectionAccount | null;
  apiBaseUrl?: string | null;
  /** The scopes the consent asked for (the authorization request's); absent: unknown (an import). */
  requestedScopes?: string[];
}

/** Stores the outcome of a code exchange, replacing any earlier connection for the same subject. */
export async function saveConnection(
  engine: EngineContext,
  profile: Profile,
  subjectKey: string,
  tokens: TokenSet,
  options: ConnectionOptions,
): Promise<SavedConnection> {
  const { record, verificationCode } = newConnectionRecord(engine, profile, subjectKey, tokens, options);
  const connection = await engine.store.connections.upsert(record);
  return { connection, verificationCode };
}

/**
 * The record `saveConnection` stores, tokens sealed (SECURITY.md #27, #28). Separate so a bulk load
 * (the bench's 1M-connection store) writes exactly what saveConnection would.
 */
export function newConnectionRecord(
  engine: EngineContext,
  profile: Profile,
  subjectKey: string,
  tokens: TokenSet,
  options: ConnectionOptions,
): { record: Omit<StoredConnection, 'id' | 'version'>; verificationCode: string | null } {
  const now = engine.clock();
  const verificationCode = options.requireVerification
    ? String(randomInt(0, 1_000_000)).padStart(6, '0')
    : null;
  const record: Omit<StoredConnection, 'id' | 'version'> = {
    profileId: profile.id,
    subjectKey,
    status: verificationCode ? 'pending-verification' : 'active',
    ...sealTokens(engine, profile.id, subjectKey, tokens),
    tokenType: tokens.tokenType,
    scopes: tokens.scopes,
    // Always written, null included, like `account` below: declined scopes are those of this consent.
    requestedScopes: options.requestedScopes ?? null,
    expiresAt: tokens.expiresAt,
    expiresAtEstimated: tokens.expiresAtEstimated,
    // The profile's fingerprint, never one of the scopes granted: a connection with more scopes than the
    // profile lists (scopes on demand) is not stale (SECURITY.md #39).
    profileFingerprint: profile.fingerprint,
    verification: verificationCode
      ? {
          codeHash: verificationHash(profile.id, subjectKey, verificationCode),
          expiresAt: now + engine.settings.verificationTtlMs,
          attempts: 0,
        }
      : null,
    lastError: null,
    // Always written, null included: a replacement must not inherit the previous sign-in's account.
    account: options.account ?? null,
    apiBaseUrl: options.apiBaseUrl ?? null,
    createdAt: now,
    updatedAt: now,
    refreshedAt: null,
    createdBy: options.createdBy,
  };
  return { record, verificationCode };
}

function verificationHash(profileId: string, subjectKey: string, code: string): string {
  return sha256(`${profileId}|${subjectKey}|${code}`);
}

export type VerificationResult =
  'verified' | 'wrong-code' | 'expired' | 'too-many-attempts' | 'nothing-pending';

/**
 * SECURITY.md #9: a connection completed in a browser becomes active only when the chat user types
 * the code that browser was shown, in the conversation that asked for it.
 */
export async function verifyConnection(
  engine: EngineContext,
  profileId: string,
  subjectKey: string,
  code: string,
): Promise<VerificationResult> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const connection = await engine.store.connections.get(profileId, subjectKey);
    if (!connection || connection.status !== 'pending-verification' || !connection.verification)
      return 'nothing-pending';
    const now = engine.clock();
    const pending = connection.verification;
    if (pending.expiresAt <= now) {
      await engine.store.connections.delete(connection.id);
      return 'expired';
    }
    const normalized = code.replace(/\s+/g, '');
    if (
      /^\d{6}$/.test(normalized) &&
      safeEqual(verificationHash(profileId, subjectKey, normalized), pending.codeHash)
    ) {
      const updated = await engine.store.connections.update(connection.id, connection.version, {
        status: 'active',
        verification: null,
        updatedAt: now,
      });
      if (!updated) continue;
      await recordAudit(engine, {
        actor: subjectKey,
        action: 'connection.verified',
        target: `connection:${connection.id}`,
        details: { profile: profileId },
      });
      return 'verified';
    }
    const attempts = pending.attempts + 1;
    if (attempts >= engine.settings.verificationAttempts) {
      await engine.store.connections.delete(connection.id);
      await recordAudit(engine, {
        actor: subjectKey,
        action: 'connection.verification-failed',
        target: `connection:${connection.id}`,
        details: { profile: profileId },
      });
      return 'too-many-attempts';
    }
    const updated = await engine.store.connections.update(connection.id, connection.version, {
      verification: { ...pending, attempts },
      updatedAt: now,
    });
    if (updated) return 'wrong-code';
  }
  throw new AuthProfilesError('conflict', 'the connection changed while verifying; try again');
}
