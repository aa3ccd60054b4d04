import {
  createAuthorizationRequest,
  startAuthorization,
  type CreatedAuthorizationRequest,
  type NewAuthorizationRequest,
  type StartedAuthorization,
} from './authorizationRequests';
import { exchangeCode, isValidatedCallback, validateCallback, type CallbackInput } from './callback';
import {
  saveConnection,
  summarize,
  verifyConnection,
  type ConnectionSummary,
  type VerificationResult,
} from './connections';
import { recordAudit, type EngineContext } from './engineContext';
import { AuthProfilesError, isAuthProfilesError } from './errors';
import type { Profile } from './profileCatalog';
import { revokeConnection, type RevocationOutcome } from './revocation';
import type { AuthorizationRequestOutcome, StoredAuthorizationRequest } from './store/types';
import { subjectKey, type Subject } from './subjects';
import { TokenService, type TokenResult } from './tokens';

/** How a callback ended, for the page to show and the waiting dialog to resume with. */
export type CallbackOutcome =
  | {
      kind: 'connected';
      request: StoredAuthorizationRequest;
      profile: Profile;
      connection: ConnectionSummary;
    }
  | {
      kind: 'pending-verification';
      request: StoredAuthorizationRequest;
      profile: Profile;
      connection: ConnectionSummary;
      /** Shown once, on the callback page, to the person who consented. */
      verificationCode: string;
    }
  | { kind: 'denied'; request: StoredAuthorizationRequest; profile: Profile }
  | { kind: 'failed'; request: StoredAuthorizationRequest; profile: Profile; error: AuthProfilesError };

/**
 * The engine's public face: what `bot/` and `dialogs/` call. Everything below it is reachable
 * through these methods only, so the order of the protocol steps cannot be broken from outside.
 */
export class AuthorizationEngine {
  readonly tokens: TokenService;

  constructor(readonly context: EngineContext) {
    this.tokens = new TokenService(context);
  }

  get catalog() {
    return this.context.catalog;
  }

  get store() {
    return this.context.store;
  }

  getToken(
    profile: Profile,
    subject: Subject,
    options: { rejectedAccessToken?: string } = {},
  ): Promise<TokenResult> {
    return this.tokens.getToken(profile, subject, options);
  }

  createAuthorizationRequest(input: NewAuthorizationRequest): Promise<CreatedAuthorizationRequest> {
    return createAuthorizationRequest(this.context, input);
  }

  startAuthorization(requestId: string, browserBinding: string | undefined): Promise<StartedAuthorization> {
    return startAuthorization(this.context, requestId, browserBinding);
  }

  /**
   * Validates (throws `AuthProfilesError` for SECURITY.md #1–#5 without consuming anything), then exchanges
   * the code and stores the connection. Failures after consumption come back as `failed`.
   */
  async completeCallback(input: CallbackInput): Promise<CallbackOutcome> {
    const callback = await validateCallback(this.context, input);
    const { request, profile } = callback;
    if (!isValidatedCallback(callback)) {
      const denied = callback.error.code === 'consent-denied';
      // The provider's own words (cleaned, bounded) are the clue an operator needs (SECURITY.md #7).
      this.context.log.warn(
        {
          profileId: profile.id,
          requestId: request.id,
          providerError: callback.error.provider?.error,
          description: callback.error.provider?.description,
        },
        denied ? 'access was not granted at the provider' : 'the provider refused the authorization',
      );
      await this.finish(request, { result: denied ? 'denied' : 'failed', error: callback.error.code });
      await recordAudit(this.context, {
        actor: request.createdBy,
        action: denied ? 'authorization.denied' : 'authorization.failed',
        target: `profile:${profile.id}`,
        details: { subject: request.subjectKey, code: callback.error.code },
      });
      return denied
        ? { kind: 'denied', request, profile }
        : { kind: 'failed', request, profile, error: callback.error };
    }
    try {
      const { tokens, account, apiBaseUrl } = await exchangeCode(this.context, callback);
      const saved = await saveConnection(this.context, profile, request.subjectKey, tokens, {
        createdBy: request.createdBy,
        requireVerification: request.requireVerification,
        account,
        apiBaseUrl,
      });
      const connection = summarize(saved.connection, this.context.keyRing);
      await this.finish(request, {
        result: saved.verificationCode ? 'pending-verification' : 'connected',
        connectionId: connection.id,
      });
      await recordAudit(this.context, {
        actor: request.createdBy,
        action: 'authorization.completed',
        target: `connection:${connection.id}`,
        details: { profile: profile.id, subject: request.subjectKey, status: connection.status },
      });
      this.context.log.info(
        { profileId: profile.id, connectionId: connection.id, status: connection.status },
        'authorization completed',
      );
      return saved.verificationCode
        ? {
            kind: 'pending-verification',
            request,
            profile,
            connection,
            verificationCode: saved.verificationCode,
          }
        : { kind: 'connected', request, profile, connection };
    } catch (error) {
      const failure = isAuthProfilesError(error)
        ? error
        : new AuthProfilesError('provider-error', 'the authorization could not be completed');
      this.context.log.warn(
        {
          profileId: profile.id,
          requestId: request.id,
          errorCode: failure.code,
          providerStatus: failure.provider?.httpStatus,
          providerError: failure.provider?.error,
        },
        'authorization failed',
      );
      await this.finish(request, { result: 'failed', error: failure.code });
      await recordAudit(this.context, {
        actor: request.createdBy,
        action: 'authorization.failed',
        target: `profile:${profile.id}`,
        details: { subject: request.subjectKey, errorCode: failure.code },
      });
      return { kind: 'failed', request, profile, error: failure };
    }
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

  verify(profile: Profile, subject: Subject, code: string): Promise<VerificationResult> {
    return verifyConnection(this.context, profile.id, subjectKey(subject), code);
  }

  async connectionOf(profile: Profile, subject: Subject): Promise<ConnectionSummary | null> {
    const connection = await this.context.store.connections.get(profile.id, subjectKey(subject));
    return connection ? summarize(connection, this.context.keyRing) : null;
  }

  /** Revokes at the provider when possible and deletes; null when there was no connection. */
  async signOut(profile: Profile, subject: Subject, actor: string): Promise<RevocationOutcome | null> {
    const connection = await this.context.store.connections.get(profile.id, subjectKey(subject));
    return connection ? revokeConnection(this.context, connection, actor) : null;
  }

  async revokeById(connectionId: string, actor: string): Promise<RevocationOutcome> {
    const connection = await this.context.store.connections.getById(connectionId);
    if (!connection) throw new AuthProfilesError('not-connected', `no connection "${connectionId}"`);
    return revokeConnection(this.context, connection, actor);
  }

  private async finish(
    request: StoredAuthorizationRequest,
    outcome: AuthorizationRequestOutcome,
  ): Promise<void> {
    try {
      await this.context.store.authorizationRequests.complete(request.id, outcome);
    } catch (error) {
      // The request is already consumed; a lost outcome only delays the dialog's timeout message.
      this.context.log.warn(
        { requestId: request.id, errorCode: (error as { code?: string }).code },
        'recording the request outcome failed',
      );
    }
  }
}
