import {
  isAuthProfilesError,
  ORGANIZATION,
  subjectKey,
  type AuthorizationEngine,
  type Profile,
  type Subject,
} from '../../profiles';
import type { Logger } from '../logger';
import type { TokenServiceCaller } from './callerAuthentication';
import type { TokenExchangeState } from './exchangeState';
import type { GetTokenQuery, SignOutQuery, TokenStatusQuery, UserConnectionQuery } from './requests';
import { TokenServiceError } from './tokenServiceError';

/**
 * The user-token API's operations on the engine, without HTTP (routes.ts maps them). A
 * connection of a token-service user is keyed by channel, user AND calling bot, so a bot only ever
 * reaches connections its own users made through it (SECURITY.md #9, #10 for other bots).
 */

/** `TokenResponse` of botframework-connector (tokenApi/models/mappers.js). */
export interface TokenResponse {
  channelId: string;
  connectionName: string;
  token: string;
  /** ISO 8601. */
  expiration: string;
}

/** `TokenStatus` (mappers.js). */
export interface TokenStatus {
  channelId: string;
  connectionName: string;
  hasToken: boolean;
  serviceProviderDisplayName: string;
}

export class UserTokens {
  constructor(
    private readonly engine: AuthorizationEngine,
    private readonly log: Logger,
  ) {}

  /**
   * A valid token (refreshed once when due, by the engine) or null for "no token". With `code`, a
   * sign-in waiting for its verification code is activated first — only for the user and bot that
   * started it, since the connection is keyed by both.
   */
  async getToken(caller: TokenServiceCaller, query: GetTokenQuery): Promise<TokenResponse | null> {
    const profile = await this.profile(query.connectionName);
    this.assertAccess(caller, profile, query.channelId, query.userId);
    const subject = this.subjectFor(caller, profile, query);
    if (query.code !== undefined && subject.kind === 'user') {
      const outcome = await this.engine.verify(profile, subject, query.code);
      if (outcome !== 'nothing-pending') {
        this.log.info(
          { bot: botLabel(caller), profileId: profile.id, channelId: query.channelId, outcome },
          'token service: sign-in code checked',
        );
      }
    }
    const result = await this.engine.getToken(profile, subject);
    if (result.ok) {
      return {
        channelId: query.channelId,
        connectionName: profile.id,
        token: result.accessToken,
        expiration: new Date(result.expiresAt).toISOString(),
      };
    }
    if (result.reason === 'provider-unavailable') {
      throw new TokenServiceError(
        503,
        'provider-unavailable',
        `${profile.displayName} is not answering; the stored tokens are kept, try again shortly`,
      );
    }
    return null;
  }

  /**
   * A sign-in link for the user the state names: the same browser flow as the service's own bot
   * (binding cookie, state, PKCE, issuer check), always ending with a code to type, because only
   * the code tells the calling bot that the sign-in finished.
   */
  async signInLink(caller: TokenServiceCaller, state: TokenExchangeState): Promise<string> {
    if (!caller.anonymous && (state.msAppId ?? '') !== caller.appId) {
      throw new TokenServiceError(
        403,
        'state-mismatch',
        'state.msAppId names another bot than the one calling: a bot starts sign-ins for itself only',
      );
    }
    const profile = await this.profile(state.connectionName);
    if (profile.authorization === 'pre-authorized') {
      throw new TokenServiceError(
        400,
        'pre-authorized',
        `connection "${profile.id}" is pre-authorized: an admin connects it for the whole organisation, users do not sign in`,
      );
    }
    const reference = state.conversation;
    this.assertAccess(caller, profile, reference.channelId, reference.user.id);
    const subject: Subject = {
      kind: 'user',
      channelId: reference.channelId,
      userId: reference.user.id,
      botAppId: caller.appId,
    };
    try {
      const created = await this.engine.createAuthorizationRequest({
        profile,
        subject,
        // No conversation reference: the service never writes into another bot's conversation.
        context: { kind: 'token-service', bot: caller.appId, channelId: reference.channelId },
        createdBy: actorOf(caller),
        requireVerification: true,
      });
      // Not the request id: it is the secret half of the start link, still unused here (SECURITY.md #32).
      this.log.info({ bot: botLabel(caller), profileId: profile.id }, 'token service: sign-in link created');
      return created.startUrl;
    } catch (error) {
      if (isAuthProfilesError(error) && error.status < 500) {
        throw new TokenServiceError(error.status, error.code, error.message);
      }
      throw error;
    }
  }

  /** Revokes (at the provider when it can) and deletes the user's connections made through this bot. */
  async signOut(caller: TokenServiceCaller, query: SignOutQuery): Promise<number> {
    const user: Subject = {
      kind: 'user',
      channelId: query.channelId,
      userId: query.userId,
      botAppId: caller.appId,
    };
    let signedOut = 0;
    if (query.connectionName !== undefined) {
      const profile = await this.profile(query.connectionName);
      // An organisation connection is not the user's to end: only admins disconnect it.
      if (profile.authorization === 'pre-authorized') return 0;
      if (await this.engine.signOut(profile, user, actorOf(caller))) signedOut += 1;
    } else {
      const connections = await this.engine.listConnections({ subjectKey: subjectKey(user) }, { limit: 500 });
      for (const connection of connections) {
        await this.engine.revokeById(connection.id, actorOf(caller));
        signedOut += 1;
      }
    }
    this.log.info(
      { bot: botLabel(caller), profileId: query.connectionName ?? '(all)', signedOut },
      'token service: signed out',
    );
    return signedOut;
  }

  /** One entry per usable connection setting (profile), optionally only those named in `include`. */
  async tokenStatus(caller: TokenServiceCaller, query: TokenStatusQuery): Promise<TokenStatus[]> {
    const include = query.include
      ? new Set(
          query.include
            .split(',')
            .map((name) => name.trim())
            .filter(Boolean),
        )
      : null;
    const user: Subject = {
      kind: 'user',
      channelId: query.channelId,
      userId: query.userId,
      botAppId: caller.appId,
    };
    const own = await this.engine.listConnections({ subjectKey: subjectKey(user) }, { limit: 500 });
    const active = new Set(own.filter((c) => c.status === 'active').map((c) => c.profileId));
    const statuses: TokenStatus[] = [];
    for (const profile of await this.engine.listProfiles()) {
      if (profile.missing.length > 0 || (include && !include.has(profile.id))) continue;
      const hasToken =
        profile.authorization === 'pre-authorized'
          ? (await this.engine.connectionOf(profile, ORGANIZATION))?.status === 'active'
          : active.has(profile.id);
      statuses.push({
        channelId: query.channelId,
        connectionName: profile.id,
        hasToken,
        serviceProviderDisplayName: profile.displayName,
      });
    }
    return statuses;
  }

  /**
   * `exchange` (single sign-on) and `GetAadTokens` need a connection that can trade one token for
   * another (Azure AD on-behalf-of, per-resource tokens); profiles are plain OAuth 2 clients that
   * cannot, so both answer with the error the client handles (OAuthPrompt falls back to the card).
   */
  async unsupported(
    query: UserConnectionQuery,
    operation: 'exchange' | 'aad-tokens',
  ): Promise<TokenServiceError> {
    const profile = await this.profile(query.connectionName);
    return operation === 'exchange'
      ? new TokenServiceError(
          400,
          'exchange-not-supported',
          `connection "${profile.id}" cannot exchange tokens (single sign-on): sign in with the OAuth card instead`,
        )
      : new TokenServiceError(
          400,
          'aad-tokens-not-supported',
          `connection "${profile.id}" is not an Azure AD v1 connection: it has no per-resource tokens`,
        );
  }

  private async profile(connectionName: string): Promise<Profile> {
    const profile = await this.engine.findProfile(connectionName);
    if (!profile) {
      throw new TokenServiceError(
        400,
        'unknown-connection',
        `connectionName: this service has no connection "${connectionName}"`,
        [{ path: 'connectionName', message: 'is not a connection (profile id) of this service' }],
      );
    }
    if (profile.missing.length > 0) {
      throw new TokenServiceError(
        503,
        'connection-not-configured',
        `connection "${profile.id}" is not configured yet: missing ${profile.missing.join(', ')}`,
      );
    }
    return profile;
  }

  /**
   * The profile's access policy (issue 10 point 1). A calling bot's requests name only a channel and a
   * user id, so only `users` entries of the form `<channelId>:<userId>` and `channels` entries can match
   * here; a profile limited to tenants, teams or groups refuses token-service users (fails closed).
   * 403 `access-denied` as an ErrorResponse: botframework-connector's UserTokenClient throws it to the
   * calling bot (only 404 means "no token"), so the bot tells its user instead of showing a card.
   */
  private assertAccess(
    caller: TokenServiceCaller,
    profile: Profile,
    channelId: string,
    userId: string,
  ): void {
    if (this.engine.checkAccess(profile, { channelId, userId }).allowed) return;
    this.log.info(
      { bot: botLabel(caller), profileId: profile.id, channelId },
      'token service: refused by the access policy',
    );
    throw new TokenServiceError(
      403,
      'access-denied',
      `this user may not use connection "${profile.id}": its access policy does not list them`,
    );
  }

  private subjectFor(
    caller: TokenServiceCaller,
    profile: Profile,
    query: { channelId: string; userId: string },
  ): Subject {
    return profile.authorization === 'pre-authorized'
      ? ORGANIZATION
      : { kind: 'user', channelId: query.channelId, userId: query.userId, botAppId: caller.appId };
  }
}

/** How the audit log names a calling bot. */
export function actorOf(caller: TokenServiceCaller): string {
  return `bot:${botLabel(caller)}`;
}

function botLabel(caller: TokenServiceCaller): string {
  return caller.anonymous ? 'anonymous-local' : caller.appId;
}
