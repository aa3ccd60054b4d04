import { recordAudit, type EngineContext } from '../engineContext';
import { AuthProfilesError } from '../errors';
import { saveProfile, type Actor } from '../profileAdmin';
import type { Profile } from '../profileCatalog';
import { viewOf, type ActionView } from './actionRunner';
import { actionKey, type ActionDeclaration, type ActionSettings } from './actionSchema';

/**
 * Admins switch a profile's actions on and off (issue 11 point 3): the admin API, the admin pages and
 * the CLI all come here, so the rules are the same everywhere. The choice is the profile's
 * `actionSettings`, saved through `saveProfile` like every other profile change (validated by the one
 * schema, optimistic concurrency, the client secret kept sealed and untouched); for a bundled profile
 * it lands in the stored override, keeping the override's other fields.
 */

/** An action as the admin surfaces show it: what it calls, and where its on/off state comes from. */
export interface AdminActionView extends ActionView {
  path: string;
  /** On or off before an admin decides (reads on, writes off, unless the profile says otherwise). */
  enabledByDefault: boolean;
  /** `admin`: `actionSettings` holds a choice for this key; `default`: `enabledByDefault` applies. */
  setting: 'default' | 'admin';
}

export interface ActionSwitchResult {
  profile: Profile;
  action: AdminActionView;
}

export function adminActionView(profile: Profile, action: ActionDeclaration): AdminActionView {
  const key = actionKey(action);
  return {
    ...viewOf(profile, action),
    path: action.path,
    enabledByDefault: action.enabledByDefault ?? action.access === 'read',
    setting: Object.hasOwn(profile.actionSettings, key) ? 'admin' : 'default',
  };
}

export function adminActionViews(profile: Profile): AdminActionView[] {
  return profile.actions.map((action) => adminActionView(profile, action));
}

/** The declared action `key` of `profile`, or `action-not-found` naming both. */
export function declaredAction(profile: Profile, key: string): ActionDeclaration {
  const action = profile.actions.find((candidate) => actionKey(candidate) === key);
  if (!action) {
    throw new AuthProfilesError('action-not-found', `profile "${profile.id}" has no action "${key}"`);
  }
  return action;
}

export async function setActionEnabled(
  context: EngineContext,
  profileId: string,
  key: string,
  enabled: boolean,
  actor: Actor,
  options: { expectedVersion?: number } = {},
): Promise<ActionSwitchResult> {
  const { catalog, store } = context;
  const profile = await catalog.find(profileId);
  if (!profile) throw new AuthProfilesError('profile-not-found', `no profile "${profileId}"`);
  declaredAction(profile, key);
  const system = catalog.isSystem(profileId);
  if (system && actor.role !== 'admin') {
    // The rule of every other change to a bundled profile (profileAdmin.ts): admins only.
    throw new AuthProfilesError(
      'profile-read-only',
      `"${profileId}" is a bundled profile: only an admin may switch its actions`,
    );
  }
  const stored = await store.profiles.get(profileId);
  if (!system && stored?.kind !== 'custom') {
    throw new AuthProfilesError(
      'profile-read-only',
      `"${profileId}" is defined in a profile file: set actionSettings in the file and restart the service`,
    );
  }
  // Based on the settings in force, not only the stored ones: a bundled profile's override file may
  // hold choices too, and the stored override replaces them as a whole. Keys of actions no longer
  // declared are dropped, or the schema would refuse the save ("is not a declared action").
  const declared = new Set(profile.actions.map(actionKey));
  const settings: ActionSettings = {};
  for (const [name, setting] of Object.entries(profile.actionSettings)) {
    if (declared.has(name)) settings[name] = setting;
  }
  settings[key] = { enabled };
  // The stored document never holds the secret; saveProfile keeps the sealed one when none is sent.
  const document = { ...(stored?.document ?? { id: profileId }), actionSettings: settings };
  const saved = await saveProfile(context, profileId, document, actor, {
    // Without If-Match, still compare-and-set against what was read: a concurrent edit is a 409,
    // never silently overwritten.
    expectedVersion: options.expectedVersion ?? stored?.version ?? 0,
  });
  await recordAudit(context, {
    actor: actor.name,
    action: enabled ? 'action.enabled' : 'action.disabled',
    target: `profile:${profileId}`,
    details: { action: key },
  });
  return {
    profile: saved.profile,
    action: adminActionView(saved.profile, declaredAction(saved.profile, key)),
  };
}
