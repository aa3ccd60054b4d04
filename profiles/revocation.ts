import { openTokens } from './connections';
import { recordAudit, type EngineContext } from './engineContext';
import { isAuthProfilesError } from './errors';
import { revokeToken } from './oauth/tokenEndpoint';
import type { CheckedUrl } from './outboundRequests';
import type { StoredConnection } from './store/types';

export interface RevocationOutcome {
  /** The provider was told (RFC 7009); false when it has no revocation endpoint or did not answer. */
  revokedAtProvider: boolean;
  /** Stable code of why the provider was not told, if it was not. */
  providerError: string | null;
}

/**
 * Sign-out and admin revocation (DESIGN flow 4): tell the provider when it has a revocation URL,
 * then delete the connection whatever the provider said, so the user is signed out here for sure.
 */
export async function revokeConnection(
  engine: EngineContext,
  connection: StoredConnection,
  actor: string,
): Promise<RevocationOutcome> {
  let outcome: RevocationOutcome = { revokedAtProvider: false, providerError: 'no-revocation-endpoint' };
  const profile = await engine.catalog.find(connection.profileId);
  const revocationUrl = profile && profile.missing.length === 0 ? profile.revocationUrl : undefined;
  if (profile && profile.fingerprint !== connection.profileFingerprint) {
    // The profile's client or endpoints changed since these tokens were issued: sending them to the
    // new revocation URL would hand them to whoever edited the profile. Delete locally only.
    outcome = { revokedAtProvider: false, providerError: 'profile-changed' };
  } else if (profile && revocationUrl && profile.clientId && profile.clientSecret) {
    try {
      // Rendered and checked right before the request (SECURITY.md #41); a refusal deletes locally only.
      const checked = engine.outbound.profileUrl(profile, 'revocationUrl') as CheckedUrl;
      const tokens = openTokens(engine, connection);
      const client = {
        clientId: profile.clientId,
        clientSecret: profile.clientSecret,
        authMethod: profile.tokenEndpointAuthMethod,
      };
      // Revoking the refresh token ends the grant at most providers (RFC 7009 §2.1); the access
      // token is revoked too for those that keep it alive.
      if (tokens.refreshToken)
        await revokeToken(
          checked,
          client,
          tokens.refreshToken,
          'refresh_token',
          engine.settings.http,
          engine.outbound,
        );
      await revokeToken(
        checked,
        client,
        tokens.accessToken,
        'access_token',
        engine.settings.http,
        engine.outbound,
      );
      outcome = { revokedAtProvider: true, providerError: null };
    } catch (error) {
      const code = isAuthProfilesError(error) ? error.code : 'provider-error';
      engine.log.warn(
        { connectionId: connection.id, profileId: connection.profileId, errorCode: code },
        'revocation at the provider failed',
      );
      outcome = { revokedAtProvider: false, providerError: code };
    }
  }
  await engine.store.connections.delete(connection.id);
  await recordAudit(engine, {
    actor,
    action: 'connection.revoked',
    target: `connection:${connection.id}`,
    details: {
      profile: connection.profileId,
      subject: connection.subjectKey,
      revokedAtProvider: outcome.revokedAtProvider,
      providerError: outcome.providerError,
    },
  });
  return outcome;
}
