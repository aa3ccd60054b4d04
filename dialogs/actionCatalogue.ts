import type { TurnContext } from 'botbuilder';
import type { ActionView, AuthorizationEngine, Profile } from '../profiles';
import type { ProfileActions } from './actionCommands';
import { sayingOf } from './actionMenu';
import { FIXED_HELP_LINES, HELP_FOOTER } from './commands';
import { inertMarkdown } from './inertText';
import { requesterOf } from './requester';
import { rememberTurnProfiles } from './turnProfiles';

/** Profiles and actions listed in "help" (the menu of each has them all). */
export const MAX_HELP_PROFILES = 8;
export const MAX_HELP_ACTIONS = 8;

const TURN_KEY = Symbol('authprofiles.actionCatalogue');

/**
 * The profiles chat may run actions of, as this user sees them, read once per turn: every profile with
 * actions, each marked `usable` when it is configured and its access policy lets this user in (issue 10
 * point 1). Bare phrases match usable profiles; "hubspot: …" names any, whose dialog then says why not.
 */
export async function actionCatalogue(
  engine: AuthorizationEngine,
  context: TurnContext,
): Promise<ProfileActions[]> {
  const cached = context.turnState.get(TURN_KEY) as ProfileActions[] | undefined;
  if (cached) return cached;
  const requester = requesterOf(context.activity);
  const all = await engine.listProfiles();
  // The dialog this command starts finds its profile among these (one resolve per profile and turn).
  rememberTurnProfiles(context, all);
  const profiles = all.filter((profile) => profile.actions.length > 0);
  const catalogue = profiles.map((profile) => ({
    id: profile.id,
    displayName: profile.displayName,
    usable: isUsable(engine, profile, requester),
    actions: engine.listActions(profile),
  }));
  context.turnState.set(TURN_KEY, catalogue);
  return catalogue;
}

function isUsable(
  engine: AuthorizationEngine,
  profile: Profile,
  requester: ReturnType<typeof requesterOf>,
): boolean {
  return profile.missing.length === 0 && engine.checkAccess(profile, requester).allowed;
}

export function enabledActions(profile: ProfileActions): ActionView[] {
  return profile.actions.filter((action) => action.enabled);
}

/**
 * "help": the fixed commands, then per usable profile its enabled actions' first phrases (bounded). The
 * reply is markdown (bold commands), so every name and phrase an admin wrote goes through
 * `inertMarkdown` (SECURITY.md #45). Bare phrases go to `preferred` (CRM_PROFILE) when several
 * profiles know them; for the other profiles the prefix to start with is shown.
 */
export function helpText(catalogue: readonly ProfileActions[], preferred: string | undefined): string {
  const usable = catalogue.filter((profile) => profile.usable && enabledActions(profile).length > 0);
  const lines = ['Here is what I can do:', ''];
  const ordered = [
    ...usable.filter((profile) => profile.id === preferred),
    ...usable.filter((profile) => profile.id !== preferred),
  ];
  for (const profile of ordered.slice(0, MAX_HELP_PROFILES)) {
    const actions = enabledActions(profile);
    // Bare phrases reach this profile when it is the only one or the preferred one; else say its prefix.
    const bare = ordered.length === 1 || profile.id === preferred;
    const name = inertMarkdown(profile.displayName, 100);
    lines.push(bare ? `${name}:` : `${name} (start with **${inertMarkdown(profile.id)}:**):`);
    for (const action of actions.slice(0, MAX_HELP_ACTIONS)) {
      lines.push(
        `- **${inertMarkdown(sayingOf(profile, action, false), 100)}** — ${inertMarkdown(action.title, 100)}`,
      );
    }
    if (actions.length > MAX_HELP_ACTIONS) {
      lines.push(
        `- … and ${actions.length - MAX_HELP_ACTIONS} more: **${inertMarkdown(profile.id)} actions**`,
      );
    }
    lines.push('');
  }
  if (usable.length > MAX_HELP_PROFILES) {
    lines.push(`… and ${usable.length - MAX_HELP_PROFILES} more integrations.`, '');
  }
  if (ordered.length > 0) lines.push('And:');
  lines.push(...FIXED_HELP_LINES, '', HELP_FOOTER);
  return lines.join('\n');
}
