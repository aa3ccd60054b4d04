import { identifyAccount } from './accountIdentity';
import { saveConnection, summarize, type ConnectionSummary } from './connections';
import { recordAudit, type EngineContext } from './engineContext';
import { AuthProfilesError, isAuthProfilesError } from './errors';
import { requestRefreshToken } from './oauth/tokenEndpoint';
import { processTokenResponse } from './oauth/tokenResponse';
import type { CheckedUrl } from './outboundRequests';
import { assertUsable, type Profile } from './profileCatalog';
import { apiBaseUrlOf } from './providerUrls';
import { subjectKey, type Subject } from './subjects';

/**
 * "Bring your own tokens" (issue 10 point 5): a refresh token obtained elsewhere becomes a connection
 * only after the provider accepted it in a refresh made right now, so nothing unproven is stored; the
 * tokens of that refresh are what is kept (sealed like any other, SECURITY.md #30). The given access
 * token, if any, is not needed once the refresh succeeded and is never stored.
 */

export interface ImportedTokens {
  refreshToken: string;
  accessToken?: string;
}

export async function importConnection(
  engine: EngineContext,
  profile: Profile,
  subject: Subject,
  tokens: ImportedTokens,
  actor: string,
): Promise<ConnectionSummary> {
  assertUsable(profile);
  if (profile.authorization === 'pre-authorized' && subject.kind !== 'organization') {
    throw new AuthProfilesError(
      'invalid-configuration',
      `profile "${profile.id}" is pre-authorized: only an organisation connection can be imported`,
      { status: 400 },
    );
  }
  const key = subjectKey(subject);
  let refreshed;
  let account;
  try {
    const body = await requestRefreshToken(
      engine.outbound.profileUrl(profile, 'refreshUrl') as CheckedUrl,
      {
        clientId: profile.clientId,
        clientSecret: profile.clientSecret,
        authMethod: profile.tokenEndpointAuthMethod,
      },
      tokens.refreshToken,
      engine.settings.http,
      engine.outbound,
    );
    refreshed = processTokenResponse(
      body,
      {
        tokenTypes: profile.tokenTypes,
        defaultTokenTtlSeconds: profile.defaultTokenTtlSeconds,
        requestedScopes: profile.scopes,
        apiBaseUrlFrom: profile.apiBaseUrlFrom,
      },
      engine.clock(),
    );
    // A required account (the organisation's portal) is enforced for imported tokens too.
    account = await identifyAccount(engine, profile, refreshed.accessToken, null);
  } catch (error) {
    const failure = isAuthProfilesError(error) ? error : null;
    await recordAudit(engine, {
      actor,
      action: 'connection.import-refused',
      target: `profile:${profile.id}`,
      details: {
        subject: key,
        errorCode: failure?.code ?? 'provider-error',
        providerError: failure?.provider?.error ?? null,
      },
    });
    throw error;
  }
  // SECURITY.md #17: no refresh_token in the answer means the given one stays valid.
  const proven = { ...refreshed, refreshToken: refreshed.refreshToken ?? tokens.refreshToken };
  const saved = await saveConnection(engine, profile, key, proven, {
    createdBy: actor,
    requireVerification: false,
    account,
    apiBaseUrl: apiBaseUrlOf(engine, profile, proven.apiBaseUrl ?? null, { required: true }),
  });
  const connection = summarize(saved.connection, engine.keyRing);
  await recordAudit(engine, {
    actor,
    action: 'connection.imported',
    target: `connection:${connection.id}`,
    details: { profile: profile.id, subject: key, account: account?.sub ?? null },
  });
  return connection;
}
