import {
  ComponentDialog,
  WaterfallDialog,
  type DialogTurnResult,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { isAuthProfilesError, parseConnectionName, type Profile } from '../profiles';
import { AuthorizationDialog, type AuthorizationResult } from './authorizationDialog';
import { userSubject, type DialogServices } from './dialogServices';
import { inertText, plainMessage } from './inertText';

/**
 * Several accounts per provider in chat (issue 10 point 3): "connect hubspot as work" signs in a
 * connection named `work`, "use my work account for hubspot" makes it the one used when no name is
 * given. Names are validated labels (profiles/connectionNames.ts); what the user typed is echoed inert
 * (SECURITY.md #45).
 */

/** The profile a user named, by id or display name (case-insensitive). */
export function profileNamed(profiles: readonly Profile[], name: string): Profile | undefined {
  const wanted = name.trim().toLowerCase();
  return profiles.find((profile) => profile.id === wanted || profile.displayName.toLowerCase() === wanted);
}

/** "hubspot work" or "hubspot as work": a profile followed by a connection name. */
export function profileAndConnection(
  profiles: readonly Profile[],
  text: string,
): { profile: Profile; connection: string } | undefined {
  const split = /^(.+?) (?:as )?(\S+)$/i.exec(text.trim());
  const profile = split?.[1] ? profileNamed(profiles, split[1]) : undefined;
  return profile && split?.[2] ? { profile, connection: split[2].toLowerCase() } : undefined;
}

/** The validated name, or null after telling the user why it was refused. */
async function validName(context: TurnContext, name: string): Promise<string | null | false> {
  try {
    return parseConnectionName(name);
  } catch (error) {
    if (!isAuthProfilesError(error)) throw error;
    await context.sendActivity(
      plainMessage(`"${inertText(name, 40)}" cannot name a connection: ${error.message}.`),
    );
    return false;
  }
}

/** Names a connection in a message: `HubSpot (work)`, or just `HubSpot` for the default one. */
export function connectionLabel(profile: Profile, name: string | null): string {
  return name === null ? inertText(profile.displayName) : `${inertText(profile.displayName)} (${name})`;
}

/** Turn-state flag: this turn began the sign-in dialog for "connect", so an at-once result was already there. */
const CHECKING_EXISTING = Symbol('authprofiles.connectChecksExisting');

export class ConnectDialog extends ComponentDialog {
  static readonly id = 'connect';

  constructor(private readonly services: DialogServices) {
    super(ConnectDialog.id);
    this.addDialog(new AuthorizationDialog(services));
    this.addDialog(new WaterfallDialog('connect-steps', [this.start.bind(this), this.done.bind(this)]));
    this.initialDialogId = 'connect-steps';
  }

  private async start(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const wanted = step.options as { profile: string; connection: string | null };
    const { engine } = this.services;
    // By id first: one profile resolved, not the whole catalog (issue 12); a display name needs the list.
    const profile =
      (await engine.findProfile(wanted.profile.trim().toLowerCase())) ??
      profileNamed(await engine.listProfiles(), wanted.profile);
    if (!profile) {
      await step.context.sendActivity(
        plainMessage(`I don't know an integration called "${inertText(wanted.profile, 80)}".`),
      );
      return step.endDialog();
    }
    const name = wanted.connection === null ? null : await validName(step.context, wanted.connection);
    if (name === false) return step.endDialog();
    if (profile.authorization === 'pre-authorized') {
      await step.context.sendActivity(
        plainMessage(
          `${inertText(profile.displayName)} is shared by your organisation: an admin connects it.`,
        ),
      );
      return step.endDialog();
    }
    // An existing connection is checked by asking for its token: the AuthorizationDialog ends at once
    // when it is usable (refreshed if need be), and sends a new sign-in card when it is not.
    step.context.turnState.set(CHECKING_EXISTING, true);
    Object.assign(step.values, {
      label: connectionLabel(profile, name),
      signOut: `sign out of ${inertText(profile.displayName)}${name ? ` ${name}` : ''}`,
    });
    return step.beginDialog(AuthorizationDialog.id, {
      profileId: profile.id,
      connectionName: name ?? 'default',
    });
  }

  private async done(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const result = step.result as AuthorizationResult | undefined;
    const values = step.values as { label?: string; signOut?: string };
    // Authorized in the turn that asked: the connection was there and usable, no sign-in happened.
    if (result?.status === 'authorized' && step.context.turnState.get(CHECKING_EXISTING) === true) {
      await step.context.sendActivity(
        plainMessage(
          `You are already connected to ${values.label ?? ''}. Say "${values.signOut ?? ''}" first to use another account.`,
        ),
      );
    }
    // Otherwise the sign-in dialog already told the user how it ended.
    return step.endDialog();
  }
}

/** "use my work account for hubspot": answers with what changed. */
export async function useConnection(
  services: DialogServices,
  context: TurnContext,
  command: { profile: string; connection: string },
): Promise<string> {
  const profile = profileNamed(await services.engine.listProfiles(), command.profile);
  if (!profile) return `I don't know an integration called "${inertText(command.profile, 80)}".`;
  const name = await validName(context, command.connection);
  if (name === false) return 'Say "my connections" to see the names of your connections.';
  const changed = await services.engine.setDefaultConnection(
    profile,
    userSubject(context),
    name ?? 'default',
  );
  const label = name ?? 'default';
  return changed
    ? `From now on I use your ${label} account for ${inertText(profile.displayName)}.`
    : `You have no ${inertText(profile.displayName)} connection called ${label}. Say "connect ${inertText(profile.displayName)} as ${label}" to add it.`;
}
