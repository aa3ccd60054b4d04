import {
  ComponentDialog,
  ConfirmPrompt,
  WaterfallDialog,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import type { Profile } from '../profiles/profileCatalog';
import { subjectKey } from '../profiles/subjects';
import { userSubject, type DialogServices } from './dialogServices';

/** "sign out of <profile>": confirm, revoke at the provider (RFC 7009), delete the connection. */
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
    const connections = await engine.store.connections.list(
      { subjectKey: subjectKey(userSubject(step.context)) },
      { limit: 200 },
    );
    const profiles = await engine.catalog.list();
    const connected = profiles.filter((profile) =>
      connections.some((connection) => connection.profileId === profile.id),
    );
    let target: Profile | undefined;
    if (wanted) {
      target = profiles.find((profile) => matches(profile, wanted));
      if (!target) {
        await step.context.sendActivity(`I don't know an integration called "${wanted}".`);
        return step.endDialog();
      }
      if (!connected.includes(target)) {
        await step.context.sendActivity(`You are not signed in to ${target.displayName}.`);
        return step.endDialog();
      }
    } else if (connected.length === 1) {
      target = connected[0];
    } else {
      await step.context.sendActivity(
        connected.length === 0
          ? 'You are not signed in to anything.'
          : `Which one? Say "sign out of" followed by one of: ${connected.map((profile) => profile.displayName).join(', ')}.`,
      );
      return step.endDialog();
    }
    Object.assign(step.values, { profileId: target?.id, profileName: target?.displayName });
    return step.next();
  }

  private async confirm(step: WaterfallStepContext) {
    return step.prompt('confirm-sign-out', {
      prompt: `Sign out of ${String(values(step).profileName)}? I will revoke my access and forget the connection.`,
      retryPrompt: 'Please answer yes or no.',
    });
  }

  private async revoke(step: WaterfallStepContext) {
    const name = String(values(step).profileName);
    if (step.result !== true) {
      await step.context.sendActivity(`Okay, you are still connected to ${name}.`);
      return step.endDialog();
    }
    const { engine } = this.services;
    const profile = await engine.catalog.find(String(values(step).profileId));
    const activity = step.context.activity;
    const outcome = profile
      ? await engine.signOut(
          profile,
          userSubject(step.context),
          `user:${activity.channelId}:${activity.from.id}`,
        )
      : null;
    await step.context.sendActivity(
      outcome === null
        ? `You were not signed in to ${name}.`
        : outcome.revokedAtProvider || outcome.providerError === 'no-revocation-endpoint'
          ? `Signed out of ${name}.`
          : `Signed out of ${name} here. ${name} did not confirm the revocation, so you may also remove the app in your ${name} account settings.`,
    );
    return step.endDialog();
  }
}

function values(step: WaterfallStepContext): { profileId?: string; profileName?: string } {
  return step.values as { profileId?: string; profileName?: string };
}

function matches(profile: Profile, name: string): boolean {
  const wanted = name.trim().toLowerCase();
  return profile.id === wanted || profile.displayName.toLowerCase() === wanted;
}
