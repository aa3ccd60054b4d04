import { TOKEN_PLACEHOLDER, type IdentityConfig } from './accountFields';
import type { EngineContext } from './engineContext';
import { AuthProfilesError } from './errors';
import { cleanProviderText } from './oauth/providerText';
import { revokeToken } from './oauth/tokenEndpoint';
import type { CheckedUrl } from './outboundRequests';
import type { Profile } from './profileCatalog';
import type { ConnectionAccount } from './store/types';

/**
 * Which account a new token belongs to (issue 10 point 4): the profile's identity URL when it has
 * one (HubSpot's token-info endpoint gives the portal id and the user), else the verified ID token's
 * claims. The result is inert text stored with the connection and shown in chat and on admin pages.
 * A profile's `requiredAccount` is enforced here, before anything is stored.
 */

const ACCOUNT_TEXT_MAX = 200;

/** The account of `accessToken`, or `fromIdToken` when the profile has no identity URL. */
export async function identifyAccount(
  engine: EngineContext,
  profile: Profile,
  accessToken: string,
  fromIdToken: ConnectionAccount | null,
): Promise<ConnectionAccount | null> {
  const identity = profile.identity;
  let account = fromIdToken;
  if (identity) {
    try {
      account = await askIdentity(engine, identity, accessToken);
    } catch (error) {
      const failure = error instanceof AuthProfilesError ? error.code : 'provider-unavailable';
      // Without a required account a missing name is not worth refusing the connection over.
      if (profile.requiredAccount) {
        throw new AuthProfilesError(
          'wrong-account',
          `the connected ${profile.displayName} account could not be identified, so it cannot be checked against the one this organisation requires`,
        );
      }
      engine.log.warn({ profileId: profile.id, errorCode: failure }, 'the identity URL gave no account');
      account = null;
    }
  }
  assertRequiredAccount(profile, account);
  return account;
}

/** SECURITY.md #50 spirit: a token for another account than the organisation's is not stored. */
export function assertRequiredAccount(profile: Profile, account: ConnectionAccount | null): void {
  const required = profile.requiredAccount;
  if (!required) return;
  const actual = account === null ? null : required.field === 'id' ? account.sub : account[required.field];
  if (actual === required.value) return;
  const label = required.field === 'id' ? 'account id' : required.field;
  throw new AuthProfilesError(
    'wrong-account',
    actual === null
      ? `this ${profile.displayName} connection must be made with the account whose ${label} is ${required.value}; the connected account has none`
      : `this ${profile.displayName} connection must be made with the account whose ${label} is ${required.value}, not ${actual}; sign in with that account`,
  );
}

async function askIdentity(
  engine: EngineContext,
  identity: IdentityConfig,
  accessToken: string,
): Promise<ConnectionAccount> {
  const inPath = identity.token === 'path';
  const url = engine.outbound.check(
    inPath ? identity.url.replace(TOKEN_PLACEHOLDER, encodeURIComponent(accessToken)) : identity.url,
    'identity.url',
  );
  const response = await engine.outbound.fetch(url, {
    headers: { accept: 'application/json', ...(inPath ? {} : { authorization: `Bearer ${accessToken}` }) },
    signal: AbortSignal.timeout(engine.settings.http.timeoutMs),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new AuthProfilesError('provider-error', `the identity URL answered HTTP ${response.status}`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new AuthProfilesError('provider-error', 'the identity URL answered no JSON');
  }
  const id = textAt(body, identity.fields.id);
  if (id === null)
    throw new AuthProfilesError('provider-error', `the identity answer has no "${identity.fields.id}"`);
  return {
    sub: id,
    name: identity.fields.name === undefined ? null : textAt(body, identity.fields.name),
    email: identity.fields.email === undefined ? null : textAt(body, identity.fields.email),
  };
}

/** A string or number at a dotted member path, cleaned and bounded (inert text); null otherwise. */
function textAt(body: unknown, path: string): string | null {
  let value: unknown = body;
  for (const member of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    value = Object.prototype.hasOwnProperty.call(value, member)
      ? (value as Record<string, unknown>)[member]
      : undefined;
  }
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  return typeof value === 'string' ? cleanProviderText(value, ACCOUNT_TEXT_MAX) : null;
}

/**
 * Tokens just issued for an account the organisation does not accept are revoked at the provider
 * (RFC 7009) rather than left alive and unknown to anyone; best effort, the refusal stands either way.
 */
export async function discardRefusedTokens(
  engine: EngineContext,
  profile: Profile & { clientId: string; clientSecret: string },
  tokens: { accessToken: string; refreshToken?: string | null | undefined },
): Promise<void> {
  if (profile.revocationUrl === undefined) return;
  try {
    const url = engine.outbound.profileUrl(profile, 'revocationUrl') as CheckedUrl;
    const client = {
      clientId: profile.clientId,
      clientSecret: profile.clientSecret,
      authMethod: profile.tokenEndpointAuthMethod,
    };
    if (tokens.refreshToken) {
      await revokeToken(
        url,
        client,
        tokens.refreshToken,
        'refresh_token',
        engine.settings.http,
        engine.outbound,
      );
    }
    await revokeToken(url, client, tokens.accessToken, 'access_token', engine.settings.http, engine.outbound);
  } catch (error) {
    engine.log.warn(
      {
        profileId: profile.id,
        errorCode: error instanceof AuthProfilesError ? error.code : 'provider-error',
      },
      'revoking the tokens of a refused account failed',
    );
  }
}
