// Dev-mode stand-in for the Direct Line 3.0 service, so `npm start` gives a working Web Chat with no Azure.
// It has two faces on the same restify server:
//  - client side, /v3/directline/...: the REST calls botframework-directlinejs makes with webSocket: false
//    (start, poll, post, token refresh);
//  - bot side, /v3/directline/connector/v3/conversations/...: the Bot Connector API that the bot's
//    CloudAdapter calls back on, because every activity we deliver names that URL as its serviceUrl.
// Everything lives in this process's memory, bounded, and dies with it: development only, one instance.
import { randomBytes } from 'node:crypto';

import type { Request, Response, Server } from 'restify';

const CLIENT_PATH = '/v3/directline';
const CONNECTOR_PATH = '/v3/directline/connector';
const CHANNEL_ID = 'webchat';
// What Direct Line reports; DirectLineJS refreshes at half of it. We really expire on idleness instead.
const TOKEN_LIFETIME_SECONDS = 1800;
const MAX_BODY_BYTES = 256 * 1024;
const MAX_ID_LENGTH = 256;
// Bot replies are rarely slower than this; past it the client's POST is answered and delivery carries on.
const BOT_DELIVERY_ABORT_MS = 60_000;

export interface LocalDirectLineLimits {
  maxConversations: number;
  maxActivitiesPerConversation: number;
  maxBytesPerConversation: number;
  /** A conversation nobody has touched for this long is forgotten, with its token. */
  idleMs: number;
  /** How long a client's POST waits for the bot's turn (Web Chat marks a send as failed after 20 s). */
  botWaitMs: number;
}

const DEFAULT_LIMITS: LocalDirectLineLimits = {
  maxConversations: 1000,
  maxActivitiesPerConversation: 500,
  maxBytesPerConversation: 1_000_000,
  idleMs: 60 * 60 * 1000,
  botWaitMs: 15_000,
};

export interface LocalDirectLineOptions {
  publicUrl: string;
  /** The bot's messaging endpoint, e.g. `${PUBLIC_URL}/api/messages`; activities are POSTed to it. */
  botEndpoint: string;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
  limits?: Partial<LocalDirectLineLimits>;
}

export interface LocalDirectLine {
  /** Conversations currently held in memory. */
  readonly conversations: number;
  /** The serviceUrl the bot sees on activities from this channel. */
  readonly serviceUrl: string;
  /** Forgets every conversation, aborts deliveries in flight; the routes then answer 503. */
  close(): void;
}

type Activity = Record<string, unknown>;
interface Member {
  id: string;
  name?: string;
  role: 'user' | 'bot';
}
interface StoredActivity {
  seq: number;
  bytes: number;
  activity: Activity;
}
interface Conversation {
  id: string;
  token: string;
  user: Member | undefined;
  /** The client has started it (POST /conversations). */
  started: boolean;
  /** The bot has been told the user joined (conversationUpdate). */
  userAnnounced: boolean;
  activities: StoredActivity[];
  bytes: number;
  /** Last activity sequence number handed out; doubles as the watermark. */
  seq: number;
  lastTimestamp: number;
  lastActiveAt: number;
  /** Deliveries to the bot are chained so it sees one turn at a time per conversation, in order. */
  deliveries: Promise<unknown>;
}

const BOT: Member = { id: 'bot', role: 'bot' };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function registerLocalDirectLine(server: Server, options: LocalDirectLineOptions): LocalDirectLine {
  const limits: LocalDirectLineLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const { log, botEndpoint } = options;
  const serviceUrl = `${options.publicUrl.replace(/\/+$/, '')}${CONNECTOR_PATH}`;
  // Map order is least-recently-active first (touch() re-inserts), so eviction and expiry read from the front.
  const conversations = new Map<string, Conversation>();
  const conversationIdByToken = new Map<string, string>();
  const closing = new AbortController();
  let closed = false;

  const sweep = setInterval(() => expireIdle(), Math.min(limits.idleMs, 60_000));
  sweep.unref();

  function expireIdle(): void {
    const cutoff = Date.now() - limits.idleMs;
    for (const conversation of conversations.values()) {
      if (conversation.lastActiveAt > cutoff) break;
      forget(conversation);
    }
  }

  function forget(conversation: Conversation): void {
    conversations.delete(conversation.id);
    conversationIdByToken.delete(conversation.token);
  }

  function touch(conversation: Conversation): void {
    conversation.lastActiveAt = Date.now();
    conversations.delete(conversation.id);
    conversations.set(conversation.id, conversation);
  }

  function createConversation(user: Member | undefined): Conversation {
    expireIdle();
    while (conversations.size >= limits.maxConversations) {
      const oldest = conversations.values().next().value;
      if (!oldest) break;
      log.info({ conversationId: oldest.id }, 'local Direct Line: conversation evicted (limit reached)');
      forget(oldest);
    }
    const id = randomBytes(16).toString('base64url');
    const conversation: Conversation = {
      id,
      token: issueToken(id, user),
      user,
      started: false,
      userAnnounced: false,
      activities: [],
      bytes: 0,
      seq: 0,
      lastTimestamp: 0,
      lastActiveAt: Date.now(),
      deliveries: Promise.resolve(),
    };
    conversations.set(id, conversation);
    conversationIdByToken.set(conversation.token, id);
    return conversation;
  }

  // Ids look like the real service's ("<conversation>|0000001") and replies point at them with replyToId.
  function nextId(conversation: Conversation): string {
    conversation.seq += 1;
    return `${conversation.id}|${String(conversation.seq).padStart(7, '0')}`;
  }

  // Web Chat orders the transcript by timestamp (ms), so two activities must never share one.
  function nextTimestamp(conversation: Conversation): string {
    conversation.lastTimestamp = Math.max(Date.now(), conversation.lastTimestamp + 1);
    return new Date(conversation.lastTimestamp).toISOString();
  }

  function store(conversation: Conversation, activity: Activity): void {
    const bytes = Buffer.byteLength(JSON.stringify(activity));
    if (bytes > limits.maxBytesPerConversation) {
      throw new HttpError(413, 'MessageSizeTooBig', 'activity is too large');
    }
    conversation.activities.push({ seq: conversation.seq, bytes, activity });
    conversation.bytes += bytes;
    while (
      conversation.activities.length > limits.maxActivitiesPerConversation ||
      conversation.bytes > limits.maxBytesPerConversation
    ) {
      const dropped = conversation.activities.shift();
      if (!dropped) break;
      conversation.bytes -= dropped.bytes;
    }
  }

  function conversationResource(conversation: Conversation): object {
    return { conversationId: conversation.id, token: conversation.token, expires_in: TOKEN_LIFETIME_SECONDS };
  }

  // ---- delivery to the bot, as a channel would ----

  async function postToBot(activity: Activity): Promise<void> {
    const response = await fetch(botEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...activity, serviceUrl, recipient: BOT }),
      signal: AbortSignal.any([closing.signal, AbortSignal.timeout(BOT_DELIVERY_ABORT_MS)]),
    });
    await response.arrayBuffer();
    if (!response.ok) {
      // 401 here means the bot has a MicrosoftAppId: this channel cannot authenticate, leave it empty in dev.
      throw new HttpError(502, 'BotError', `the bot answered HTTP ${response.status}`);
    }
  }

  function deliver(conversation: Conversation, activity: Activity): Promise<void> {
    const delivery = conversation.deliveries.then(() => postToBot(activity));
    conversation.deliveries = delivery.catch(() => undefined);
    delivery.catch((error: unknown) => {
      if (closed) return;
      log.warn(
        { conversationId: conversation.id, activityType: activity.type, error: errorSummary(error) },
        'local Direct Line: the bot did not accept an activity',
      );
    });
    return delivery;
  }

  // Real Direct Line tells the bot who joined so it can greet; when the user is not known yet we wait
  // for the first activity, which names them.
  function announceUser(conversation: Conversation): void {
    if (conversation.userAnnounced || !conversation.user) return;
    conversation.userAnnounced = true;
    void deliver(conversation, {
      type: 'conversationUpdate',
      id: nextId(conversation),
      timestamp: nextTimestamp(conversation),
      channelId: CHANNEL_ID,
      conversation: { id: conversation.id },
      from: conversation.user,
      membersAdded: [BOT, conversation.user],
    }).catch(() => undefined);
  }

  // ---- client side (Direct Line 3.0) ----

  function bearerToken(req: Request): string | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    // DirectLineJS sends "Bearer undefined" before it has a token.
    return match?.[1] && match[1] !== 'undefined' ? match[1] : undefined;
  }

  function conversationOfToken(req: Request): Conversation {
    const token = bearerToken(req);
    if (!token) throw new HttpError(401, 'TokenMissing', 'Authorization: Bearer <token> is required');
    const conversationId = conversationIdByToken.get(token);
    const conversation = conversationId === undefined ? undefined : conversations.get(conversationId);
    if (!conversation) throw new HttpError(403, 'TokenInvalid', 'the token is unknown or expired');
    touch(conversation);
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
    log.info({ conversationId: conversation.id }, 'local Direct Line: conversation started');
    announceUser(conversation);
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
      id: nextId(conversation),
      timestamp: nextTimestamp(conversation),
      channelId: CHANNEL_ID,
      conversation: { id: conversation.id },
      from: user,
    };
  }

  const route = (handler: (req: Request, res: Response) => Promise<void> | void) =>
    async function directLineRoute(req: Request, res: Response): Promise<void> {
      res.setHeader('Cache-Control', 'no-store');
      try {
        if (closed) throw new HttpError(503, 'ServiceUnavailable', 'the local Direct Line is closed');
        await handler(req, res);
      } catch (error) {
        if (error instanceof HttpError) {
          res.send(error.status, { error: { code: error.code, message: error.message } });
          return;
        }
        log.warn({ path: req.getPath(), error: errorSummary(error) }, 'local Direct Line: request failed');
        res.send(500, { error: { code: 'ServiceError', message: 'internal error' } });
      }
    };

  server.post(
    `${CLIENT_PATH}/tokens/generate`,
    route(async (req, res) => {
      const body = await readJsonObject(req);
      const user = parseMember(isObject(body.user) ? body.user : undefined, 'user', 'user');
      res.send(200, conversationResource(createConversation(user)));
    }),
  );

  // The token stays the same: it lives as long as its conversation is active.
  server.post(
    `${CLIENT_PATH}/tokens/refresh`,
    route((req, res) => {
      res.send(200, conversationResource(conversationOfToken(req)));
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
        res.send(200, conversationResource(conversation));
        return;
      }
      const user = parseMember(isObject(body.user) ? body.user : undefined, 'user', 'user');
      const conversation = createConversation(user);
      startConversation(conversation);
      res.send(201, conversationResource(conversation));
    }),
  );

  // Reconnect: DirectLineJS calls it to resume a conversation it knows the id of.
  server.get(
    `${CLIENT_PATH}/conversations/:conversationId`,
    route((req, res) => {
      res.send(200, conversationResource(authorizedConversation(req)));
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
      announceUser(conversation);
      const activity = userActivity(conversation, body, user);
      // Web Chat shows "Send failed" unless its own activity comes back (matched by clientActivityID).
      store(conversation, activity);
      const outcome = await settleWithin(deliver(conversation, activity), limits.botWaitMs);
      if (outcome instanceof Error) {
        res.send(502, { error: { code: 'BotError', message: 'the bot did not accept the activity' } });
        return;
      }
      res.send(200, { id: activity.id });
    }),
  );

  // ---- bot side (Bot Connector API on serviceUrl) ----
  // Unauthenticated: the bot runs without a MicrosoftAppId in dev, so its calls carry no token either.

  function botConversation(req: Request): Conversation {
    const conversation = conversations.get(String(req.params.conversationId));
    if (!conversation) throw new HttpError(404, 'ConversationNotFound', 'unknown conversation');
    touch(conversation);
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
    const activity = botActivity(conversation, body, nextId(conversation), nextTimestamp(conversation));
    if (replyToId && activity.replyToId === undefined) activity.replyToId = replyToId;
    store(conversation, activity);
    res.send(200, { id: activity.id });
  }

  const conversationPath = `${CONNECTOR_PATH}/v3/conversations/:conversationId`;

  server.post(
    `${CONNECTOR_PATH}/v3/conversations`,
    route(async (req, res) => {
      const body = await readJsonObject(req);
      const invited: unknown[] = Array.isArray(body.members) ? body.members : [];
      const conversation = createConversation(parseMember(invited[0], 'members[0]', 'user'));
      conversation.started = true;
      conversation.userAnnounced = true;
      let activityId: string | undefined;
      if (isObject(body.activity)) {
        const activity = botActivity(
          conversation,
          body.activity,
          nextId(conversation),
          nextTimestamp(conversation),
        );
        store(conversation, activity);
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
      store(conversation, activity);
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

  return {
    get conversations() {
      return conversations.size;
    },
    serviceUrl,
    close() {
      closed = true;
      clearInterval(sweep);
      closing.abort();
      conversations.clear();
      conversationIdByToken.clear();
    },
  };
}

// DirectLineJS and Web Chat decode (never verify) the token as a JWT and take its `user` claim as the
// user id; that is also the only way Web Chat keeps a "dl_" user id (it replaces one passed as a prop).
// The random third part is what makes the token unguessable; the server only looks tokens up.
function issueToken(conversationId: string, user: Member | undefined): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = { conv: conversationId, ...(user ? { user: user.id } : {}) };
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.${randomBytes(32).toString('base64url')}`;
}

function parseMember(value: unknown, field: string, role: Member['role']): Member | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new HttpError(400, 'BadArgument', `${field} must be an object`);
  const { id, name } = value;
  if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH) {
    throw new HttpError(
      400,
      'BadArgument',
      `${field}.id must be a string of 1 to ${MAX_ID_LENGTH} characters`,
    );
  }
  if (name === undefined || name === null || name === '') return { id, role };
  if (typeof name !== 'string' || name.length > MAX_ID_LENGTH) {
    throw new HttpError(
      400,
      'BadArgument',
      `${field}.name must be a string of at most ${MAX_ID_LENGTH} characters`,
    );
  }
  return { id, name, role };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Works whether or not the server runs a body parser first: restify's parsers leave req.body set and
// never read the stream twice, and the bot's /api/messages needs one anyway.
async function readJsonObject(req: Request): Promise<Record<string, unknown>> {
  let body: unknown = req.body;
  const alreadyRead = body !== undefined || req.readableEnded || (req as { _readBody?: boolean })._readBody;
  if (!alreadyRead) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw new HttpError(413, 'MessageSizeTooBig', 'request body is too large');
      chunks.push(chunk);
    }
    body = Buffer.concat(chunks);
  }
  if (Buffer.isBuffer(body)) body = body.toString('utf8');
  if (typeof body === 'string') {
    if (body.length > MAX_BODY_BYTES)
      throw new HttpError(413, 'MessageSizeTooBig', 'request body is too large');
    if (body.trim() === '') return {};
    try {
      body = JSON.parse(body);
    } catch {
      throw new HttpError(400, 'BadArgument', 'the body is not valid JSON');
    }
  }
  if (body === undefined || body === null) return {};
  if (!isObject(body)) throw new HttpError(400, 'BadArgument', 'the body must be a JSON object');
  return body;
}

/** Resolves with undefined when done, the error when it failed, or 'pending' when it takes longer than ms. */
async function settleWithin(promise: Promise<void>, ms: number): Promise<Error | 'pending' | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function errorSummary(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
