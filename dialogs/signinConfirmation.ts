import type { Activity } from 'botbuilder';

/**
 * A parent's answer with the confirmation of the sign-in that preceded it (`AuthorizationResult`'s
 * `confirmation`, asked for with `returnConfirmation`), as one message: each message is one POST to the
 * channel, and a resumed "show my deals" was three of them where two say it all (issue 12).
 *
 * - a plain-text answer: one text, the confirmation's sentences then the answer's ("You're connected to
 *   Demo CRM. Demo CRM has nothing for "My deals" right now.");
 * - an answer without text (an Adaptive Card): the confirmation becomes the message text beside the card,
 *   which Teams and Web Chat show above it; the card's `fallbackText` still holds only the result.
 *
 * No confirmation: the answer as it is. The confirmation is plain text whose names are already inert,
 * so it only joins plain messages (`plainMessage`); a markdown answer is a mistake of the caller.
 */
export function withConfirmation(
  confirmation: string | undefined,
  answer: Partial<Activity>,
): Partial<Activity> {
  if (!confirmation) return answer;
  if (!answer.text) return { ...answer, text: confirmation, textFormat: 'plain' };
  if (answer.textFormat !== 'plain') {
    throw new Error('withConfirmation joins plain messages only: send the answer with plainMessage');
  }
  return { ...answer, text: `${confirmation} ${answer.text}` };
}
