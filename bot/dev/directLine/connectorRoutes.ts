import type { Request, Response, Server } from 'restify';
import type { Conversations } from './conversations';
import { fillOAuthCardLinks, type SignInLinkSource } from './oauthCardLinks';
import {
  BOT,
  CHANNEL_ID,
  errorSummary,
  HttpError,
  isObject,
  parseMember,
  readJsonObject,
  type Activity,
  type Conversation,
  type Member,
} from './directLineParts';

export const CONNECTOR_PATH = '/v3/directline/connector';

/**
 * The bot side, `/v3/directline/connector/v3/conversations/...`: the Bot Connector API the bot's
 * CloudAdapter calls back on, because every activity delivered names that URL as its serviceUrl.
 * Unauthenticated: the bot runs without a MicrosoftAppId in dev, so its calls carry no token either.
 */
export function registerConnectorRoutes(
  server: Server,
  conversations: Conversations,
  signInLinks?: SignInLinkSource,
): void {
  const { serviceUrl } = conversations;

  /** Azure's Direct Line puts the token service's sign-in link into link-less OAuthCards; so does this one. */
  async function fillCardLinks(conversation: Conversation, activity: Activity): Promise<void> {
    if (!signInLinks) return;
    try {
      await fillOAuthCardLinks(
        activity,
        {
          conversationId: conversation.id,
          channelId: CHANNEL_ID,
          serviceUrl,
          user: conversation.user ? { id: conversation.user.id, name: conversation.user.name } : undefined,
          bot: BOT,
        },
        signInLinks,
      );
    } catch (error) {
      conversations.log.warn(
        { conversationId: conversation.id, error: errorSummary(error) },
        'local Direct Line: no sign-in link for an OAuthCard',
      );
    }
  }

  function botConversation(req: Request): Conversation {
    const conversation = conversations.byId.get(String(req.params.conversationId));
    if (!conversation) throw new HttpError(404, 'ConversationNotFound', 'unknown conversation');
    conversations.touch(conversation);
    return conversation;
  }

  function botActivity(conversation: Conversation, body: Activity, id: string, timestamp: string): Activity {
    if (typeof body.type !== 'string' || body.type === '') {
      throw new HttpError(400, 'BadArgument', 'type must be a non-empty string');
    }
    const { serviceUrl: _serviceUrl, ...rest } = body;
    return {
      ...rest,
      id,
      timestamp,
      channelId: CHANNEL_ID,
      conversation: { id: conversation.id },
      from: parseMember(body.from, 'from', 'bot') ?? BOT,
    };
  }

  async function sendToConversation(req: Request, res: Response, replyToId?: string): Promise<void> {
    const conversation = botConversation(req);
    const body = await readJsonObject(req);
    const activity = botActivity(
      conversation,
      body,
      conversations.nextId(conversation),
      conversations.nextTimestamp(conversation),
    );
    if (replyToId && activity.replyToId === undefined) activity.replyToId = replyToId;
    await fillCardLinks(conversation, activity);
    conversations.store(conversation, activity);
    res.send(200, { id: activity.id });
  }

  const route = conversations.route.bind(conversations);
  const conversationPath = `${CONNECTOR_PATH}/v3/conversations/:conversationId`;

  server.post(
    `${CONNECTOR_PATH}/v3/conversations`,
    route(async (req, res) => {
      const body = await readJsonObject(req);
      const invited: unknown[] = Array.isArray(body.members) ? body.members : [];
      const conversation = conversations.create(parseMember(invited[0], 'members[0]', 'user'));
      conversation.started = true;
      conversation.userAnnounced = true;
      let activityId: string | undefined;
      if (isObject(body.activity)) {
        const activity = botActivity(
          conversation,
          body.activity,
          conversations.nextId(conversation),
          conversations.nextTimestamp(conversation),
        );
        conversations.store(conversation, activity);
        activityId = String(activity.id);
      }
      res.send(200, { id: conversation.id, serviceUrl, ...(activityId ? { activityId } : {}) });
    }),
  );

  server.post(
    `${conversationPath}/activities`,
    route((req, res) => sendToConversation(req, res)),
  );

  server.post(
    `${conversationPath}/activities/:activityId`,
    route((req, res) => sendToConversation(req, res, String(req.params.activityId))),
  );

  server.put(
    `${conversationPath}/activities/:activityId`,
    route(async (req, res) => {
      const conversation = botConversation(req);
      const body = await readJsonObject(req);
      const index = conversation.activities.findIndex((a) => a.activity.id === req.params.activityId);
      const previous = conversation.activities[index];
      if (!previous) throw new HttpError(404, 'ActivityNotFound', 'unknown activity');
      // Same id and timestamp (Web Chat replaces by id and sorts by timestamp), new watermark so pollers see it.
      const activity = botActivity(
        conversation,
        body,
        String(previous.activity.id),
        String(previous.activity.timestamp),
      );
      conversation.activities.splice(index, 1);
      conversation.bytes -= previous.bytes;
      conversation.seq += 1;
      conversations.store(conversation, activity);
      res.send(200, { id: activity.id });
    }),
  );

  server.del(
    `${conversationPath}/activities/:activityId`,
    route((req, res) => {
      const conversation = botConversation(req);
      const index = conversation.activities.findIndex((a) => a.activity.id === req.params.activityId);
      const removed = conversation.activities.splice(index, index < 0 ? 0 : 1)[0];
      if (removed) conversation.bytes -= removed.bytes;
      res.send(200, {});
    }),
  );

  const members = (conversation: Conversation): Member[] =>
    conversation.user ? [BOT, conversation.user] : [BOT];

  server.get(
    `${conversationPath}/members`,
    route((req, res) => {
      res.send(200, members(botConversation(req)));
    }),
  );

  server.get(
    `${conversationPath}/pagedmembers`,
    route((req, res) => {
      res.send(200, { members: members(botConversation(req)) });
    }),
  );

  server.get(
    `${conversationPath}/members/:memberId`,
    route((req, res) => {
      const member = members(botConversation(req)).find((m) => m.id === req.params.memberId);
      if (!member) throw new HttpError(404, 'MemberNotFound', 'unknown member');
      res.send(200, member);
    }),
  );
}
