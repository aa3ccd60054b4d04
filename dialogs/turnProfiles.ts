import type { TurnContext } from 'botbuilder';
import type { AuthorizationEngine, Profile } from '../profiles';

const TURN_KEY = Symbol('authprofiles.turnProfiles');

/**
 * The profiles this turn already resolved, by id (null: there is none of that id). A turn resolves a
 * profile once, whoever asks (the command's catalogue, the action dialog, the sign-in wait): resolving
 * reads the store and may validate a stored profile, open its client secret and hash its fingerprint.
 * Kept in the turn's state only, so it ends with the turn; the next turn (after a sign-in wait, when an
 * admin may have changed the profile) resolves it again.
 */
function turnProfiles(context: TurnContext): Map<string, Profile | null> {
  let profiles = context.turnState.get(TURN_KEY) as Map<string, Profile | null> | undefined;
  if (!profiles) {
    profiles = new Map();
    context.turnState.set(TURN_KEY, profiles);
  }
  return profiles;
}

/** The profile of this id as this turn resolved it, resolved now when the turn has not yet. */
export async function turnProfile(
  engine: Pick<AuthorizationEngine, 'findProfile'>,
  context: TurnContext,
  id: string,
): Promise<Profile | null> {
  const profiles = turnProfiles(context);
  const known = profiles.get(id);
  if (known !== undefined) return known;
  const profile = await engine.findProfile(id);
  profiles.set(id, profile);
  return profile;
}

/** Profiles this turn resolved some other way (the whole list of a command). */
export function rememberTurnProfiles(context: TurnContext, profiles: Iterable<Profile>): void {
  const known = turnProfiles(context);
  for (const profile of profiles) known.set(profile.id, profile);
}
