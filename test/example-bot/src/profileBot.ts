// An outside bot's dialogs: one WaterfallDialog that signs the user in to a custom profile with
// authprofiles' AuthorizationDialog, then calls an API with the token.
import type { ConversationState, TurnContext } from 'botbuilder';
import { DialogSet, DialogTurnStatus, WaterfallDialog, type WaterfallStepContext } from 'botbuilder-dialogs';
import type { AuthorizationEngine } from 'authprofiles';
import {
  AuthorizationDialog,
  authorizationDialogServices,
  SIGNIN_EVENT,
  type AuthorizationResult,
} from 'authprofiles/dialogs';

export interface ProfileBotOptions {
  engine: AuthorizationEngine;
  conversationState: ConversationState;
  /** The profile to sign in to (a file in the engine's profiles directory). */
  profileId: string;
  /** The API the token is for; the bot GETs it with `Authorization: Bearer <token>`. */
  apiUrl: string;
}

const PROFILE_DIALOG = 'whoami';

/** The bot's turn logic; the adapter calls `run` for every activity it receives. */
export class ProfileBot {
  private readonly dialogs: DialogSet;
  private readonly dialogState;

  constructor(private readonly options: ProfileBotOptions) {
    this.dialogState = options.conversationState.createProperty('dialogState');
    this.dialogs = new DialogSet(this.dialogState);
    this.dialogs.add(new AuthorizationDialog(authorizationDialogServices(options.engine)));
    this.dialogs.add(
      new WaterfallDialog(PROFILE_DIALOG, [
        (step) => step.beginDialog(AuthorizationDialog.id, { profileId: options.profileId }),
        (step) => this.callApi(step),
      ]),
    );
  }

  /**
   * Continues the waiting dialog (a message, or the `authprofiles/signin` event with which the OAuth
   * callback resumes it, see signinRoutes.ts), or starts the waterfall on a message.
   */
  async run(context: TurnContext): Promise<void> {
    const { type, name } = context.activity;
    if (type !== 'message' && !(type === 'event' && name === SIGNIN_EVENT)) return;
    const dc = await this.dialogs.createContext(context);
    const result = await dc.continueDialog();
    if (result.status === DialogTurnStatus.empty && type === 'message') {
      await dc.beginDialog(PROFILE_DIALOG);
    }
    await this.options.conversationState.saveChanges(context);
  }

  private async callApi(step: WaterfallStepContext) {
    const result = step.result as AuthorizationResult;
    if (result.status !== 'authorized') {
      await step.context.sendActivity(`No token (${result.status}).`);
      return step.endDialog();
    }
    const response = await fetch(this.options.apiUrl, {
      headers: { authorization: `Bearer ${result.accessToken}` },
    });
    const body = (await response.json()) as { name?: unknown };
    await step.context.sendActivity(`The API says you are ${String(body.name)}.`);
    return step.endDialog();
  }
}
