import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'restify';
import {
  BOT,
  CHANNEL_ID,
  errorSummary,
  HttpError,
  issueToken,
  type Activity,
  type Conversation,
  type Member,
} from './directLineParts';

// What Direct Line reports; DirectLineJS refreshes at half of it. We really expire on idleness instead.
const TOKEN_LIFETIME_SECONDS = 1800;
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

export interface DirectLineLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

/**
 * The local Direct Line's memory: conversations (bounded, least recently active first, forgotten when
 * idle) with their tokens and transcripts, and the chained delivery of activities to the bot.
 */
export class Conversations {
  // Map order is least-recently-active first (touch() re-inserts), so eviction and expiry read from the front.
  readonly byId = new Map<string, Conversation>();
  private readonly idByToken = new Map<string, string>();
  private readonly closing = new AbortController();
  private readonly sweep: NodeJS.Timeout;
  closed = false;

  constructor(
    readonly limits: LocalDirectLineLimits,
    readonly log: DirectLineLog,
    /** The serviceUrl the bot sees on activities from this channel. */
    readonly serviceUrl: string,
    /** The bot's messaging endpoint; activities are POSTed to it. */
    private readonly botEndpoint: string,
  ) {
    this.sweep = setInterval(() => this.expireIdle(), Math.min(limits.idleMs, 60_000));
    this.sweep.unref();
  }

  expireIdle(): void {
    const cutoff = Date.now() - this.limits.idleMs;
    for (const conversation of this.byId.values()) {
      if (conversation.lastActiveAt > cutoff) break;
      this.forget(conversation);
    }
  }

  private forget(conversation: Conversation): void {
    this.byId.delete(conversation.id);
    this.idByToken.delete(conversation.token);
  }

  touch(conversation: Conversation): void {
    conversation.lastActiveAt = Date.now();
    this.byId.delete(conversation.id);
    this.byId.set(conversation.id, conversation);
  }

  byToken(token: string): Conversation | undefined {
    const conversationId = this.idByToken.get(token);
    return conversationId === undefined ? undefined : this.byId.get(conversationId);
  }

  create(user: Member | undefined): Conversation {
    this.expireIdle();
    while (this.byId.size >= this.limits.maxConversations) {
      const oldest = this.byId.values().next().value;
      if (!oldest) break;
      this.log.info({ conversationId: oldest.id }, 'local Direct Line: conversation evicted (limit reached)');
      this.forget(oldest);
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
    this.byId.set(id, conversation);
    this.idByToken.set(conversation.token, id);
    return conversation;
  }

  // Ids look like the real service's ("<conversation>|0000001") and replies point at them with replyToId.
  nextId(conversation: Conversation): string {
    conversation.seq += 1;
    return `${conversation.id}|${String(conversation.seq).padStart(7, '0')}`;
  }

  // Web Chat orders the transcript by timestamp (ms), so two activities must never share one.
  nextTimestamp(conversation: Conversation): string {
    conversation.lastTimestamp = Math.max(Date.now(), conversation.lastTimestamp + 1);
    return new Date(conversation.lastTimestamp).toISOString();
  }

  store(conversation: Conversation, activity: Activity): void {
    const bytes = Buffer.byteLength(JSON.stringify(activity));
    if (bytes > this.limits.maxBytesPerConversation) {
      throw new HttpError(413, 'MessageSizeTooBig', 'activity is too large');
    }
    conversation.activities.push({ seq: conversation.seq, bytes, activity });
    conversation.bytes += bytes;
    while (
      conversation.activities.length > this.limits.maxActivitiesPerConversation ||
      conversation.bytes > this.limits.maxBytesPerConversation
    ) {
      const dropped = conversation.activities.shift();
      if (!dropped) break;
      conversation.bytes -= dropped.bytes;
    }
  }

  resource(conversation: Conversation): object {
    return { conversationId: conversation.id, token: conversation.token, expires_in: TOKEN_LIFETIME_SECONDS };
  }

  // ---- delivery to the bot, as a channel would ----

  private async postToBot(activity: Activity): Promise<void> {
    const response = await fetch(this.botEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...activity, serviceUrl: this.serviceUrl, recipient: BOT }),
      signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(BOT_DELIVERY_ABORT_MS)]),
    });
    await response.arrayBuffer();
    if (!response.ok) {
      // 401 here means the bot has a MicrosoftAppId: this channel cannot authenticate, leave it empty in dev.
      throw new HttpError(502, 'BotError', `the bot answered HTTP ${response.status}`);
    }
  }

  deliver(conversation: Conversation, activity: Activity): Promise<void> {
    const delivery = conversation.deliveries.then(() => this.postToBot(activity));
    conversation.deliveries = delivery.catch(() => undefined);
    delivery.catch((error: unknown) => {
      if (this.closed) return;
      this.log.warn(
        { conversationId: conversation.id, activityType: activity.type, error: errorSummary(error) },
        'local Direct Line: the bot did not accept an activity',
      );
    });
    return delivery;
  }

  // Real Direct Line tells the bot who joined so it can greet; when the user is not known yet we wait
  // for the first activity, which names them.
  announceUser(conversation: Conversation): void {
    if (conversation.userAnnounced || !conversation.user) return;
    conversation.userAnnounced = true;
    void this.deliver(conversation, {
      type: 'conversationUpdate',
      id: this.nextId(conversation),
      timestamp: this.nextTimestamp(conversation),
      channelId: CHANNEL_ID,
      conversation: { id: conversation.id },
      from: conversation.user,
      membersAdded: [BOT, conversation.user],
    }).catch(() => undefined);
  }

  /** A route handler that answers HttpErrors as Direct Line errors, and 503 once closed. */
  route(handler: (req: Request, res: Response) => Promise<void> | void) {
    return async (req: Request, res: Response): Promise<void> => {
      res.setHeader('Cache-Control', 'no-store');
      try {
        if (this.closed) throw new HttpError(503, 'ServiceUnavailable', 'the local Direct Line is closed');
        await handler(req, res);
      } catch (error) {
        if (error instanceof HttpError) {
          res.send(error.status, { error: { code: error.code, message: error.message } });
          return;
        }
        this.log.warn(
          { path: req.getPath(), error: errorSummary(error) },
          'local Direct Line: request failed',
        );
        res.send(500, { error: { code: 'ServiceError', message: 'internal error' } });
      }
    };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweep);
    this.closing.abort();
    this.byId.clear();
    this.idByToken.clear();
  }
}
