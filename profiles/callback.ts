import { secretContext } from './encryption';
import type { EngineContext } from './engineContext';
import { AuthProfilesError } from './errors';
import { safeEqual, sha256 } from './ids';
import { verifyIdToken } from './oauth/idToken';
import { cleanProviderText, DESCRIPTION_MAX_LENGTH } from './oauth/providerText';
import { requestCodeToken } from './oauth/tokenEndpoint';
import type { CheckedUrl } from './outboundRequests';
import { processTokenResponse, safeErrorCode, type TokenSet } from './oauth/tokenResponse';
import { assertUsable, type Profile } from './profileCatalog';
import { apiBaseUrlOf } from './providerUrls';
import { discardRefusedTokens, identifyAccount } from './accountIdentity';
import type { ConnectionAccount, StoredAuthorizationRequest } from './store/types';

/**
 * The provider's redirect back to us. Callback parameters reach the code exchange only through
 * `validateCallback`, whose result type no other module can construct (the brand below is not
 * exported), so skipping a check is a type error, not a review comment.
 */

const validated: unique symbol = Symbol('validated callback');

export interface ValidatedCallback {
  readonly [validated]: true;
  readonly request: StoredAuthorizationRequest;
  readonly profile: Profile;
  readonly code: string;
}

/** The provider redirected with `error=...` (e.g. the user refused); the request is consumed. */
export interface ErrorCallback {
  readonly kind: 'provider-error';
  readonly request: StoredAuthorizationRequest;
  readonly profile: Profile;
  /** `consent-denied` for access_denied, `provider-error` otherwise. */
  readonly error: AuthProfilesError;
}

export interface CallbackInput {
  /** From the route, `/oauth/callback/:profileId`. */
  profileId: string;
  /** The raw query string, so repeated parameters are visible (SECURITY.md #5). */
  query: string;
  /** The browser-binding cookie, if the browser sent one. */
  browserBinding: string | undefined;
}

const SINGLE_VALUED = ['code', 'state', 'iss', 'error', 'error_description'] as const;

/**
 * SECURITY.md #1–#5: checks state, request status and expiry, profile, browser and issuer, then
 * consumes the request atomically so only one delivery of a callback proceeds (SECURITY.md #23).
 */
export async function validateCallback(
  engine: EngineContext,
  input: CallbackInput,
): Promise<ValidatedCallback | ErrorCallback> {
  const params = new URLSearchParams(input.query);
  for (const name of SINGLE_VALUED) {
    if (params.getAll(name).length > 1) {
      throw new AuthProfilesError('duplicate-parameter', `the callback repeats the "${name}" parameter`);
    }
  }
  const state = params.get('state');
  if (!state) throw new AuthProfilesError('authorization-request-invalid', 'the callback has no state');
  const stateHash = sha256(state);
  const request = await engine.store.authorizationRequests.findByStateHash(stateHash);
  if (!request) throw new AuthProfilesError('authorization-request-invalid', 'the callback state is unknown');
  if (request.profileId !== input.profileId) {
    // Mix-up defence (RFC 9700 §4.4.2): each profile has its own redirect URI.
    throw new AuthProfilesError(
      'profile-mismatch',
      'the callback arrived for a different profile than it was started for',
    );
  }
  if (request.status !== 'started') {
    throw new AuthProfilesError('authorization-request-used', 'this sign-in has already been completed');
  }
  const now = engine.clock();
  if (request.expiresAt <= now)
    throw new AuthProfilesError('authorization-request-expired', 'this sign-in has expired');
  if (
    !input.browserBinding ||
    !request.bindingHash ||
    !safeEqual(sha256(input.browserBinding), request.bindingHash)
  ) {
    throw new AuthProfilesError(
      'browser-mismatch',
      'this sign-in was started in a different browser; open the sign-in link again in this browser',
    );
  }
  const profile = await engine.catalog.get(request.profileId);
  if (request.profileFingerprint !== undefined && request.profileFingerprint !== profile.fingerprint) {
    // The client, scopes or endpoints changed after the sign-in began: tokens for the old settings
    // must not be stored as if they were for the new ones.
    throw new AuthProfilesError(
      'profile-mismatch',
      'the integration was reconfigured during the sign-in; ask the bot for a new link',
    );
  }
  const iss = params.get('iss');
  // RFC 9207: compare when sent; demand it when the provider is known to send it.
  if (iss !== null && request.expectedIssuer !== null && iss !== request.expectedIssuer) {
    throw new AuthProfilesError('issuer-mismatch', 'the callback comes from an unexpected issuer');
  }
  if (iss === null && profile.issuerParameterSupported) {
    throw new AuthProfilesError('issuer-mismatch', 'the callback lacks the issuer the provider always sends');
  }
  const consumed = await engine.store.authorizationRequests.consume(request.id, stateHash, now);
  if (!consumed)
    throw new AuthProfilesError('authorization-request-used', 'this sign-in has already been completed');
  const error = params.get('error');
  if (error !== null) {
    const denied = error === 'access_denied';
    const safe = safeErrorCode(error);
    // Shown on the error page and logged: often the only useful clue ("nonce required"). Cleaned
    // and bounded here; the page escapes it (SECURITY.md #7).
    const description = cleanProviderText(params.get('error_description'), DESCRIPTION_MAX_LENGTH);
    const provider = { error: safe, ...(description === null ? {} : { description }) };
    return {
      kind: 'provider-error',
      request: consumed,
      profile,
      error: denied
        ? new AuthProfilesError('consent-denied', 'access was not granted', { provider })
        : new AuthProfilesError('provider-error', `the provider reported "${safe}"`, { provider }),
    };
  }
  const code = params.get('code');
  if (!code) throw new AuthProfilesError('authorization-request-invalid', 'the callback has no code');
  return { [validated]: true, request: consumed, profile, code };
}

export function isValidatedCallback(value: ValidatedCallback | ErrorCallback): value is ValidatedCallback {
  return (value as ValidatedCallback)[validated] === true;
}

/** What a code exchange yields once every check passed. */
export interface CodeExchange {
  tokens: TokenSet;
  /** Who signed in, from the verified ID token; null without OpenID Connect. */
  account: ConnectionAccount | null;
  /** The connection's own API base (profile `apiBaseUrlFrom`), address-checked; null when not used. */
  apiBaseUrl: string | null;
}

/**
 * Exchanges the code (with the PKCE verifier, SECURITY.md #8), validates the token response (SECURITY.md #14–#16),
 * verifies the ID token of an OpenID Connect sign-in (SECURITY.md #50) and checks a provider-assigned
 * API base URL. Any failure throws: nothing of a refused answer is stored.
 */
export async function exchangeCode(
  engine: EngineContext,
  callback: ValidatedCallback,
): Promise<CodeExchange> {
  if (callback[validated] !== true)
    throw new AuthProfilesError('authorization-request-invalid', 'unvalidated callback');
  const { profile, request } = callback;
  assertUsable(profile);
  const verifier = request.codeVerifier
    ? engine.keyRing.decrypt(
        request.codeVerifier,
        secretContext('authorizationRequests', request.id, 'codeVerifier'),
      )
    : null;
  const body = await requestCodeToken(
    engine.outbound.profileUrl(profile, 'tokenUrl') as CheckedUrl,
    {
      clientId: profile.clientId,
      clientSecret: profile.clientSecret,
      authMethod: profile.tokenEndpointAuthMethod,
    },
    { code: callback.code, redirectUri: request.redirectUri, codeVerifier: verifier },
    engine.settings.http,
    engine.outbound,
  );
  const tokens = processTokenResponse(
    body,
    {
      tokenTypes: profile.tokenTypes,
      defaultTokenTtlSeconds: profile.defaultTokenTtlSeconds,
      requestedScopes: request.scopes,
      apiBaseUrlFrom: profile.apiBaseUrlFrom,
    },
    engine.clock(),
  );
  // The ID token's claims, or the profile's identity URL; a required account is enforced here.
  let account: ConnectionAccount | null;
  try {
    account = await identifyAccount(
      engine,
      profile,
      tokens.accessToken,
      await accountOf(engine, profile, request, tokens),
    );
  } catch (error) {
    if (error instanceof AuthProfilesError && error.code === 'wrong-account') {
      // Tokens for the wrong portal should not stay alive at the provider with nobody holding them.
      await discardRefusedTokens(engine, profile, tokens);
    }
    throw error;
  }
  return {
    tokens,
    account,
    apiBaseUrl: apiBaseUrlOf(engine, profile, tokens.apiBaseUrl ?? null, { required: true }),
  };
}

/**
 * The verified account of an OpenID Connect sign-in. With `openid` requested the ID token is
 * required and must pass every check; a token the profile cannot verify (no `jwksUrl`, which the
 * schema allows only without `openid`) is ignored, never trusted.
 */
async function accountOf(
  engine: EngineContext,
  profile: Profile & { clientId: string },
  request: StoredAuthorizationRequest,
  tokens: TokenSet,
): Promise<ConnectionAccount | null> {
  const openid = request.scopes.includes('openid');
  const idToken = tokens.idToken ?? null;
  if (idToken === null) {
    if (openid) {
      throw new AuthProfilesError(
        'id-token-invalid',
        'the provider sent no ID token although the sign-in asked for openid',
      );
    }
    return null;
  }
  const jwksUrl = engine.outbound.profileUrl(profile, 'jwksUrl');
  if (jwksUrl === undefined || profile.issuer === undefined) return null;
  const nonceHash = request.nonceHash ?? null;
  if (openid && nonceHash === null) {
    // Started before nonces were sent: nothing binds this ID token to this sign-in.
    throw new AuthProfilesError('id-token-invalid', 'this sign-in carried no nonce; start it again');
  }
  return verifyIdToken(idToken, {
    issuer: profile.issuer,
    clientId: profile.clientId,
    jwksUrl: jwksUrl.href,
    agent: engine.outbound.agentFor(jwksUrl),
    nonceHash,
    now: engine.clock(),
    timeoutMs: engine.settings.http.timeoutMs,
  });
}
