import {
  ComponentDialog,
  ConfirmPrompt,
  WaterfallDialog,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import type { Profile } from '../profiles';
import { userSubject, type DialogServices } from './dialogServices';
import { inertText, plainMessage } from './inertText';
import { connectionLabel, profileAndConnection, profileNamed } from './namedConnections';

/**
 * "sign out of <profile>": confirm, revoke at the provider (RFC 7009), delete the connection.
 * Messages name profiles (and echo what the user typed): plain text, names through `inertText`
 * (SECURITY.md #45).
 */
export class SignOutDialog extends ComponentDialog {
  static readonly id = 'sign-out';

  constructor(private readonly services: DialogServices) {
    super(SignOutDialog.id);
    this.addDialog(new ConfirmPrompt('confirm-sign-out'));
    this.addDialog(
      new WaterfallDialog('sign-out-steps', [
        this.choose.bind(this),
        this.confirm.bind(this),
        this.revoke.bind(this),
      ]),
    );
    this.initialDialogId = 'sign-out-steps';
  }

  private async choose(step: WaterfallStepContext) {
    const wanted = (step.options as { profile: string | null }).profile;
    const { engine } = this.services;
    const connections = await engine.connectionsOf(userSubject(step.context));
    const profiles = await engine.listProfiles();
    const connected = profiles.filter((profile) =>
      connections.some((connection) => connection.profileId === profile.id),
    );
    let target: Profile | undefined;
    // "sign out of hubspot work": a named connection (issue 10 point 3); no name: the default one.
    let connectionName: string | undefined;
    if (wanted) {
      target = profileNamed(profiles, wanted);
      const named = target ? undefined : profileAndConnection(profiles, wanted);
      if (named) {
        target = named.profile;
        connectionName = named.connection;
        if (
          !connections.some((c) => c.profileId === target?.id && (c.name ?? 'default') === connectionName)
        ) {
          await step.context.sendActivity(
            plainMessage(`You have no ${connectionLabel(target, inertText(connectionName, 32))} connection.`),
          );
          return step.endDialog();
        }
      }
      if (!target) {
        await step.context.sendActivity(
          plainMessage(`I don't know an integration called "${inertText(wanted, 80)}".`),
        );
        return step.endDialog();
      }
      if (!connected.includes(target)) {
        await step.context.sendActivity(
          plainMessage(`You are not signed in to ${inertText(target.displayName)}.`),
        );
        return step.endDialog();
      }
    } else if (connected.length === 1) {
      target = connected[0];
    } else {
      await step.context.sendActivity(
        plainMessage(
          connected.length === 0
            ? 'You are not signed in to anything.'
            : `Which one? Say "sign out of" followed by one of: ${connected.map((profile) => inertText(profile.displayName)).join(', ')}.`,
        ),
      );
      return step.endDialog();
    }
    // Kept inert: every later message of this dialog shows it.
    const shownName = connectionName === undefined || connectionName === 'default' ? null : connectionName;
    Object.assign(step.values, {
      profileId: target?.id,
      profileName: target ? connectionLabel(target, shownName) : undefined,
      connectionName,
    });
    return step.next();
  }

  private async confirm(step: WaterfallStepContext) {
    return step.prompt('confirm-sign-out', {
      prompt: plainMessage(
        `Sign out of ${String(values(step).profileName)}? I will revoke my access and forget the connection.`,
      ),
      retryPrompt: plainMessage('Please answer yes or no.'),
    });
  }

  private async revoke(step: WaterfallStepContext) {
    const name = String(values(step).profileName);
    if (step.result !== true) {
      await step.context.sendActivity(plainMessage(`Okay, you are still connected to ${name}.`));
      return step.endDialog();
    }
    const { engine } = this.services;
    const { connectionName } = values(step);
    const profile = await engine.findProfile(String(values(step).profileId));
    const activity = step.context.activity;
    const outcome = profile
      ? await engine.signOut(
          profile,
          userSubject(step.context),
          `user:${activity.channelId}:${activity.from.id}`,
          connectionName === undefined ? {} : { connection: connectionName },
        )
      : null;
    await step.context.sendActivity(
      plainMessage(
        outcome === null
          ? `You were not signed in to ${name}.`
          : outcome.revokedAtProvider || outcome.providerError === 'no-revocation-endpoint'
            ? `Signed out of ${name}.`
            : `Signed out of ${name} here. ${name} did not confirm the revocation, so you may also remove the app in your ${name} account settings.`,
      ),
    );
    return step.endDialog();
  }
}

function values(step: WaterfallStepContext): {
  profileId?: string;
  profileName?: string;
  connectionName?: string;
} {
  return step.values as { profileId?: string; profileName?: string; connectionName?: string };
}
