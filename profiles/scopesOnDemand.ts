import { isActionEnabled } from './actions/actionSchema';
import { AuthProfilesError, type FieldIssue } from './errors';
import type { Profile } from './profileCatalog';
import { isScopeToken } from './profileSchema';
import type { StoredConnection } from './store/types';

/**
 * Scopes on demand (issue 11 point 5): a sign-in may ask for scopes beyond the profile's, when an
 * action needs them, and a connection records what was asked and what was granted so the scopes the
 * user declined can be named.
 */

/** At most this many additional scopes in one sign-in. */
export const MAX_ADDITIONAL_SCOPES = 50;

/**
 * OpenID Connect's identity scopes: they ask for ID-token claims, not API access, and many providers
 * leave them out of the token response's `scope` (oidc-provider, Entra for `offline_access`), so their
 * absence there is not a refusal.
 */
const IDENTITY_SCOPES = new Set(['openid', 'profile', 'email', 'address', 'phone', 'offline_access']);

/**
 * Every scope a sign-in of this profile may ask for: the profile's scopes and optional scopes, the
 * scopes of its enabled actions and of its `currentUser` lookup. Nothing else, so a chat user (or a
 * host) cannot widen a connection beyond what the profile's author and admin declared (SECURITY.md #64).
 */
export function declaredScopes(profile: Profile): Set<string> {
  const declared = new Set([...profile.scopes, ...profile.optionalScopes]);
  for (const action of profile.actions) {
    if (isActionEnabled(action, profile.actionSettings))
      for (const scope of action.scopes) declared.add(scope);
  }
  for (const scope of profile.currentUser?.scopes ?? []) declared.add(scope);
  return declared;
}

/**
 * The additional scopes of a sign-in, checked: a list of at most 50 scope tokens (RFC 6749 §3.3), each
 * declared by the profile (`declaredScopes`). Duplicates are dropped. Throws `invalid-scopes` naming
 * each offending entry.
 */
export function checkAdditionalScopes(profile: Profile, input: unknown): string[] {
  if (input === undefined) return [];
  const fail = (issues: FieldIssue[]): never => {
    throw new AuthProfilesError(
      'invalid-scopes',
      issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
      { issues, status: 400 },
    );
  };
  if (!Array.isArray(input)) return fail([{ path: 'additionalScopes', message: 'must be a list of scopes' }]);
  if (input.length > MAX_ADDITIONAL_SCOPES) {
    return fail([
      {
        path: 'additionalScopes',
        message: `must hold at most ${MAX_ADDITIONAL_SCOPES} scopes (got ${input.length})`,
      },
    ]);
  }
  const declared = declaredScopes(profile);
  const issues: FieldIssue[] = [];
  input.forEach((scope: unknown, index) => {
    const path = `additionalScopes.${index}`;
    if (!isScopeToken(scope)) issues.push({ path, message: 'must be an OAuth scope token' });
    else if (!declared.has(scope)) {
      issues.push({
        path,
        message: `"${scope}" is not a scope ${profile.id} or any of its enabled actions declares`,
      });
    }
  });
  if (issues.length > 0) fail(issues);
  return [...new Set(input as string[])];
}

/**
 * What a sign-in asks the provider for. RFC 6749 §3.3 lets the server issue a token for the scope
 * requested (or less), and a token request does not add to earlier grants: a generic OAuth 2.0
 * server asked for the missing scopes alone issues a token with those alone, and the connection
 * would lose what it had. Some providers do merge grants (Google with `include_granted_scopes`,
 * Entra, HubSpot's optional scopes) but asking for the union is right on those too. So the request
 * is the union of the profile's scopes, the connection's granted scopes that the profile still
 * declares (earlier on-demand consents; anything else the provider added is not asked for again) and
 * the additional ones; the user is told only the additional ones are new, which is also what such
 * providers show on their consent page.
 */
export function scopesToRequest(
  profile: Profile,
  existing: Pick<StoredConnection, 'scopes'> | null,
  additional: readonly string[],
): string[] {
  const declared = declaredScopes(profile);
  const kept = (existing?.scopes ?? []).filter((scope) => declared.has(scope));
  return [...new Set([...profile.scopes, ...profile.optionalScopes, ...kept, ...additional])];
}

/**
 * Where each requested scope goes: `scope`, or the profile's `optionalScopesParam` (HubSpot's
 * `optional_scope`) for the profile's optional scopes that are not also required.
 */
export function scopeParameters(
  profile: Profile,
  scopes: readonly string[],
): { required: string[]; optional: string[] } {
  if (!profile.optionalScopesParam) return { required: [...scopes], optional: [] };
  const isOptional = (scope: string) =>
    profile.optionalScopes.includes(scope) && !profile.scopes.includes(scope);
  return {
    required: scopes.filter((scope) => !isOptional(scope)),
    optional: scopes.filter(isOptional),
  };
}

/**
 * The scopes asked for at the connection's last consent that the provider did not grant (the token
 * response's `scope`; RFC 6749 §5.1: absent means as requested). Empty when the connection does not
 * record what was asked (made before this was recorded, or imported).
 */
export function declinedScopesOf(connection: Pick<StoredConnection, 'scopes' | 'requestedScopes'>): string[] {
  const requested = connection.requestedScopes ?? [];
  return requested.filter((scope) => !connection.scopes.includes(scope) && !IDENTITY_SCOPES.has(scope));
}
