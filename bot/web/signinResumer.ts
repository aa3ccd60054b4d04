import type { ConversationReference, TurnContext } from 'botbuilder';
import { SIGNIN_EVENT, type SigninEventValue } from '../../dialogs/dialogServices';
import type { SigninRequest } from '../../profiles';
import type { Logger } from '../logger';

/**
 * Resumes the dialog that waits for a sign-in, proactively, on whichever instance received the
 * callback: the conversation reference travelled with the authorization request in the store.
 * Best effort: the engine has already stored the outcome with the request, so when this fails (the
 * channel refuses, the instance dies) the user's next turn picks the outcome up instead.
 */
/** The one CloudAdapter method the resumer needs (tests pass a TestAdapter that has it). */
export interface ProactiveAdapter {
  continueConversationAsync(
    botAppId: string,
    reference: Partial<ConversationReference>,
    logic: (context: TurnContext) => Promise<void>,
  ): Promise<void>;
}

export class SigninResumer {
  constructor(
    private readonly adapter: ProactiveAdapter,
    /** FACTS: must be a string (`''` in local dev); undefined makes botbuilder answer 500. */
    private readonly botAppId: string,
    /** The bot whose dialogs wait (AuthProfilesBot, or any bot that runs an AuthorizationDialog). */
    private readonly bot: { run(context: TurnContext): Promise<void> },
    private readonly log: Logger,
  ) {}

  /**
   * The resumed turn resolves its profile afresh, never the one the callback read before its code
   * exchange: an admin's change during the exchange must reach the new connection's first use
   * (SECURITY.md #39).
   */
  async resume(request: Pick<SigninRequest, 'id' | 'context'>, value: SigninEventValue): Promise<boolean> {
    const reference = request.context.conversation as Partial<ConversationReference> | undefined;
    if (!reference?.conversation || !reference.serviceUrl) return false;
    const started = Date.now();
    try {
      await this.adapter.continueConversationAsync(this.botAppId, reference, async (context) => {
        Object.assign(context.activity, {
          type: 'event',
          name: SIGNIN_EVENT,
          value,
          // FACTS: Web Chat holds replies ~5 s unless the continuation carries the original id.
          id: reference.activityId,
        });
        await this.bot.run(context);
      });
      this.log.info(
        {
          requestId: request.id,
          outcome: value.outcome,
          channelId: reference.channelId,
          ms: Date.now() - started,
        },
        'resumed waiting dialog',
      );
      return true;
    } catch (error) {
      this.log.error(
        { err: error, requestId: request.id, outcome: value.outcome },
        'could not resume the waiting dialog; the next turn of that conversation picks up the stored outcome',
      );
      return false;
    }
  }
}
