import { TurnContext, type Activity } from 'botbuilder';

/**
 * Teams (and the Agents Playground) put the bot's @mention into the text of group-chat and channel
 * messages: "<at>Bot</at> 123456". Commands and the verification code are read without it, so
 * "@Bot 123456" is the code and "@Bot show my deals" a command (issue 10 point 2).
 * botbuilder's removeRecipientMention removes the mention entity's text; a leftover leading `<at>…</at>` (a
 * client that sends the tag without an entity) is removed as well; later mentions (of people) stay.
 */
export function removeBotMention(activity: Partial<Activity>): void {
  if (typeof activity.text !== 'string') return;
  if (activity.recipient) TurnContext.removeRecipientMention(activity);
  activity.text = (activity.text ?? '').replace(/^(?:\s*<at>[^<]*<\/at>)+/i, '').trim();
}
