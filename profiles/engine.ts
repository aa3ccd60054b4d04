// Over 400 lines on purpose: the engine's one public face for hosts (profiles/index.ts exports it); each
// method is a documented delegation to the module that does the work, kept together so hosts see one API.
import {
  connectionKey,
  namedOrDefaultConnection,
  parseConnectionName,
  setDefaultConnection,
} from './connectionNames';
import { accessDecision, type AccessDecision, type Requester } from './accessPolicy';
import {
  createAuthorizationRequest,
  startAuthorization,
  startUrlFor,
  type CreatedAuthorizationRequest,
  type NewAuthorizationRequest,
  type StartAdmission,
  type StartedAuthorization,
} from './authorizationRequests';
import { ActionRunner, type ActionView, type RunActionOptions } from './actions/actionRunner';
import {
  adminActionViews,
  setActionEnabled,
  type ActionSwitchResult,
  type AdminActionView,
} from './actions/actionSwitches';
import type { ActionOutcome } from './actions/actionResults';
import { AdminKeys, type ConfiguredKey } from './adminKeys';
import type { CallbackInput } from './callback';
import { checkConnection, type ConnectionCheck } from './connectionCheck';
import { summarize, verifyConnection, type ConnectionSummary, type VerificationResult } from './connections';
import { recordAudit, type EngineContext } from './engineContext';
import { linkConnection, startExternalConsent } from './externalConsents';
import { importConnection, type ImportedTokens } from './importedConnections';
import { AuthProfilesError } from './errors';
import {
  keyHoldersToRespect,
  startKeyHolderHeartbeat,
  type KeyHolder,
  type KeyHolderHeartbeat,
} from './keyHolders';
import { reencryptAll, type RotationReport } from './keyRotation';
import type { CheckedUrl, OutboundFetch } from './outboundRequests';
import { deleteProfile, saveProfile, type Actor, type DeleteResult, type SaveResult } from './profileAdmin';
import type { Profile } from './profileCatalog';
import type { UrlField } from './profileSchema';
import { revokeConnection, type RevocationOutcome } from './revocation';
import { declaredScopes } from './scopesOnDemand';
import { completeCallback, type CallbackOutcome } from './signinCompletion';
import { signinRequestOf, type SigninRequest } from './signinStates';
import { storeHealthCheck, type StoreHealthCheck } from './storeHealth';
import type {
  AuditEntry,
  AuditQuery,
  ConnectionFilter,
  DocumentRepository,
  Store,
  StoredProfile,
} from './store/types';
import { subjectKey, type Subject } from './subjects';
import { TokenService, type TokenResult } from './tokens';

export type { CallbackOutcome } from './signinCompletion';

/** A stored profile record as hosts may see it: the document, never the sealed client secret. */
export type StoredProfileDocument = Omit<StoredProfile, 'clientSecret'>;

/**
 * The engine's public face: what `bot/` and `dialogs/` call (exported by profiles/index.ts, the only
 * module hosts import; eslint.config.mjs forbids deep imports and `engine.store`, `engine.context`,
 * `engine.tokens` and `engine.catalog` outside profiles/). The protocol steps, the store and the key
 * ring are reachable through these methods only, so their order and their secrets cannot be misused
 * from outside. `context`, `tokens`, `catalog` and `store` stay public for the engine's own tests.
 */
export class AuthorizationEngine {
  readonly tokens: TokenService;
  private readonly actions: ActionRunner;

  constructor(readonly context: EngineContext) {
    this.tokens = new TokenService(context);
    this.actions = new ActionRunner(context, this.tokens);
  }

  /** @internal tests and profiles/ only */
  get catalog() {
    return this.context.catalog;
  }

  /** @internal tests and profiles/ only */
  get store() {
    return this.context.store;
  }

  // -- tokens and sign-in ---------------------------------------------------------------------------

  /** `connection`: a named connection (`work`); absent: the subject's default one. */
  getToken(
    profile: Profile,
    subject: Subject,
    options: { rejectedAccessToken?: string; connection?: string } = {},
  ): Promise<TokenResult> {
    return this.tokens.getToken(profile, subject, options);
  }

  /**
   * Whether the profile's access policy lets this requester use it (issue 10 point 1): checked by hosts
   * before they hand out a token of the profile or start a sign-in for it.
   */
  checkAccess(profile: Profile, requester: Requester): AccessDecision {
    return accessDecision(profile.access, requester);
  }

  createAuthorizationRequest(input: NewAuthorizationRequest): Promise<CreatedAuthorizationRequest> {
    return createAuthorizationRequest(this.context, input);
  }

  startAuthorization(requestId: string, browserBinding: string | undefined): Promise<StartedAuthorization>;
  /** `admit` sees the request first (e.g. an organisation gate); null when it refused (it has answered). */
  startAuthorization(
    requestId: string,
    browserBinding: string | undefined,
    admit: StartAdmission,
  ): Promise<StartedAuthorization | null>;
  async startAuthorization(
    requestId: string,
    browserBinding: string | undefined,
    admit?: StartAdmission,
  ): Promise<StartedAuthorization | null> {
    return startAuthorization(this.context, requestId, browserBinding, admit);
  }

  /**
   * Validates (throws `AuthProfilesError` for SECURITY.md #1–#5 without consuming anything), then exchanges
   * the code and stores the connection. Failures after consumption come back as `failed`.
   */
  completeCallback(input: CallbackInput): Promise<CallbackOutcome> {
    return completeCallback(this.context, input);
  }

  /**
   * The chat user cancelled (or the wait timed out): a later callback for this request is refused
   * instead of silently connecting an account nobody is waiting for.
   */
  async cancelAuthorizationRequest(requestId: string): Promise<void> {
    const request = await this.context.store.authorizationRequests.get(requestId);
    if (request && (request.status === 'created' || request.status === 'started')) {
      await this.context.store.authorizationRequests.complete(requestId, {
        result: 'failed',
        error: 'cancelled',
      });
    }
  }

  verify(
    profile: Profile,
    subject: Subject,
    code: string,
    options: { connection?: string } = {},
  ): Promise<VerificationResult> {
    const key = connectionKey(subjectKey(subject), options.connection);
    return verifyConnection(this.context, profile.id, key, code);
  }

  /** The named connection, or the default one when no name is given. */
  async connectionOf(
    profile: Profile,
    subject: Subject,
    options: { connection?: string } = {},
  ): Promise<ConnectionSummary | null> {
    const { connections } = this.context.store;
    const connection = await namedOrDefaultConnection(
      connections,
      profile.id,
      subjectKey(subject),
      options.connection,
    );
    return connection ? summarize(connection, this.context.keyRing) : null;
  }

  /**
   * Revokes at the provider when possible and deletes the named connection (absent: the default one);
   * null when there was no connection. Signing out of the default makes the unnamed one default again.
   */
  async signOut(
    profile: Profile,
    subject: Subject,
    actor: string,
    options: { connection?: string } = {},
  ): Promise<RevocationOutcome | null> {
    const { connections } = this.context.store;
    const key = subjectKey(subject);
    const connection = await namedOrDefaultConnection(connections, profile.id, key, options.connection);
    if (!connection) return null;
    const outcome = await revokeConnection(this.context, connection, actor);
    if (connection.preferred === true) {
      await setDefaultConnection(connections, profile.id, key, null, this.context.clock());
    }
    return outcome;
  }

  /**
   * Makes the named connection (`default`: the unnamed one) the one used when no name is given;
   * false when the subject has no such connection of the profile.
   */
  setDefaultConnection(profile: Profile, subject: Subject, name: string): Promise<boolean> {
    const { connections } = this.context.store;
    const parsed = parseConnectionName(name);
    return setDefaultConnection(connections, profile.id, subjectKey(subject), parsed, this.context.clock());
  }

  async revokeById(connectionId: string, actor: string): Promise<RevocationOutcome> {
    const connection = await this.context.store.connections.getById(connectionId);
    if (!connection) throw new AuthProfilesError('not-connected', `no connection "${connectionId}"`);
    return revokeConnection(this.context, connection, actor);
  }

  /** The sign-in link of a request (`PUBLIC_URL/oauth/start/{id}`). */
  startUrl(requestId: string): string {
    return startUrlFor(this.context.publicUrl, requestId);
  }

  /** A sign-in as hosts may see it (its state in the one vocabulary), or null when there is none. */
  async signinRequest(requestId: string): Promise<SigninRequest | null> {
    const request = await this.context.store.authorizationRequests.get(requestId);
    return request ? signinRequestOf(request) : null;
  }

  /**
   * Ends sign-ins whose time ran out (up to `limit`, each claimed by one instance only, state
   * `expired`) and returns them so their waiting conversations can be told; forgets requests that
   * ended more than a day ago.
   */
  async expireSigninRequests(limit = 50): Promise<SigninRequest[]> {
    const now = this.context.clock();
    const expired = await this.context.store.authorizationRequests.claimExpired(now, limit);
    await this.context.store.authorizationRequests.deleteExpired(now - 24 * 3600_000);
    return expired.map(signinRequestOf);
  }

  // -- profiles -------------------------------------------------------------------------------------

  findProfile(id: string): Promise<Profile | null> {
    return this.context.catalog.find(id);
  }

  /** Throws `profile-not-found`. */
  getProfile(id: string): Promise<Profile> {
    return this.context.catalog.get(id);
  }

  listProfiles(): Promise<Profile[]> {
    return this.context.catalog.list();
  }

  /** A profile of the bundled catalog (its stored record is an override, not a whole profile). */
  isBundledProfile(id: string): boolean {
    return this.context.catalog.isSystem(id);
  }

  /** What the admin API or pages stored for a profile (a custom profile or an override), if anything. */
  async storedProfile(id: string): Promise<StoredProfileDocument | null> {
    const stored = await this.context.store.profiles.get(id);
    return stored && withoutSecret(stored);
  }

  async listStoredProfiles(): Promise<StoredProfileDocument[]> {
    return (await this.context.store.profiles.list()).map(withoutSecret);
  }

  /** Validates, seals the secret, stores; marks connections when the change affects their tokens. */
  saveProfile(
    id: string,
    input: unknown,
    actor: Actor,
    options: { expectedVersion?: number } = {},
  ): Promise<SaveResult> {
    return saveProfile(this.context, id, input, actor, options);
  }

  /** Deletes a stored profile (a bundled one: its override) and revokes its connections. */
  deleteProfile(id: string, actor: Actor): Promise<DeleteResult> {
    return deleteProfile(this.context, id, actor);
  }

  /** One of the profile's URLs rendered and checked against the address rule (SECURITY.md #41). */
  profileUrl(profile: Profile, field: UrlField): CheckedUrl | undefined {
    return this.context.outbound.profileUrl(profile, field);
  }

  /**
   * Where to call the profile's API with this token: the connection's own base (profile
   * `apiBaseUrlFrom`, checked when it was stored) or else the profile's `apiBaseUrl`, checked against the
   * address rule now (SECURITY.md #41); undefined when the profile has neither.
   */
  apiBaseUrl(profile: Profile, token: Extract<TokenResult, { ok: true }>): CheckedUrl | undefined {
    if (token.apiBaseUrl !== undefined) return this.context.outbound.check(token.apiBaseUrl, 'apiBaseUrl');
    return this.context.outbound.profileUrl(profile, 'apiBaseUrl');
  }

  /** The HTTP client for a profile's APIs: it refuses internal addresses (SECURITY.md #42). */
  get outboundFetch(): OutboundFetch {
    return this.context.outbound.fetch;
  }

  // -- connections ----------------------------------------------------------------------------------

  async connectionById(connectionId: string): Promise<ConnectionSummary | null> {
    const connection = await this.context.store.connections.getById(connectionId);
    return connection ? summarize(connection, this.context.keyRing) : null;
  }

  /** One page of connections (no tokens), ordered by id; `after` is the last id of the previous page. */
  async listConnections(
    filter: ConnectionFilter,
    page: { limit: number; after?: string },
  ): Promise<ConnectionSummary[]> {
    const connections = await this.context.store.connections.list(filter, page);
    return connections.map((connection) => summarize(connection, this.context.keyRing));
  }

  /** The user's (or the organisation's) connections, at most 200. */
  connectionsOf(subject: Subject): Promise<ConnectionSummary[]> {
    return this.listConnections({ subject: subjectKey(subject) }, { limit: 200 });
  }

  countConnections(filter: ConnectionFilter): Promise<number> {
    return this.context.store.connections.count(filter);
  }

  /** "Test connection": a valid token (refreshed if due) against the profile's check URL. */
  checkConnection(connectionId: string, fetch?: OutboundFetch): Promise<ConnectionCheck | null> {
    return checkConnection(this.context, this.tokens, connectionId, fetch);
  }

  /**
   * Bring your own tokens: proves `tokens.refreshToken` with a refresh at the provider now, then stores
   * the connection for `subject`; a refused token throws with the provider's answer, nothing stored.
   */
  importConnection(
    profile: Profile,
    subject: Subject,
    tokens: ImportedTokens,
    actor: string,
  ): Promise<ConnectionSummary> {
    return importConnection(this.context, profile, subject, tokens, actor);
  }

  /** A consent for another system's user (`external:<id>`), ending at an allow-listed redirect URL. */
  startExternalConsent(
    profile: Profile,
    input: { externalUserId: string; redirectUrl: string },
    actor: string,
  ): Promise<CreatedAuthorizationRequest> {
    return startExternalConsent(this.context, profile, input, actor);
  }

  /** Gives an external consent's connection to a chat user (a new connection id; the old one is gone). */
  linkConnection(
    connectionId: string,
    user: Extract<Subject, { kind: 'user' }>,
    actor: string,
  ): Promise<ConnectionSummary> {
    return linkConnection(this.context, connectionId, user, actor);
  }

  // -- actions (issue 11, profiles/actions/) ---------------------------------------------------------

  /** The profile's declared actions, each with whether it is enabled. */
  listActions(profile: Profile): readonly ActionView[] {
    return this.actions.list(profile);
  }

  /** The profile's actions as admins see them: path, default, and whether an admin chose the state. */
  listAdminActions(profile: Profile): AdminActionView[] {
    return adminActionViews(profile);
  }

  /**
   * Switches action `key` of a profile on or off (`actionSettings`, saved like any profile change;
   * bundled profiles: admins only, in the stored override) and records `action.enabled`/`disabled`.
   */
  setActionEnabled(
    profileId: string,
    key: string,
    enabled: boolean,
    actor: Actor,
    options: { expectedVersion?: number } = {},
  ): Promise<ActionSwitchResult> {
    return setActionEnabled(this.context, profileId, key, enabled, actor, options);
  }

  /**
   * Runs action `key` (`deals.list-mine`) with the subject's connection: checks the switch, the
   * parameters and the connection's scopes, then one request to the profile's API host that refreshes
   * once on 401 and waits out a short 429. Failures come back as `{ ok: false, code, message }`.
   */
  runAction(
    profile: Profile,
    subject: Subject,
    key: string,
    params: unknown,
    options: RunActionOptions = {},
  ): Promise<ActionOutcome> {
    return this.actions.run(profile, subject, key, params, options);
  }

  /**
   * The scopes a sign-in of this profile may ask for as `additionalScopes` (issue 11 point 5): the
   * profile's own, its optional ones, and those of its enabled actions and `currentUser` lookup.
   */
  declaredScopes(profile: Profile): string[] {
    return [...declaredScopes(profile)];
  }

  // -- audit ----------------------------------------------------------------------------------------

  /** Appends to the audit log; a failed write is logged, never thrown at the caller. */
  audit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    return recordAudit(this.context, entry);
  }

  listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    return this.context.store.audit.list(query);
  }

  // -- the service around the engine ----------------------------------------------------------------

  /**
   * The store's documents with optimistic concurrency, where the host keeps its own state (botbuilder
   * conversation state, admin sessions). The engine never reads them.
   */
  hostDocuments(): DocumentRepository {
    return this.context.store.documents;
  }

  /** Admin keys: `configured` (from the environment) plus those created with the API or CLI. */
  adminKeys(configured: readonly ConfiguredKey[]): AdminKeys {
    return new AdminKeys(this.context, [...configured]);
  }

  get storeKind(): Store['kind'] {
    return this.context.store.kind;
  }

  /** Reads and a small write, bounded, for `/healthz` (SECURITY.md #53). */
  storeHealthCheck(options: { timeoutMs: number }): StoreHealthCheck {
    return storeHealthCheck(this.context.store, { ...options, clock: this.context.clock });
  }

  /** The id of the key new secrets are sealed with. */
  get currentKeyId(): string {
    return this.context.keyRing.currentKeyId;
  }

  /** Records, until stopped, which encryption keys this instance holds (SECURITY.md #52). */
  startKeyHolderHeartbeat(instance: { instanceId: string; where: string }): KeyHolderHeartbeat {
    return startKeyHolderHeartbeat(this.context, instance);
  }

  /** The instances whose keys a rotation must respect. */
  keyHoldersToRespect(): Promise<(KeyHolder & { running: boolean })[]> {
    return keyHoldersToRespect(this.context);
  }

  /** Re-encrypts every sealed secret with the current key; resumable after `after`. */
  reencryptAll(
    options: { batchSize?: number; after?: string; onProgress?: (report: RotationReport) => void } = {},
  ): Promise<RotationReport> {
    return reencryptAll(this.context, options);
  }
}

function withoutSecret(stored: StoredProfile): StoredProfileDocument {
  const { clientSecret: _sealed, ...rest } = stored;
  return rest;
}
