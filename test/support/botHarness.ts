// The bot wired as in production — MainDialog, ConversationState on the real store, the OAuth routes
// on a real restify server — with botbuilder's TestAdapter standing in for a channel. TestAdapter
// lacks continueConversationAsync (FACTS), so ProactiveTestAdapter adds it.
import {
  ConversationState,
  TestAdapter,
  TurnContext,
  type Activity,
  type ConversationParameters,
  type ConversationReference,
} from 'botbuilder';

import restify from 'restify';
import pino from 'pino';
import { AuthProfilesBot } from '../../bot/web/authProfilesBot';
import { registerOAuthRoutes } from '../../bot/web/oauthRoutes';
import { SigninResumer } from '../../bot/web/signinResumer';
import { StoreStorage } from '../../bot/web/storeStorage';
import type { DialogServices } from '../../dialogs/dialogServices';
import { MainDialog } from '../../dialogs/mainDialog';
import type { Harness } from './engineHarness';

export class ProactiveTestAdapter extends TestAdapter {
  private failuresToFake = 0;

  /**
   * Fake: the next proactive turn is refused before it runs, as when the channel rejects the message or
   * the instance that received the callback dies. Only this failure is faked; the turn itself is real.
   */
  failNextProactiveTurn(): void {
    this.failuresToFake += 1;
  }

  /** Personal chats the bot opened with createConversationAsync, with what it sent into each. */
  readonly createdConversations: {
    botAppId: string;
    channelId: string;
    parameters: ConversationParameters;
    activities: Partial<Activity>[];
  }[] = [];
  private refuseConversations = 0;

  /** Fake: the next createConversationAsync is refused, as when the user never installed the app. */
  refuseNextConversation(): void {
    this.refuseConversations += 1;
  }

  // BotAdapter's version throws "not implemented"; this one records the new conversation and runs the
  // logic with a context whose sends land in `createdConversations`, not in the group's queue.
  override async createConversationAsync(
    botAppId: string,
    channelId: string,
    serviceUrl: string,
    _audience: string,
    parameters: ConversationParameters,
    logic: (context: TurnContext) => Promise<void>,
  ): Promise<void> {
    if (this.refuseConversations > 0) {
      this.refuseConversations -= 1;
      throw new Error('fake: the channel refused to create the conversation');
    }
    const record = { botAppId, channelId, parameters, activities: [] as Partial<Activity>[] };
    this.createdConversations.push(record);
    const context = new TurnContext(
      this as never,
      {
        type: 'event',
        name: 'CreateConversation',
        channelId,
        serviceUrl,
        conversation: {
          id: `personal-${this.createdConversations.length}`,
          isGroup: false,
          name: '',
          conversationType: 'personal',
        },
        from: parameters.members?.[0],
        recipient: parameters.bot,
      } as Activity,
    );
    context.onSendActivities(async (_ctx, activities) => {
      record.activities.push(...activities);
      return activities.map(() => ({ id: 'sent' }));
    });
    await logic(context);
  }

  // BotAdapter's version throws "not implemented"; this one runs the turn in-process.
  override async continueConversationAsync(
    _botAppIdOrIdentity: unknown,
    reference: Partial<ConversationReference>,
    logicOrAudience: unknown,
    maybeLogic?: (context: TurnContext) => Promise<void>,
  ): Promise<void> {
    if (this.failuresToFake > 0) {
      this.failuresToFake -= 1;
      throw new Error('fake: the channel refused the proactive message');
    }
    const logic = (typeof logicOrAudience === 'function' ? logicOrAudience : maybeLogic) as (
      context: TurnContext,
    ) => Promise<void>;
    const activity = TurnContext.applyConversationReference(
      { type: 'event', name: 'ContinueConversation' },
      reference,
      true,
    );
    const context = new TurnContext(this as never, activity);
    await this.runMiddleware(context, logic);
  }
}

export { freePort } from './freePort';

export interface ActivityTarget {
  userId?: string;
  channelId?: string;
  conversationId?: string;
  /** Fields laid over the activity last (Teams-shaped conversation, channelData, entities, from). */
  activity?: Partial<Activity>;
}

export interface BotHarness {
  adapter: ProactiveTestAdapter;
  bot: AuthProfilesBot;
  resumer: SigninResumer;
  baseUrl: string;
  /** Sends one activity as the given user (default alice on webchat) and returns the bot's replies. */
  say(text: string, options?: ActivityTarget): Promise<Partial<Activity>[]>;
  invoke(name: string, value: unknown, options?: ActivityTarget): Promise<Partial<Activity>[]>;
  /** Replies that arrived proactively since the last call. */
  drain(): Partial<Activity>[];
  close(): Promise<void>;
}

export async function createBotHarness(
  harness: Harness,
  options: { port: number; crmProfileId?: string; verificationOff?: string[]; signinTimeoutMs?: number },
): Promise<BotHarness> {
  const log = pino({ level: 'silent' });
  const services: DialogServices = {
    engine: harness.engine,
    requiresVerification: (channelId) => !(options.verificationOff ?? []).includes(channelId),
    signinTimeoutMs: options.signinTimeoutMs ?? 10 * 60_000,
    crmProfileId: options.crmProfileId ?? 'crm',
    clock: harness.clock,
  };
  const conversationState = new ConversationState(new StoreStorage(harness.store.documents));
  const bot = new AuthProfilesBot(conversationState, new MainDialog(services));
  const adapter = new ProactiveTestAdapter((context) => bot.run(context));
  const resumer = new SigninResumer(adapter, '', bot, log);
  const server = restify.createServer();
  registerOAuthRoutes(server, {
    engine: harness.engine,
    resumer,
    publicUrl: harness.context.publicUrl,
    log,
    adminResultUrl: (id, outcome) => `/admin/profiles/${id}?authorization=${outcome}`,
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', () => resolve()));

  const activity = (fields: Partial<Activity>, target: ActivityTarget = {}): Partial<Activity> => ({
    ...adapter.makeActivity(),
    channelId: target.channelId ?? 'webchat',
    from: { id: target.userId ?? 'alice', name: target.userId ?? 'alice', role: 'user' },
    recipient: { id: 'bot', name: 'bot', role: 'bot' },
    conversation: {
      id: target.conversationId ?? `conv-${target.userId ?? 'alice'}`,
      isGroup: false,
      conversationType: 'personal',
      name: '',
    },
    serviceUrl: 'https://test.invalid/',
    ...fields,
    ...target.activity,
  });
  const drain = () => adapter.activeQueue.splice(0, adapter.activeQueue.length);
  return {
    adapter,
    bot,
    resumer,
    baseUrl: `http://127.0.0.1:${options.port}`,
    async say(text, target) {
      drain();
      await adapter.processActivity(activity({ type: 'message', text }, target));
      return drain();
    },
    async invoke(name, value, target) {
      drain();
      await adapter.processActivity(activity({ type: 'invoke', name, value }, target));
      return drain();
    },
    drain,
    async close() {
      server.server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The start URL in a sign-in card. */
export function signinUrl(replies: Partial<Activity>[]): string | undefined {
  for (const reply of replies) {
    const button = (reply.attachments?.[0]?.content as { buttons?: { value?: string }[] } | undefined)
      ?.buttons?.[0];
    if (button?.value?.includes('/oauth/start/')) return button.value;
  }
  return undefined;
}

export function texts(replies: Partial<Activity>[]): string[] {
  return replies.map((reply) => reply.text ?? '').filter(Boolean);
}
