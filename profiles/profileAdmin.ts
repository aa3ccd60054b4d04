import { organisationTokenUses } from './actions/actionSchema';
import { secretContext, type UnreadableSecret } from './encryption';
import { recordAudit, type EngineContext } from './engineContext';
import { AuthProfilesError } from './errors';
import {
  invalidProfile,
  parseProfile,
  parseSystemOverride,
  profileFields,
  type ProfileDocument,
} from './profileSchema';
import { profileUrl, type Profile } from './profileCatalog';
import { revokeConnection } from './revocation';
import type { StoredProfile } from './store/types';

/**
 * Creating, changing and deleting profiles at run time (admin API, admin pages, CLI), with the
 * consequences that keep data right: an edit of the client, scopes or endpoints marks existing
 * connections for re-authorization (SECURITY.md #39); a delete revokes and removes them (SECURITY.md #40).
 * `clientSecret` is write-only: accepted, encrypted, never returned; omitting it keeps the old one.
 */

export type AdminRole = 'admin' | 'developer';

export interface Actor {
  /** e.g. `admin:ops-key`, `developer:ci`, `cli`. */
  name: string;
  role: AdminRole;
}

export interface SaveResult {
  profile: Profile;
  created: boolean;
  /** Connections marked `needs-reauthorization` because the change invalidates their tokens. */
  connectionsMarked: number;
}

/** A profile as the admin API and pages show it: never the secret, only whether there is one. */
export interface PublicProfile extends Omit<ProfileDocument, 'clientSecret'> {
  hasClientSecret: boolean;
  source: Profile['source'];
  version: number;
  missing: string[];
  usable: boolean;
  /** The stored client secret does not open with this service's keys: which key sealed it (SECURITY.md #52). */
  unreadableSecret: UnreadableSecret | null;
}

export function publicProfile(profile: Profile): PublicProfile {
  const { clientSecret, fingerprint: _fingerprint, storedVersion, ...rest } = profile;
  return {
    ...rest,
    hasClientSecret: Boolean(clientSecret),
    version: storedVersion,
    usable: profile.missing.length === 0,
  };
}

export async function saveProfile(
  engine: EngineContext,
  id: string,
  input: unknown,
  actor: Actor,
  options: { expectedVersion?: number } = {},
): Promise<SaveResult> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidProfile([{ path: '(body)', message: 'must be a JSON object' }]);
  }
  const body = input as Record<string, unknown>;
  if (body.id !== undefined && body.id !== id) {
    throw invalidProfile([{ path: 'id', message: `must match the profile id in the path ("${id}")` }]);
  }
  const { catalog, store, keyRing } = engine;
  const system = catalog.isSystem(id);
  if (system && actor.role !== 'admin') {
    throw new AuthProfilesError(
      'profile-read-only',
      `"${id}" is a bundled profile: only an admin may change its credentials and settings`,
    );
  }
  const withId = { ...body, id };
  let document: Record<string, unknown>;
  if (system) {
    document = { ...parseSystemOverride(withId) };
  } else {
    // The catalog's rule: http/internal hosts only in dev, plus the operator's allow-list (#41, #42).
    const parsed = parseProfile(withId, catalog.validationOptions);
    if (parsed.kind !== 'custom') throw invalidProfile([{ path: 'kind', message: 'must be "custom"' }]);
    document = { ...(withId as Record<string, unknown>) };
  }
  const secret = typeof document.clientSecret === 'string' ? document.clientSecret : undefined;
  delete document.clientSecret;

  const before = await catalog.find(id);
  const existing = await store.profiles.get(id);
  const expected = existing?.version ?? 0;
  if (options.expectedVersion !== undefined && options.expectedVersion !== expected) {
    throw new AuthProfilesError(
      'conflict',
      `profile "${id}" changed meanwhile (version ${expected}); reload and try again`,
    );
  }
  const now = engine.clock();
  const record: Omit<StoredProfile, 'version'> = {
    id,
    kind: system ? 'override' : 'custom',
    document,
    clientSecret:
      secret !== undefined
        ? keyRing.encrypt(secret, secretContext('profiles', id, 'clientSecret'))
        : (existing?.clientSecret ??
          // A stored copy replacing a profile file keeps the file's secret ("omitting it keeps the
          // old one"); before, the replacement silently lost it and the profile became unusable.
          (!system && before?.clientSecret
            ? keyRing.encrypt(before.clientSecret, secretContext('profiles', id, 'clientSecret'))
            : null)),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    updatedBy: actor.name,
  };
  // Judge the record exactly as the catalog will load it, before it is written (SECURITY.md #36:
  // nothing persisted). Without this an override whose merged result is invalid (e.g. a non-https
  // checkUrl) or a custom profile naming `clientSecretEnv` was stored and then broke every read.
  let candidate: Profile;
  try {
    candidate = catalog.preview(id, { ...record, version: expected + 1 });
  } catch (error) {
    if (error instanceof AuthProfilesError && error.code === 'invalid-profile')
      throw invalidProfile(error.issues);
    throw error;
  }
  // Write-only means unreadable: a kept secret must not be sent to an endpoint it was not given
  // for, or changing tokenUrl to one's own server would reveal it at the next token request.
  // (Bundled profiles' URLs are fixed; only their declared variables move within the provider.)
  if (!system && secret === undefined && before?.clientSecret && candidate.clientSecret) {
    const moved = SECRET_ENDPOINTS.filter(
      (field) => renderedUrl(before, field) !== renderedUrl(candidate, field),
    );
    if (moved.length > 0) {
      throw invalidProfile([
        {
          path: 'clientSecret',
          message: `must be sent again when ${moved.join(', ')} change (a stored secret is never sent to a new endpoint)`,
        },
      ]);
    }
  }
  if (
    actor.role !== 'admin' &&
    before?.authorization === 'pre-authorized' &&
    organisationTokenUses(before) !== organisationTokenUses(candidate)
  ) {
    // A developer key could otherwise add or switch on an action (a DELETE, say) that every chat user
    // then runs with the organisation's token, or open the profile to everyone (SECURITY.md #84).
    throw new AuthProfilesError(
      'profile-read-only',
      `"${id}" is pre-authorized for the organisation: only an admin may change its actions, which are on, currentUser or access`,
    );
  }
  const stored = await store.profiles.put(record, expected);
  if (!stored)
    throw new AuthProfilesError('conflict', `profile "${id}" changed meanwhile; reload and try again`);
  const after = await catalog.get(id);
  let connectionsMarked = 0;
  if (before && before.fingerprint !== after.fingerprint) {
    for (const status of ['active', 'pending-verification'] as const) {
      connectionsMarked += await store.connections.updateMany(
        { profileId: id, status },
        { status: 'needs-reauthorization', lastError: 'profile-changed', updatedAt: now },
      );
    }
  }
  await recordAudit(engine, {
    actor: actor.name,
    action: before ? 'profile.updated' : 'profile.created',
    target: `profile:${id}`,
    details: {
      changed: before ? changedFields(before, after, secret !== undefined).join(',') : 'created',
      connectionsMarked,
    },
  });
  return { profile: after, created: !before, connectionsMarked };
}

export interface DeleteResult {
  /** Connections revoked at the provider (where possible) and removed. */
  connectionsRemoved: number;
  /** For a bundled profile only its stored override is removed; the bundled definition stays. */
  removedOverride: boolean;
}

export async function deleteProfile(engine: EngineContext, id: string, actor: Actor): Promise<DeleteResult> {
  const { catalog, store } = engine;
  const profile = await catalog.find(id);
  if (!profile) throw new AuthProfilesError('profile-not-found', `no profile "${id}"`);
  const stored = await store.profiles.get(id);
  if (catalog.isSystem(id)) {
    if (actor.role !== 'admin')
      throw new AuthProfilesError('profile-read-only', `"${id}" is a bundled profile`);
    if (!stored)
      throw new AuthProfilesError(
        'profile-read-only',
        `"${id}" is a bundled profile and has no stored changes to delete`,
      );
  } else if (!stored) {
    throw new AuthProfilesError(
      'profile-read-only',
      `"${id}" is defined in a profile file: remove the file to delete it`,
    );
  }
  // Revoke while the profile (and its revocation URL and client) still exists (SECURITY.md #40).
  let connectionsRemoved = 0;
  for (;;) {
    const page = await store.connections.list({ profileId: id }, { limit: 100 });
    if (page.length === 0) break;
    for (const connection of page) {
      await revokeConnection(engine, connection, actor.name);
      connectionsRemoved += 1;
    }
  }
  await store.profiles.delete(id);
  await recordAudit(engine, {
    actor: actor.name,
    action: catalog.isSystem(id) ? 'profile.override-deleted' : 'profile.deleted',
    target: `profile:${id}`,
    details: { connectionsRemoved },
  });
  return { connectionsRemoved, removedOverride: catalog.isSystem(id) };
}

/**
 * Every field of the schema, so a field added there is audited without touching this list; the
 * secret is named separately (whether it was sent, never compared), and id and kind cannot change.
 */
const COMPARED = (Object.keys(profileFields) as (keyof ProfileDocument)[]).filter(
  (field) => field !== 'id' && field !== 'kind' && field !== 'clientSecret',
);

/** Names (never values) of what changed, for the audit log. */
function changedFields(before: Profile, after: Profile, secretChanged: boolean): string[] {
  const names = COMPARED.filter(
    (field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]),
  ).map(String);
  if (secretChanged) names.push('clientSecret');
  return names.length > 0 ? names : ['nothing'];
}

/** Endpoints the client secret is sent to. */
const SECRET_ENDPOINTS = ['tokenUrl', 'refreshUrl', 'revocationUrl'] as const;

function renderedUrl(profile: Profile, field: (typeof SECRET_ENDPOINTS)[number]): string | null {
  try {
    return profileUrl(profile, field) ?? null;
  } catch {
    // A variable not set yet: compare the template itself.
    return profile[field] ?? null;
  }
}
