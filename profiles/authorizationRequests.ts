import { secretContext } from './encryption';
import { recordAudit, redirectUriFor, type EngineContext } from './engineContext';
import { AuthProfilesError } from './errors';
import { newId, randomToken, sha256 } from './ids';
import { codeChallengeS256, createCodeVerifier } from './oauth/pkce';
import type { CheckedUrl } from './outboundRequests';
import { assertUsable, type Profile } from './profileCatalog';
import type { StoredAuthorizationRequest } from './store/types';
import { connectionKey } from './connectionNames';
import { checkAdditionalScopes, scopeParameters, scopesToRequest } from './scopesOnDemand';
import { signinRequestOf, type SigninRequest } from './signinStates';
import { subjectKey, type Subject } from './subjects';

/**
 * Step 1 of the authorization-code flow: an opaque one-time request the sign-in link points at,
 * and the redirect to the provider once a browser opens that link (DESIGN flow 1).
 */

export interface NewAuthorizationRequest {
  profile: Profile;
  subject: Subject;
  /** A named connection (`work`, profiles/connectionNames.ts); absent or `default`: the unnamed one. */
  connectionName?: string;
  /** Host data kept with the request and handed back on the callback (e.g. conversation reference). */
  context?: Record<string, unknown>;
  createdBy: string;
  requireVerification?: boolean;
  /**
   * A consent started by another system (profiles/externalConsents.ts): the connection belongs to
   * `external:<id>` until an admin links it to a chat user; `subject` is then not used.
   */
  externalSubjectKey?: string;
  /**
   * Scopes on demand (issue 11 point 5): scopes an action needs that the connection lacks. Each must be
   * a scope the profile or one of its enabled actions declares (SECURITY.md #64), at most 50. The
   * provider is asked for these with the profile's scopes and the connection's earlier grants
   * (profiles/scopesOnDemand.ts `scopesToRequest`), and the result replaces the same connection.
   */
  additionalScopes?: string[];
}

export interface CreatedAuthorizationRequest {
  requestId: string;
  /** `PUBLIC_URL/oauth/start/{requestId}`: the link a sign-in card or admin page opens. */
  startUrl: string;
  expiresAt: number;
}

/** A request id as `newId('req')` makes it (18 random bytes, base64url): the start link's path segment. */
export const AUTHORIZATION_REQUEST_ID = /^req_[A-Za-z0-9_-]{24}$/;

/** The sign-in link of a request: what a card or the admin page opens, never the provider's own URL. */
export function startUrlFor(publicUrl: string, requestId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/oauth/start/${requestId}`;
}

export async function createAuthorizationRequest(
  engine: EngineContext,
  input: NewAuthorizationRequest,
): Promise<CreatedAuthorizationRequest> {
  assertUsable(input.profile);
  if (
    input.profile.authorization === 'pre-authorized' &&
    (input.subject.kind !== 'organization' || input.externalSubjectKey !== undefined)
  ) {
    throw new AuthProfilesError(
      'invalid-configuration',
      `profile "${input.profile.id}" is pre-authorized: only an admin connects it for the organisation`,
      { status: 400 },
    );
  }
  // Render and check every URL now so a missing or unsafe variable, or a host the address rule
  // refuses (SECURITY.md #41), fails here, before anyone consents, not at the provider.
  engine.outbound.profileUrl(input.profile, 'authorizationUrl');
  engine.outbound.profileUrl(input.profile, 'tokenUrl');
  const additional = checkAdditionalScopes(input.profile, input.additionalScopes);
  const key = input.externalSubjectKey ?? connectionKey(subjectKey(input.subject), input.connectionName);
  // The connection this sign-in replaces keeps what it was granted before (profiles/scopesOnDemand.ts).
  const existing = await engine.store.connections.get(input.profile.id, key);
  const now = engine.clock();
  const request: StoredAuthorizationRequest = {
    id: newId('req'),
    profileId: input.profile.id,
    subjectKey: key,
    status: 'created',
    stateHash: null,
    bindingHash: null,
    codeVerifier: null,
    redirectUri: redirectUriFor(engine.publicUrl, input.profile.id),
    expectedIssuer: input.profile.issuer ?? null,
    scopes: scopesToRequest(input.profile, existing, additional),
    ...(additional.length > 0 ? { additionalScopes: additional } : {}),
    profileFingerprint: input.profile.fingerprint,
    requireVerification: input.requireVerification ?? false,
    context: input.context ?? {},
    createdBy: input.createdBy,
    createdAt: now,
    expiresAt: now + engine.settings.requestTtlMs,
    startedAt: null,
    consumedAt: null,
    outcome: null,
  };
  await engine.store.authorizationRequests.create(request);
  await recordAudit(engine, {
    actor: input.createdBy,
    action: 'authorization.requested',
    target: `profile:${input.profile.id}`,
    details: {
      subject: request.subjectKey,
      // Which extra access was asked for, for whoever reviews the log (scope names are not secret).
      ...(additional.length > 0 ? { additionalScopes: additional.join(' ') } : {}),
    },
  });
  return {
    requestId: request.id,
    startUrl: startUrlFor(engine.publicUrl, request.id),
    expiresAt: request.expiresAt,
  };
}

export interface StartedAuthorization {
  /** The provider's authorization URL with state, PKCE challenge and the exact redirect URI. */
  redirectUrl: string;
  /** Value for the browser-binding cookie (the same one when the browser already had it). */
  binding: string;
  request: StoredAuthorizationRequest;
}

/**
 * Whether this browser may go on with the request, asked before anything is checked or bound (the
 * organisation gate, SECURITY.md #44); false: the host has answered, nothing is started.
 */
export type StartAdmission = (request: SigninRequest) => Promise<boolean>;

/**
 * Binds the request to the browser that opened the link (a cookie only that browser holds,
 * RFC 9700 §4.7.1) and returns where to send it. The same browser may reopen the link; each
 * opening issues a fresh state and verifier, so an earlier redirect stops working. `admit` sees the
 * request as read here (one read for the gate and the start); null when it refused.
 */
export async function startAuthorization(
  engine: EngineContext,
  requestId: string,
  browserBinding: string | undefined,
  admit?: StartAdmission,
): Promise<StartedAuthorization | null> {
  const existing = await engine.store.authorizationRequests.get(requestId);
  if (!existing)
    throw new AuthProfilesError('authorization-request-invalid', 'this sign-in link is not valid');
  if (admit && !(await admit(signinRequestOf(existing)))) return null;
  const now = engine.clock();
  if (existing.status === 'consumed' || existing.status === 'completed') {
    throw new AuthProfilesError('authorization-request-used', 'this sign-in link has already been used');
  }
  if (existing.expiresAt <= now) {
    throw new AuthProfilesError('authorization-request-expired', 'this sign-in link has expired');
  }
  const profile = await engine.catalog.get(existing.profileId);
  assertUsable(profile);
  const binding =
    browserBinding && /^[A-Za-z0-9_-]{43}$/.test(browserBinding) ? browserBinding : randomToken(32);
  const state = randomToken(32);
  const verifier = profile.pkce ? createCodeVerifier() : null;
  // OpenID Connect Core §3.1.2.1: a nonce binds the ID token to this sign-in (SECURITY.md #50); only
  // its hash is stored, and the ID token must carry the value itself.
  const nonce = requestsOpenId(profile) || existing.scopes.includes('openid') ? randomToken(32) : null;
  const started = await engine.store.authorizationRequests.markStarted(
    requestId,
    {
      stateHash: sha256(state),
      bindingHash: sha256(binding),
      codeVerifier: verifier
        ? engine.keyRing.encrypt(verifier, secretContext('authorizationRequests', requestId, 'codeVerifier'))
        : null,
      nonceHash: nonce ? sha256(nonce) : null,
      startedAt: now,
    },
    now,
  );
  if (!started) {
    throw new AuthProfilesError(
      'browser-mismatch',
      'this sign-in link was already opened in another browser; ask the bot for a new link',
    );
  }
  const url = new URL((engine.outbound.profileUrl(profile, 'authorizationUrl') as CheckedUrl).href);
  const params = url.searchParams;
  for (const [name, value] of Object.entries(profile.authorizationParams)) params.set(name, value);
  params.set('response_type', 'code');
  params.set('client_id', profile.clientId);
  params.set('redirect_uri', started.redirectUri);
  // The scopes chosen when the request was made (with any additional ones), where the profile puts them.
  const { required, optional } = scopeParameters(profile, started.scopes);
  if (required.length > 0) params.set('scope', required.join(profile.scopeSeparator));
  if (profile.optionalScopesParam && optional.length > 0) {
    params.set(profile.optionalScopesParam, optional.join(profile.scopeSeparator));
  }
  params.set('state', state);
  if (nonce) params.set('nonce', nonce);
  if (verifier) {
    params.set('code_challenge', codeChallengeS256(verifier));
    params.set('code_challenge_method', 'S256');
  }
  return { redirectUrl: url.toString(), binding, request: started };
}

/** The sign-in asks for OpenID Connect (`openid` among the scopes it sends). */
export function requestsOpenId(profile: Profile): boolean {
  return [...profile.scopes, ...profile.optionalScopes].includes('openid');
}
