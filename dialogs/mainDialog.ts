import { ActivityTypes } from 'botbuilder';
import {
  ComponentDialog,
  WaterfallDialog,
  type DialogContext,
  type DialogTurnResult,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import { HELP_TEXT, parseCommand } from './commands';
import { connectionsReport } from './connectionsReport';
import { CrmDialog } from './crmDialog';
import type { DialogServices } from './dialogServices';
import { SignOutDialog } from './signOutDialog';

/** Routes each new message to a command; a new command while a sign-in waits replaces the wait. */
export class MainDialog extends ComponentDialog {
  static readonly id = 'main';

  constructor(private readonly services: DialogServices) {
    super(MainDialog.id);
    this.addDialog(new CrmDialog(services));
    this.addDialog(new SignOutDialog(services));
    this.addDialog(new WaterfallDialog('route', [this.route.bind(this)]));
    this.initialDialogId = 'route';
  }

  protected override async onContinueDialog(innerDc: DialogContext): Promise<DialogTurnResult> {
    const activity = innerDc.context.activity;
    if (activity.type === ActivityTypes.Message) {
      const command = parseCommand(activity.text ?? '');
      if (command.kind !== 'unknown') {
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
        await step.context.sendActivity(HELP_TEXT);
        return step.endDialog();
      case 'connections':
        await step.context.sendActivity(await connectionsReport(this.services, step.context));
        return step.endDialog();
      case 'sign-out':
        return step.replaceDialog(SignOutDialog.id, { profile: command.profile });
      case 'crm':
        return step.replaceDialog(CrmDialog.id, command);
      default:
        await step.context.sendActivity(
          `Sorry, I didn't understand "${command.text.slice(0, 80)}". Type "help" to see what I can do.`,
        );
        return step.endDialog();
    }
  }
}
