import { ActivityTypes, CardFactory, MessageFactory, type TurnContext } from 'botbuilder';
import {
  ComponentDialog,
  WaterfallDialog,
  type DialogContext,
  type DialogTurnResult,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import { accessRefusedMessage } from '../profiles';
import { actionCatalogue, enabledActions, helpText } from './actionCatalogue';
import { parseActionCommand, parseCardSubmit, type ActionCommand } from './actionCommands';
import { ActionDialog } from './actionDialog';
import { actionMenuCard } from './actionMenu';
import { AuthorizationDialog, STORED_OUTCOME_ONLY } from './authorizationDialog';
import { normalise, parseCommand, replacesWaitingDialog, type ChatCommand } from './commands';
import { connectionsReport } from './connectionsReport';
import type { DialogServices } from './dialogServices';
import { inertText, plainMessage } from './inertText';
import { ConnectDialog, useConnection } from './namedConnections';
import { SignOutDialog } from './signOutDialog';

/**
 * Routes each new message to a command. While a dialog waits (a sign-in, a confirmation), a new command
 * replaces it (see `replacesWaitingDialog`); other text goes to the waiting dialog.
 */
export class MainDialog extends ComponentDialog {
  static readonly id = 'main';

  constructor(private readonly services: DialogServices) {
    super(MainDialog.id);
    this.addDialog(new ActionDialog(services));
    this.addDialog(new SignOutDialog(services));
    this.addDialog(new ConnectDialog(services));
    this.addDialog(new WaterfallDialog('route', [this.route.bind(this)]));
    this.initialDialogId = 'route';
  }

  protected override async onContinueDialog(innerDc: DialogContext): Promise<DialogTurnResult> {
    const activity = innerDc.context.activity;
    if (activity.type === ActivityTypes.Message) {
      const command = await this.commandOf(innerDc.context);
      if (replacesWaitingDialog(command)) {
        if (waitsForSignin(innerDc)) {
          // A sign-in whose callback could not resume this conversation first delivers the outcome it
          // stored (answering the original request), then the new command runs.
          innerDc.context.turnState.set(STORED_OUTCOME_ONLY, true);
          try {
            await super.onContinueDialog(innerDc);
          } finally {
            innerDc.context.turnState.delete(STORED_OUTCOME_ONLY);
          }
        }
        await innerDc.cancelAllDialogs();
        return innerDc.beginDialog('route');
      }
    }
    return super.onContinueDialog(innerDc);
  }

  private async route(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const command = await this.commandOf(step.context);
    switch (command.kind) {
      case 'help':
      case 'greeting':
        await step.context.sendActivity(await this.helpFor(step.context));
        return step.endDialog();
      case 'connections':
        await step.context.sendActivity(plainMessage(await connectionsReport(this.services, step.context)));
        return step.endDialog();
      case 'sign-out':
        return step.replaceDialog(SignOutDialog.id, { profile: command.profile });
      case 'run-action':
        return step.replaceDialog(ActionDialog.id, {
          profileId: command.profile,
          action: command.action,
          params: command.params,
        });
      case 'action-menu':
      case 'no-such-action':
      case 'ambiguous-action':
      case 'bad-submit':
        await this.answerAbout(step.context, command);
        return step.endDialog();
      case 'connect':
        return step.replaceDialog(ConnectDialog.id, command);
      case 'use-connection':
        await step.context.sendActivity(
          plainMessage(await useConnection(this.services, step.context, command)),
        );
        return step.endDialog();
      default:
        // Echoed user text is inert too: in a group chat it was written by someone else.
        await step.context.sendActivity(
          plainMessage(
            `Sorry, I didn't understand "${inertText(command.text, 80)}". Type "help" to see what I can do.`,
          ),
        );
        return step.endDialog();
    }
  }

  /** "help" (and the welcome): the fixed commands and the actions of the profiles this user may use. */
  async helpFor(context: TurnContext): Promise<string> {
    return helpText(await actionCatalogue(this.services.engine, context), this.services.crmProfileId);
  }

  /**
   * The message's command: a menu card's submit, a fixed command, or a profile's action matched against
   * the profiles' phrases (bare phrases prefer CRM_PROFILE, `services.crmProfileId`). Read once per turn.
   */
  private async commandOf(context: TurnContext): Promise<ChatCommand> {
    const cached = context.turnState.get(COMMAND_KEY) as ChatCommand | undefined;
    if (cached) return cached;
    const activity = context.activity;
    let command: ChatCommand | null = null;
    if (!activity.text?.trim() && activity.value !== undefined) command = parseCardSubmit(activity.value);
    command ??= parseCommand(activity.text ?? '');
    if (command.kind === 'unknown' && command.text !== '') {
      const catalogue = await actionCatalogue(this.services.engine, context);
      command = parseActionCommand(normalise(command.text), catalogue, this.services.crmProfileId) ?? command;
    }
    context.turnState.set(COMMAND_KEY, command);
    return command;
  }

  /** The menu card, and the replies to action requests that name no runnable action. */
  private async answerAbout(context: TurnContext, command: Exclude<ActionCommand, { kind: 'run-action' }>) {
    const catalogue = await actionCatalogue(this.services.engine, context);
    switch (command.kind) {
      case 'bad-submit':
        await context.sendActivity(plainMessage("I can't run that: the button's data is not one of mine."));
        return;
      case 'ambiguous-action': {
        const names = command.profiles
          .slice(0, 5)
          .map((id) => `"${inertText(id, 64)}: ${inertText(command.text, 80)}"`);
        await context.sendActivity(
          plainMessage(`Several integrations can do that. Which one do you mean? Say ${names.join(' or ')}.`),
        );
        return;
      }
      case 'no-such-action': {
        const profile = catalogue.find((candidate) => candidate.id === command.profile);
        const name = inertText(profile?.displayName ?? command.profile);
        await context.sendActivity(
          plainMessage(
            `${name} has no action like "${inertText(command.text, 80)}". Say "${command.profile} actions" to see what it can do.`,
          ),
        );
        return;
      }
      case 'action-menu': {
        const profile = catalogue.find((candidate) => candidate.id === command.profile);
        if (!profile) return;
        if (!profile.usable) {
          await context.sendActivity(plainMessage(await this.unusableMessage(context, profile.id)));
          return;
        }
        const card = actionMenuCard(profile, enabledActions(profile));
        await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(card)));
        return;
      }
    }
  }

  /** Why a profile cannot be used here: not set up, or its access policy leaves this user out. */
  private async unusableMessage(context: TurnContext, profileId: string): Promise<string> {
    const profile = await this.services.engine.getProfile(profileId);
    const name = inertText(profile.displayName);
    if (profile.missing.length > 0) return `${name} is not set up yet: an admin must configure it.`;
    return accessRefusedMessage(name);
  }
}

const COMMAND_KEY = Symbol('authprofiles.command');

/** Whether the innermost active dialog is a sign-in wait. */
function waitsForSignin(dc: DialogContext): boolean {
  let leaf = dc;
  while (leaf.child) leaf = leaf.child;
  return leaf.activeDialog?.id === AuthorizationDialog.id;
}
