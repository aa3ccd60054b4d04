import type { Request, Server } from 'restify';
import type { Conversations } from './conversations';
import {
  CHANNEL_ID,
  HttpError,
  isObject,
  parseMember,
  readJsonObject,
  settleWithin,
  type Activity,
  type Conversation,
  type Member,
} from './directLineParts';

export const CLIENT_PATH = '/v3/directline';

/** The client side, `/v3/directline/...`: the REST calls botframework-directlinejs makes with `webSocket: false`. */
export function registerClientRoutes(server: Server, conversations: Conversations): void {
  const { limits } = conversations;

  function bearerToken(req: Request): string | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    // DirectLineJS sends "Bearer undefined" before it has a token.
    return match?.[1] && match[1] !== 'undefined' ? match[1] : undefined;
  }

  function conversationOfToken(req: Request): Conversation {
    const token = bearerToken(req);
    if (!token) throw new HttpError(401, 'TokenMissing', 'Authorization: Bearer <token> is required');
    const conversation = conversations.byToken(token);
    if (!conversation) throw new HttpError(403, 'TokenInvalid', 'the token is unknown or expired');
    conversations.touch(conversation);
    return conversation;
  }

  // A conversation's routes accept that conversation's token only: this is what keeps one browser
  // from reading or writing another's conversation.
  function authorizedConversation(req: Request): Conversation {
    const conversation = conversationOfToken(req);
    if (conversation.id !== req.params.conversationId) {
      throw new HttpError(403, 'TokenInvalid', 'the token does not grant access to this conversation');
    }
    return conversation;
  }

  function startConversation(conversation: Conversation): void {
    if (conversation.started) return;
    conversation.started = true;
    conversations.log.info({ conversationId: conversation.id }, 'local Direct Line: conversation started');
    conversations.announceUser(conversation);
  }

  // The first activity names the user when the start did not; after that the conversation's user wins over
  // what the client says, as Direct Line does with a user id in the token.
  function bindUser(conversation: Conversation, body: Activity): Member {
    const from = parseMember(body.from, 'from', 'user');
    if (!conversation.user) {
      if (!from) throw new HttpError(400, 'BadArgument', 'from.id is required');
      conversation.user = from;
    }
    return { ...conversation.user, ...(from?.name ? { name: from.name } : {}) };
  }

  function userActivity(conversation: Conversation, body: Activity, user: Member): Activity {
    const { id: _clientId, serviceUrl: _serviceUrl, recipient: _recipient, ...rest } = body;
    return {
      ...rest,
      id: conversations.nextId(conversation),
      timestamp: conversations.nextTimestamp(conversation),
      channelId: CHANNEL_ID,
      conversation: { id: conversation.id },
      from: user,
    };
  }

  const route = conversations.route.bind(conversations);

  server.post(
    `${CLIENT_PATH}/tokens/generate`,
    route(async (req, res) => {
      const body = await readJsonObject(req);
      const user = parseMember(isObject(body.user) ? body.user : undefined, 'user', 'user');
      res.send(200, conversations.resource(conversations.create(user)));
    }),
  );

  // The token stays the same: it lives as long as its conversation is active.
  server.post(
    `${CLIENT_PATH}/tokens/refresh`,
    route((req, res) => {
      res.send(200, conversations.resource(conversationOfToken(req)));
    }),
  );

  server.post(
    `${CLIENT_PATH}/conversations`,
    route(async (req, res) => {
      const body = await readJsonObject(req);
      if (bearerToken(req)) {
        // A token from tokens/generate already names its conversation (and maybe its user).
        const conversation = conversationOfToken(req);
        startConversation(conversation);
        res.send(200, conversations.resource(conversation));
        return;
      }
      const user = parseMember(isObject(body.user) ? body.user : undefined, 'user', 'user');
      const conversation = conversations.create(user);
      startConversation(conversation);
      res.send(201, conversations.resource(conversation));
    }),
  );

  // Reconnect: DirectLineJS calls it to resume a conversation it knows the id of.
  server.get(
    `${CLIENT_PATH}/conversations/:conversationId`,
    route((req, res) => {
      res.send(200, conversations.resource(authorizedConversation(req)));
    }),
  );

  server.get(
    `${CLIENT_PATH}/conversations/:conversationId/activities`,
    route((req, res) => {
      const conversation = authorizedConversation(req);
      const watermark = Number(new URLSearchParams(req.getQuery()).get('watermark') ?? '');
      const after = Number.isSafeInteger(watermark) && watermark > 0 ? watermark : 0;
      const activities = conversation.activities.filter((a) => a.seq > after).map((a) => a.activity);
      res.send(200, { activities, watermark: String(conversation.seq) });
    }),
  );

  server.post(
    `${CLIENT_PATH}/conversations/:conversationId/activities`,
    route(async (req, res) => {
      const conversation = authorizedConversation(req);
      const body = await readJsonObject(req);
      if (typeof body.type !== 'string' || body.type === '' || body.type.length > 64) {
        throw new HttpError(400, 'BadArgument', 'type must be a non-empty string');
      }
      const user = bindUser(conversation, body);
      startConversation(conversation);
      conversations.announceUser(conversation);
      const activity = userActivity(conversation, body, user);
      // Web Chat shows "Send failed" unless its own activity comes back (matched by clientActivityID).
      conversations.store(conversation, activity);
      const outcome = await settleWithin(conversations.deliver(conversation, activity), limits.botWaitMs);
      if (outcome instanceof Error) {
        res.send(502, { error: { code: 'BotError', message: 'the bot did not accept the activity' } });
        return;
      }
      res.send(200, { id: activity.id });
    }),
  );
}
