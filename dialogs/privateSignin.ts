import type { Activity, ChannelAccount, ConversationParameters, TurnContext } from 'botbuilder';
import { privateSigninNote, privateSigninUnavailable } from '../profiles';
import { inertText } from './inertText';

/**
 * Sign-in in Teams group chats and channels (issue 10 point 2): a sign-in card is for one user, so it
 * goes to that user's personal chat with the bot, opened with `adapter.createConversationAsync` (the
 * user as the only member, same tenant: how botbuilder starts a 1:1 chat), and the group sees only a
 * short note that @mentions the user. When the personal chat cannot be opened, the card is NOT posted
 * to the group: the user is asked to message the bot directly.
 */

/** Conversation types where a message is seen by more people than the one asking. */
export function isSharedConversation(activity: Partial<Activity>): boolean {
  const type = activity.conversation?.conversationType;
  return (
    type === 'groupChat' ||
    type === 'channel' ||
    (type === undefined && activity.conversation?.isGroup === true)
  );
}

export interface PrivateDelivery {
  /** Whether the card reached the personal chat. */
  delivered: boolean;
}

export async function sendSigninPrivately(
  context: TurnContext,
  card: Partial<Activity>,
  profileName: string,
  botAppId: string,
): Promise<PrivateDelivery> {
  const activity = context.activity;
  const user: ChannelAccount = { id: activity.from.id, name: activity.from.name ?? '' };
  if (activity.from.aadObjectId) user.aadObjectId = activity.from.aadObjectId;
  const tenantId = tenantOf(activity);
  const parameters: ConversationParameters = {
    isGroup: false,
    bot: activity.recipient,
    members: [user],
    activity: undefined as never,
    channelData: tenantId ? { tenant: { id: tenantId } } : {},
    ...(tenantId ? { tenantId } : {}),
  };
  const audience = context.turnState.get(context.adapter.OAuthScopeKey) as string | undefined;
  let delivered = false;
  try {
    await context.adapter.createConversationAsync(
      botAppId,
      activity.channelId,
      activity.serviceUrl,
      audience ?? 'https://api.botframework.com',
      parameters,
      async (personal) => {
        await personal.sendActivity(card);
        delivered = true;
      },
    );
  } catch {
    // Not delivered: the channel refused (the user never installed the app, an offline adapter); the
    // note below says so, and the card does not go to the group.
  }
  const name = inertText(activity.from.name || 'there', 60);
  const mention = `<at>${name}</at>`;
  await context.sendActivity({
    type: 'message',
    text: delivered ? privateSigninNote(mention) : privateSigninUnavailable(mention, inertText(profileName)),
    entities: [{ type: 'mention', text: mention, mentioned: { id: activity.from.id, name } }],
  });
  return { delivered };
}

function tenantOf(activity: Partial<Activity>): string | undefined {
  const fromChannelData = (activity.channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
  return (
    activity.conversation?.tenantId ?? (typeof fromChannelData === 'string' ? fromChannelData : undefined)
  );
}
