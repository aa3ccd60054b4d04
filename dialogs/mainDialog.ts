import { ActivityTypes } from 'botbuilder';
import {
  ComponentDialog,
  WaterfallDialog,
  type DialogContext,
  type DialogTurnResult,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import { AuthorizationDialog, STORED_OUTCOME_ONLY } from './authorizationDialog';
import { HELP_TEXT, parseCommand, replacesWaitingDialog } from './commands';
import { connectionsReport } from './connectionsReport';
import { CrmDialog } from './crmDialog';
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
    this.addDialog(new CrmDialog(services));
    this.addDialog(new SignOutDialog(services));
    this.addDialog(new ConnectDialog(services));
    this.addDialog(new WaterfallDialog('route', [this.route.bind(this)]));
    this.initialDialogId = 'route';
  }

  protected override async onContinueDialog(innerDc: DialogContext): Promise<DialogTurnResult> {
    const activity = innerDc.context.activity;
    if (activity.type === ActivityTypes.Message) {
      const command = parseCommand(activity.text ?? '');
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
    const command = parseCommand(step.context.activity.text ?? '');
    switch (command.kind) {
      case 'help':
      case 'greeting':
        await step.context.sendActivity(HELP_TEXT);
        return step.endDialog();
      case 'connections':
        await step.context.sendActivity(plainMessage(await connectionsReport(this.services, step.context)));
        return step.endDialog();
      case 'sign-out':
        return step.replaceDialog(SignOutDialog.id, { profile: command.profile });
      case 'crm':
        return step.replaceDialog(CrmDialog.id, command);
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
}

/** Whether the innermost active dialog is a sign-in wait. */
function waitsForSignin(dc: DialogContext): boolean {
  let leaf = dc;
  while (leaf.child) leaf = leaf.child;
  return leaf.activeDialog?.id === AuthorizationDialog.id;
}
