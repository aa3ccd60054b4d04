import {
  ActivityHandler,
  ActivityTypes,
  type ConversationState,
  type InvokeResponse,
  type StatePropertyAccessor,
  type TurnContext,
} from 'botbuilder';
import {
  DialogSet,
  DialogStateManager,
  DialogTurnStatus,
  type DialogContext,
  type DialogState,
} from 'botbuilder-dialogs';
import { SIGNIN_EVENT } from '../../dialogs/dialogServices';
import { MainDialog } from '../../dialogs/mainDialog';
import { removeBotMention } from './botMention';

/**
 * The bot: every message, sign-in event (the OAuth callback resuming a wait) and Teams
 * `signin/verifyState` invoke goes through the dialog stack kept in conversation state.
 */
export class AuthProfilesBot extends ActivityHandler {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly dialogs: DialogSet;
  private readonly stateManagerConfiguration = sharedStateManagerConfiguration();

  constructor(
    private readonly conversationState: ConversationState,
    private readonly mainDialog: MainDialog,
  ) {
    super();
    this.dialogState = conversationState.createProperty<DialogState>('dialogState');
    this.dialogs = new DialogSet(this.dialogState);
    this.dialogs.add(mainDialog);

    this.onMessage(async (context, next) => {
      removeBotMention(context.activity);
      await this.runDialogs(context);
      await next();
    });
    this.onEvent(async (context, next) => {
      if (context.activity.name === SIGNIN_EVENT) await this.runDialogs(context);
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      const joined = (context.activity.membersAdded ?? []).filter(
        (member) => member.id !== context.activity.recipient.id,
      );
      if (joined.length > 0) await context.sendActivity(`Hi! ${await this.mainDialog.helpFor(context)}`);
      await next();
    });
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    if (context.activity.name === 'signin/verifyState') {
      await this.runDialogs(context);
      return { status: 200 };
    }
    return super.onInvokeActivity(context);
  }

  override async run(context: TurnContext): Promise<void> {
    await super.run(context);
    // Saved inside the turn, also for proactive (callback) turns; a concurrent write by another
    // instance surfaces as a StorageConflictError instead of being lost (SECURITY.md #26).
    await this.conversationState.saveChanges(context, false);
  }

  private async runDialogs(context: TurnContext): Promise<void> {
    if (!context.turnState.has(STATE_MANAGER_CONFIGURATION)) {
      context.turnState.set(STATE_MANAGER_CONFIGURATION, this.stateManagerConfiguration);
    }
    const dc = await this.dialogs.createContext(context);
    const result = await dc.continueDialog();
    if (result.status === DialogTurnStatus.empty && context.activity.type === ActivityTypes.Message) {
      await dc.beginDialog(MainDialog.id);
    }
  }
}

/**
 * The turn-state key under which botbuilder-dialogs (4.23, `memory/dialogStateManager.js`) looks for
 * the dialog state manager's configuration before building one for the turn.
 */
const STATE_MANAGER_CONFIGURATION = 'DialogStateManagerConfiguration';

/**
 * The memory scopes and path resolvers every DialogContext's state manager uses, built once. Without
 * it botbuilder builds them for every turn (a service collection, nine scope objects, zod checks: a
 * measurable part of each turn, issue 12). They keep nothing between turns: each reads the turn
 * it is given from the dialog context.
 */
function sharedStateManagerConfiguration(): DialogStateManager['configuration'] {
  const turnState = new Map<unknown, unknown>();
  return new DialogStateManager({ context: { turnState } } as unknown as DialogContext).configuration;
}
