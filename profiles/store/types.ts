/**
 * The persistence contract. Everything a flow needs lives here (requests, connections, locks,
 * dialog state, audit), so any instance can finish what another started. Two adapters implement
 * it: SQLite (default, one machine) and MongoDB (many instances). Secret fields hold ciphertext
 * from `KeyRing`; the store never sees a plaintext token or client secret.
 */

/** Every status a connection can have, in the order lists and counts show them. */
export const CONNECTION_STATUSES = [
  'active',
  'pending-verification',
  'needs-reauthorization',
  'revoked',
] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** Who signed in, from a verified OpenID Connect ID token (SECURITY.md #50). Not secret. */
export interface ConnectionAccount {
  /** The issuer's stable id of the account (`sub`). */
  sub: string;
  email: string | null;
  name: string | null;
}

/** A connection as stored: token fields are ciphertext. */
export interface StoredConnection {
  id: string;
  profileId: string;
  /** `org` for a pre-authorized (organisation) connection, `user:<channel>:<userId>` otherwise. */
  subjectKey: string;
  status: ConnectionStatus;
  accessToken: string;
  refreshToken: string | null;
  tokenType: string;
  /** The scopes granted: the token response's `scope`, or those requested when it had none (RFC 6749 §5.1). */
  scopes: string[];
  /**
   * The scopes its last consent asked for (issue 11 point 5): requested minus granted are the ones the
   * user declined. Null or absent when unknown (made before this was recorded, or imported).
   */
  requestedScopes?: string[] | null;
  /** Epoch ms; estimated when the provider sent no `expires_in` (SECURITY.md #16). */
  expiresAt: number;
  expiresAtEstimated: boolean;
  /** Hash of the client, scopes and URLs the tokens were obtained with (SECURITY.md #39). */
  profileFingerprint: string;
  /** Pending verification (SECURITY.md #9): hash of the code the user must type, and its expiry. */
  verification: { codeHash: string; expiresAt: number; attempts: number } | null;
  /**
   * The last failure: a stable code, then what the provider answered when it answered (e.g.
   * `refresh-refused: HTTP 400, no error code`); never a provider message or body (SECURITY.md #49).
   */
  lastError: string | null;
  /** Who signed in (verified ID token claims); null or absent when the profile is not OpenID Connect. */
  account?: ConnectionAccount | null;
  /**
   * API base URL the provider assigned to this connection (profile `apiBaseUrlFrom`, Salesforce's
   * `instance_url`), address-checked; null or absent when the profile's `apiBaseUrl` applies.
   */
  apiBaseUrl?: string | null;
  /**
   * Whether this is the subject's default connection of the profile among its named ones
   * (profiles/connectionNames.ts); absent means: the unnamed one is the default.
   */
  preferred?: boolean;
  createdAt: number;
  updatedAt: number;
  refreshedAt: number | null;
  /** Who made it: `user:<...>` or `admin:<key name>`. */
  createdBy: string;
  /** Bumped on every write; updates are compare-and-set on it. */
  version: number;
}

export interface ConnectionFilter {
  profileId?: string;
  status?: ConnectionStatus;
  subjectKey?: string;
  /** A subject's connections, the default (unnamed) one and the named ones (`<subjectKey>#<name>`). */
  subject?: string;
  /** `org` or `user`. */
  subjectKind?: 'org' | 'user';
}

export interface ConnectionRepository {
  get(profileId: string, subjectKey: string): Promise<StoredConnection | null>;
  getById(id: string): Promise<StoredConnection | null>;
  /**
   * Creates or replaces the connection for (profileId, subjectKey). A replacement keeps the id of
   * the existing record and bumps its version, and keeps `preferred` unless the input sets it (a new
   * sign-in of the subject's default connection leaves it the default).
   */
  upsert(connection: Omit<StoredConnection, 'id' | 'version'> & { id?: string }): Promise<StoredConnection>;
  /** Compare-and-set on `version`; returns the new record, or null when the version moved on. */
  update(
    id: string,
    expectedVersion: number,
    patch: Partial<Omit<StoredConnection, 'id' | 'version'>>,
  ): Promise<StoredConnection | null>;
  /** Sets fields on every connection of a profile (e.g. status after a profile edit); returns the count. */
  updateMany(
    filter: ConnectionFilter,
    patch: Partial<Pick<StoredConnection, 'status' | 'lastError' | 'updatedAt'>>,
  ): Promise<number>;
  delete(id: string): Promise<boolean>;
  list(filter: ConnectionFilter, page: { limit: number; after?: string }): Promise<StoredConnection[]>;
  count(filter: ConnectionFilter): Promise<number>;
}

export type AuthorizationRequestStatus = 'created' | 'started' | 'consumed' | 'completed';

export interface AuthorizationRequestOutcome {
  result: 'connected' | 'pending-verification' | 'denied' | 'failed';
  connectionId?: string;
  /** Stable error code when result is `failed`. */
  error?: string;
}

/**
 * The abandoned-request policy both adapters apply in `claimExpired`: a request consumed this long ago
 * without an outcome was abandoned mid-exchange (the process died, SECURITY.md #25), and an expired
 * request ends with this outcome (`expired` in the sign-in vocabulary, profiles/signinStates.ts).
 */
export const ABANDONED_EXCHANGE_MS = 120_000;
export const EXPIRED_OUTCOME: Readonly<AuthorizationRequestOutcome> = { result: 'failed', error: 'expired' };

export interface StoredAuthorizationRequest {
  /** Opaque one-time id; the sign-in link carries it (`/oauth/start/{id}`). */
  id: string;
  profileId: string;
  subjectKey: string;
  status: AuthorizationRequestStatus;
  /** sha256 of the `state` sent to the provider; set when the browser opens the start link. */
  stateHash: string | null;
  /** sha256 of the browser-binding cookie value (RFC 9700 §4.7.1). */
  bindingHash: string | null;
  /** PKCE verifier, ciphertext; null when the profile does not use PKCE. */
  codeVerifier: string | null;
  /**
   * sha256 of the OpenID Connect `nonce` sent with scope `openid` (SECURITY.md #50); the ID token must
   * carry the nonce itself. Null or absent when no nonce was sent.
   */
  nonceHash?: string | null;
  redirectUri: string;
  expectedIssuer: string | null;
  /** Every scope sent to the provider (profiles/scopesOnDemand.ts `scopesToRequest`). */
  scopes: string[];
  /** The scopes asked for beyond the connection's and the profile's (scopes on demand); absent: none. */
  additionalScopes?: string[];
  /** The profile's fingerprint when the request was made; a callback after a profile edit is refused. */
  profileFingerprint?: string;
  /** On success the connection waits for a code typed in the conversation (SECURITY.md #9). */
  requireVerification: boolean;
  /** Opaque data of the host (e.g. a conversation reference); the engine does not read it. */
  context: Record<string, unknown>;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  startedAt: number | null;
  consumedAt: number | null;
  outcome: AuthorizationRequestOutcome | null;
}

export interface AuthorizationRequestRepository {
  create(request: StoredAuthorizationRequest): Promise<void>;
  get(id: string): Promise<StoredAuthorizationRequest | null>;
  findByStateHash(stateHash: string): Promise<StoredAuthorizationRequest | null>;
  /**
   * Binds a request to a browser: succeeds when the request is `created`, or `started` by the same
   * browser (same bindingHash), not expired at `now`. Sets state hash, binding, verifier and nonce hash.
   */
  markStarted(
    id: string,
    start: {
      stateHash: string;
      bindingHash: string;
      codeVerifier: string | null;
      nonceHash: string | null;
      startedAt: number;
    },
    now: number,
  ): Promise<StoredAuthorizationRequest | null>;
  /** Atomically moves `started` → `consumed` for this state; only one caller ever wins. */
  consume(id: string, stateHash: string, now: number): Promise<StoredAuthorizationRequest | null>;
  /** Records the outcome and moves the request to `completed`. */
  complete(id: string, outcome: AuthorizationRequestOutcome): Promise<void>;
  deleteExpired(before: number): Promise<number>;
  /**
   * Atomically moves up to `limit` unfinished requests that expired at `now` (`created`/`started`,
   * or `consumed` over two minutes ago without an outcome: abandoned mid-exchange, SECURITY.md #25)
   * to `completed` with outcome `failed`/`expired`, and returns them; each is returned to exactly
   * one caller across instances, so the waiting conversation is told once.
   */
  claimExpired(now: number, limit: number): Promise<StoredAuthorizationRequest[]>;
}

export interface LockRepository {
  /** Takes a lease on `name` for `ttlMs` if free or expired (or already ours); true when taken. */
  acquire(name: string, owner: string, ttlMs: number, now: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
}

/** A profile stored by the admin API: custom profiles and overrides of system ones. */
export interface StoredProfile {
  id: string;
  /** `custom` for a full profile, `override` for changes to a bundled one. */
  kind: 'custom' | 'override';
  /** The profile or override document without `clientSecret`. */
  document: Record<string, unknown>;
  /** Client secret, ciphertext. */
  clientSecret: string | null;
  createdAt: number;
  updatedAt: number;
  updatedBy: string;
  version: number;
}

export interface ProfileRepository {
  get(id: string): Promise<StoredProfile | null>;
  list(): Promise<StoredProfile[]>;
  /** Insert (expectedVersion 0) or compare-and-set update; null when the version moved on. */
  put(profile: Omit<StoredProfile, 'version'>, expectedVersion: number): Promise<StoredProfile | null>;
  delete(id: string): Promise<boolean>;
}

/** Generic documents with optimistic concurrency: the home of botbuilder dialog state. */
export interface StoredDocument {
  value: Record<string, unknown>;
  eTag: string;
}

export interface DocumentRepository {
  read(keys: readonly string[]): Promise<Map<string, StoredDocument>>;
  /**
   * Writes when `expectedETag` is undefined or `*` (last writer wins), or equals the stored eTag;
   * with any other eTag (or a stored document missing) it returns null: a conflict.
   * An expectedETag on a missing document is a conflict too, since someone deleted it.
   */
  write(
    key: string,
    value: Record<string, unknown>,
    expectedETag: string | undefined,
  ): Promise<string | null>;
  delete(keys: readonly string[]): Promise<void>;
}

export interface AuditEntry {
  id: string;
  at: number;
  /** `admin:<name>`, `developer:<name>`, `user:<subject>`, or `system`. */
  actor: string;
  action: string;
  /** e.g. `profile:hubspot`, `connection:<id>`. */
  target: string;
  details: Record<string, string | number | boolean | null>;
}

/** A page of the audit log: newest first; `before` is the id of the last entry of the previous page. */
export interface AuditQuery {
  limit: number;
  before?: string;
  target?: string;
}

export interface AuditRepository {
  append(entry: AuditEntry): Promise<void>;
  list(page: AuditQuery): Promise<AuditEntry[]>;
}

export interface StoredAdminKey {
  id: string;
  name: string;
  role: 'admin' | 'developer';
  /** sha256 of the key; the key itself is shown once at creation. */
  keyHash: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface AdminKeyRepository {
  create(key: StoredAdminKey): Promise<void>;
  findByHash(keyHash: string): Promise<StoredAdminKey | null>;
  list(): Promise<StoredAdminKey[]>;
  revoke(id: string, at: number): Promise<boolean>;
}

export interface Store {
  readonly kind: 'sqlite' | 'mongodb';
  readonly connections: ConnectionRepository;
  readonly authorizationRequests: AuthorizationRequestRepository;
  readonly locks: LockRepository;
  readonly profiles: ProfileRepository;
  readonly documents: DocumentRepository;
  readonly audit: AuditRepository;
  readonly adminKeys: AdminKeyRepository;
  /** Cheap round trip for `/healthz`. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
