import { isAllowedConsentRedirect } from './accountFields';
import { createAuthorizationRequest, type CreatedAuthorizationRequest } from './authorizationRequests';
import { openTokens, sealTokens, summarize, type ConnectionSummary } from './connections';
import { recordAudit, type EngineContext } from './engineContext';
import { AuthProfilesError } from './errors';
import type { Profile } from './profileCatalog';
import { ORGANIZATION, subjectKey, type Subject } from './subjects';

/**
 * Consent started by another system (issue 10 point 6, Airbyte's initiate → consent URL → callback):
 * the admin API asks for a consent URL for an external user id and a redirect URL the profile allows;
 * after the callback the browser goes to that URL with the opaque connection id only (never a token,
 * code or state, SECURITY.md #34). The connection belongs to `external:<id>` until it is linked to a
 * chat user.
 */

const EXTERNAL_PREFIX = 'external:';
/** Printable, no whitespace, bounded: an id from another system, kept as inert text. */
const EXTERNAL_USER_ID = /^[\x21-\x7E]{1,200}$/;

/** What the request's host context carries so the callback route knows where the browser goes. */
export interface ConsentContext {
  kind: 'consent';
  redirectUrl: string;
}

export function externalSubjectKey(externalUserId: string): string {
  return `${EXTERNAL_PREFIX}${encodeURIComponent(externalUserId)}`;
}

export function isExternalSubjectKey(key: string): boolean {
  return key.startsWith(EXTERNAL_PREFIX);
}

export async function startExternalConsent(
  engine: EngineContext,
  profile: Profile,
  input: { externalUserId: string; redirectUrl: string },
  actor: string,
): Promise<CreatedAuthorizationRequest> {
  if (!EXTERNAL_USER_ID.test(input.externalUserId)) {
    throw badRequest('externalUserId', 'must be 1-200 printable characters without spaces');
  }
  if (!isAllowedConsentRedirect(profile.consentRedirectUrls ?? [], input.redirectUrl)) {
    // The allow-list is what stops a consent from handing its connection id to anyone's site.
    throw badRequest(
      'redirectUrl',
      `is not allowed by the profile's consentRedirectUrls (same origin and path required)`,
    );
  }
  if (profile.authorization === 'pre-authorized') {
    throw badRequest('authorization', `profile "${profile.id}" is pre-authorized: consents are per user`);
  }
  const context: ConsentContext = { kind: 'consent', redirectUrl: input.redirectUrl };
  return createAuthorizationRequest(engine, {
    profile,
    subject: ORGANIZATION,
    externalSubjectKey: externalSubjectKey(input.externalUserId),
    context: { ...context },
    createdBy: actor,
  });
}

/**
 * Moves an external consent's connection to a chat user: its tokens are sealed again under the user's
 * subject (the sealing context names the subject, SECURITY.md #30), the user's record is written and
 * the external one removed. A user who already has a connection for the profile is not overwritten.
 */
export async function linkConnection(
  engine: EngineContext,
  connectionId: string,
  user: Extract<Subject, { kind: 'user' }>,
  actor: string,
): Promise<ConnectionSummary> {
  const external = await engine.store.connections.getById(connectionId);
  if (!external) throw new AuthProfilesError('not-connected', `no connection "${connectionId}"`);
  if (!isExternalSubjectKey(external.subjectKey)) {
    throw new AuthProfilesError(
      'conflict',
      'only a connection made through an external consent can be linked',
    );
  }
  const key = subjectKey(user);
  if (await engine.store.connections.get(external.profileId, key)) {
    throw new AuthProfilesError(
      'conflict',
      'this user already has a connection for the profile; sign it out first',
    );
  }
  const { id: _id, version: _version, ...rest } = external;
  const linked = await engine.store.connections.upsert({
    ...rest,
    subjectKey: key,
    ...sealTokens(engine, external.profileId, key, openTokens(engine, external)),
    updatedAt: engine.clock(),
  });
  await engine.store.connections.delete(external.id);
  await recordAudit(engine, {
    actor,
    action: 'connection.linked',
    target: `connection:${linked.id}`,
    details: { profile: external.profileId, from: external.subjectKey, subject: key, previous: external.id },
  });
  return summarize(linked, engine.keyRing);
}

function badRequest(path: string, message: string): AuthProfilesError {
  return new AuthProfilesError('invalid-configuration', `${path} ${message}`, {
    status: 400,
    issues: [{ path, message }],
  });
}
