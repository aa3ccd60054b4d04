import type { ConversationReference, TurnContext } from 'botbuilder';
import type { CallbackOutcome } from '../profiles';
import { SIGNIN_EVENT, type SigninEventValue } from './dialogServices';

/** The one adapter method a resume needs (botbuilder's CloudAdapter has it). */
export interface ProactiveAdapter {
  continueConversationAsync(
    botAppId: string,
    reference: Partial<ConversationReference>,
    logic: (context: TurnContext) => Promise<void>,
  ): Promise<void>;
}

/** The `authprofiles/signin` event's value for a completed callback: the outcome, never a code or token. */
export function signinEventOf(outcome: CallbackOutcome): SigninEventValue {
  return {
    requestId: outcome.request.id,
    outcome: outcome.kind,
    ...(outcome.kind === 'failed' ? { error: outcome.error.code } : {}),
  };
}

/**
 * For a host's OAuth callback route: resumes the AuthorizationDialog that waits for this sign-in, in the
 * conversation the request was made from (its reference travelled with the request), by running `logic`
 * on the `authprofiles/signin` event. False when the request came from no conversation (an admin's).
 * Best effort by design: the outcome is already stored, so a failed resume is picked up on the user's
 * next turn.
 */
export async function resumeSignin(
  adapter: ProactiveAdapter,
  botAppId: string,
  outcome: CallbackOutcome,
  logic: (context: TurnContext) => Promise<void>,
): Promise<boolean> {
  const reference = outcome.request.context.conversation as Partial<ConversationReference> | undefined;
  if (!reference?.conversation || !reference.serviceUrl) return false;
  const value = signinEventOf(outcome);
  await adapter.continueConversationAsync(botAppId, reference, async (context) => {
    Object.assign(context.activity, {
      type: 'event',
      name: SIGNIN_EVENT,
      value,
      // Web Chat holds replies ~5 s unless the continuation carries the original activity id.
      id: reference.activityId,
    });
    await logic(context);
  });
  return true;
}
