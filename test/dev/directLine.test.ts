// The dev-mode local channel: Web Chat at `/` over a local Direct Line 3.0 on the same restify server,
// exercised with a real botbuilder CloudAdapter (no app id, as in local dev) and, where Chromium exists,
// a real browser.
import type { AddressInfo } from 'node:net';

import {
  ActivityHandler,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  TurnContext,
  type Activity,
} from 'botbuilder';
import type { Browser } from 'playwright-core';
import * as restify from 'restify';

import {
  registerLocalDirectLine,
  type LocalDirectLine,
  type LocalDirectLineLimits,
} from '../../bot/dev/directLine/localDirectLine';
import { registerWebChat } from '../../bot/dev/webChat';
import {
  browserUnavailableReason,
  launchBrowser,
  openWebChat,
  sendFailures,
  sendMessage,
  waitForBotText,
} from '../support/webChatDriver';

const BOT_NAME = 'Echo <b>"&\'';

interface Stack {
  baseUrl: string;
  adapter: CloudAdapter;
  directLine: LocalDirectLine;
  /** Every activity the bot received, in order. */
  received: Partial<Activity>[];
  warnings: string[];
  close(): Promise<void>;
}

// A test-only echo bot: greets whoever joins and echoes messages.
function echoBot(received: Partial<Activity>[]): ActivityHandler {
  const bot = new ActivityHandler();
  bot.onTurn(async (context, next) => {
    received.push(context.activity);
    await next();
  });
  bot.onMembersAdded(async (context, next) => {
    for (const member of context.activity.membersAdded ?? []) {
      if (member.id !== context.activity.recipient.id) await context.sendActivity(`welcome, ${member.id}`);
    }
    await next();
  });
  bot.onMessage(async (context, next) => {
    await context.sendActivity(`echo: ${context.activity.text ?? ''}`);
    await next();
  });
  return bot;
}

interface StackOptions {
  limits?: Partial<LocalDirectLineLimits>;
  botEndpoint?: string;
  /** 'bot-only' leaves the Direct Line routes to read their own bodies. */
  bodyParser?: 'global' | 'bot-only';
}

async function startStack(options: StackOptions = {}): Promise<Stack> {
  const received: Partial<Activity>[] = [];
  const warnings: string[] = [];
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  adapter.onTurnError = async (_context, error) => {
    warnings.push(`turn error: ${String(error)}`);
  };
  const bot = echoBot(received);
  const server = restify.createServer({ handleUncaughtExceptions: false });
  const parseBody = restify.plugins.bodyParser();
  if (options.bodyParser !== 'bot-only') server.use(parseBody);
  server.post('/api/messages', options.bodyParser === 'bot-only' ? parseBody : [], async (req, res) => {
    await adapter.process(req, res, (context) => bot.run(context));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const log = {
    info: () => undefined,
    warn: (o: object, m: string) => warnings.push(`${m} ${JSON.stringify(o)}`),
  };
  const directLine = registerLocalDirectLine(server, {
    publicUrl: baseUrl,
    botEndpoint: options.botEndpoint ?? `${baseUrl}/api/messages`,
    log,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  registerWebChat(server, { publicUrl: baseUrl, botName: BOT_NAME });
  return {
    baseUrl,
    adapter,
    directLine,
    received,
    warnings,
    async close() {
      directLine.close();
      server.server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Conversation {
  conversationId: string;
  token: string;
  expires_in: number;
  streamUrl?: string;
}

type Json = Record<string, unknown>;

async function call(
  stack: Stack,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: {
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function startConversation(stack: Stack, body?: unknown): Promise<Conversation> {
  const { status, body: conversation } = await call(stack, 'POST', '/v3/directline/conversations', { body });
  expect(status).toBe(201);
  return conversation as unknown as Conversation;
}

function activitiesPath(conversation: Conversation, watermark?: string): string {
  const query = watermark === undefined ? '' : `?watermark=${watermark}`;
  return `/v3/directline/conversations/${conversation.conversationId}/activities${query}`;
}

async function poll(stack: Stack, conversation: Conversation, watermark?: string) {
  const { status, body } = await call(stack, 'GET', activitiesPath(conversation, watermark), {
    token: conversation.token,
  });
  expect(status).toBe(200);
  return body as { activities: Json[]; watermark: string };
}

/** Polls like Web Chat until an activity satisfies found, or fails after timeoutMs. */
async function pollUntil(
  stack: Stack,
  conversation: Conversation,
  found: (a: Json) => boolean,
  timeoutMs = 5000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { activities } = await poll(stack, conversation);
    const hit = activities.find(found);
    if (hit) return { hit, activities };
    if (Date.now() > deadline) throw new Error(`not found in ${JSON.stringify(activities)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function message(text: string, clientActivityID: string, fromId = 'user-1'): Json {
  return { type: 'message', text, from: { id: fromId, name: 'Ursula' }, channelData: { clientActivityID } };
}

describe('local Direct Line, REST', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  test('starting a conversation returns its id and a random token, and no stream URL', async () => {
    const first = await startConversation(stack);
    const second = await startConversation(stack);
    expect(first.conversationId).toMatch(/^[\w-]{16,}$/);
    expect(first.token).not.toBe(second.token);
    expect(first.conversationId).not.toBe(second.conversationId);
    expect(first.expires_in).toBe(1800);
    expect(first.streamUrl).toBeUndefined();
  });

  test('the user activity comes back with its clientActivityID, and the bot replies to it', async () => {
    const conversation = await startConversation(stack);
    const posted = await call(stack, 'POST', activitiesPath(conversation), {
      token: conversation.token,
      body: message('hi', 'client-1'),
    });
    expect(posted.status).toBe(200);
    const { hit: reply, activities } = await pollUntil(stack, conversation, (a) => a.text === 'echo: hi');
    const echo = activities.find((a) => (a.channelData as Json | undefined)?.clientActivityID === 'client-1');
    expect(echo).toMatchObject({
      id: posted.body.id,
      type: 'message',
      text: 'hi',
      from: { id: 'user-1', name: 'Ursula', role: 'user' },
      conversation: { id: conversation.conversationId },
    });
    expect(Date.parse(String(echo?.timestamp))).not.toBeNaN();
    expect(reply).toMatchObject({ replyToId: posted.body.id, from: { id: 'bot', role: 'bot' } });
    expect(Date.parse(String(reply.timestamp))).toBeGreaterThan(Date.parse(String(echo?.timestamp)));
  });

  test('the bot receives activities as from a channel, with a serviceUrl back to this server', async () => {
    const conversation = await startConversation(stack);
    await call(stack, 'POST', activitiesPath(conversation), {
      token: conversation.token,
      body: message('x', 'c-x'),
    });
    const delivered = stack.received.filter((a) => a.conversation?.id === conversation.conversationId);
    expect(delivered.map((a) => a.type)).toEqual(['conversationUpdate', 'message']);
    expect(delivered[0]?.membersAdded).toEqual([
      { id: 'bot', role: 'bot' },
      { id: 'user-1', name: 'Ursula', role: 'user' },
    ]);
    expect(delivered[1]).toMatchObject({
      channelId: 'webchat',
      serviceUrl: `${stack.baseUrl}/v3/directline/connector`,
      recipient: { id: 'bot', role: 'bot' },
      from: { id: 'user-1', role: 'user' },
      text: 'x',
    });
  });

  test('a watermark returns only newer activities', async () => {
    const conversation = await startConversation(stack);
    await call(stack, 'POST', activitiesPath(conversation), {
      token: conversation.token,
      body: message('one', 'c1'),
    });
    await pollUntil(stack, conversation, (a) => a.text === 'echo: one');
    const { watermark } = await poll(stack, conversation);
    await call(stack, 'POST', activitiesPath(conversation), {
      token: conversation.token,
      body: message('two', 'c2'),
    });
    await pollUntil(stack, conversation, (a) => a.text === 'echo: two');
    const newer = await poll(stack, conversation, watermark);
    expect(newer.activities.map((a) => a.text)).toEqual(['two', 'echo: two']);
    expect(Number(newer.watermark)).toBeGreaterThan(Number(watermark));
  });

  test("another conversation's token is refused with 403, a missing one with 401", async () => {
    const mine = await startConversation(stack);
    const theirs = await startConversation(stack);
    const read = await call(stack, 'GET', activitiesPath(mine), { token: theirs.token });
    const write = await call(stack, 'POST', activitiesPath(mine), {
      token: theirs.token,
      body: message('x', 'c'),
    });
    const reconnect = await call(stack, 'GET', `/v3/directline/conversations/${mine.conversationId}`, {
      token: theirs.token,
    });
    const forged = await call(stack, 'GET', activitiesPath(mine), { token: `${mine.token}x` });
    const none = await call(stack, 'GET', activitiesPath(mine));
    expect([read.status, write.status, reconnect.status, forged.status, none.status]).toEqual([
      403, 403, 403, 403, 401,
    ]);
    expect(JSON.stringify(read.body)).not.toContain(mine.token);
  });

  test('a token generated for a user carries it, and the user id in activities cannot be spoofed', async () => {
    const user = { id: 'dl_3c9f1b1e-5a86-4b7e-9f44-8d6a7b2d0c11', name: 'Dana' };
    const generated = await call(stack, 'POST', '/v3/directline/tokens/generate', { body: { user } });
    expect(generated.status).toBe(200);
    const conversation = generated.body as unknown as Conversation;
    const claims = JSON.parse(
      Buffer.from(conversation.token.split('.')[1] ?? '', 'base64url').toString(),
    ) as Json;
    expect(claims.user).toBe(user.id);
    const started = await call(stack, 'POST', '/v3/directline/conversations', { token: conversation.token });
    expect(started.body.conversationId).toBe(conversation.conversationId);
    await call(stack, 'POST', activitiesPath(conversation), {
      token: conversation.token,
      body: message('hi', 'c-spoof', 'dl_someone-else'),
    });
    const { activities } = await pollUntil(stack, conversation, (a) => a.text === 'echo: hi');
    expect(activities.find((a) => a.text === 'hi')?.from).toEqual({
      id: user.id,
      name: 'Ursula',
      role: 'user',
    });
    // The bot sees the greeting's conversationUpdate first: deliveries are serialized per conversation.
    const texts = activities.map((a) => a.text);
    expect(texts.filter((t) => t !== 'hi')).toEqual([`welcome, ${user.id}`, 'echo: hi']);
  });

  test('refreshing a token keeps the conversation', async () => {
    const conversation = await startConversation(stack);
    const refreshed = await call(stack, 'POST', '/v3/directline/tokens/refresh', {
      token: conversation.token,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual(conversation);
  });

  test('bad activities are refused with a 400 that names the field', async () => {
    const conversation = await startConversation(stack);
    const noType = await call(stack, 'POST', activitiesPath(conversation), {
      token: conversation.token,
      body: {},
    });
    const noUser = await call(stack, 'POST', activitiesPath(conversation), {
      token: conversation.token,
      body: { type: 'message', text: 'x' },
    });
    expect([noType.status, noUser.status]).toEqual([400, 400]);
    expect(JSON.stringify(noType.body)).toContain('type');
    expect(JSON.stringify(noUser.body)).toContain('from.id');
  });

  test('the bot can send, update and delete activities and list members on serviceUrl', async () => {
    const conversation = await startConversation(stack);
    await call(stack, 'POST', activitiesPath(conversation), {
      token: conversation.token,
      body: message('a', 'c-a'),
    });
    const connector = `/v3/directline/connector/v3/conversations/${conversation.conversationId}`;
    const sent = await call(stack, 'POST', `${connector}/activities`, {
      body: { type: 'message', text: 'draft' },
    });
    const { watermark } = await poll(stack, conversation);
    const updated = await call(
      stack,
      'PUT',
      `${connector}/activities/${encodeURIComponent(String(sent.body.id))}`,
      {
        body: { type: 'message', text: 'final' },
      },
    );
    expect(updated.body.id).toBe(sent.body.id);
    const after = await poll(stack, conversation, watermark);
    expect(after.activities).toEqual([expect.objectContaining({ id: sent.body.id, text: 'final' })]);
    const members = await call(stack, 'GET', `${connector}/members`);
    expect(members.body).toEqual([
      { id: 'bot', role: 'bot' },
      { id: 'user-1', name: 'Ursula', role: 'user' },
    ]);
    await call(stack, 'DELETE', `${connector}/activities/${encodeURIComponent(String(sent.body.id))}`);
    const { activities } = await poll(stack, conversation);
    expect(activities.map((a) => a.text)).not.toContain('final');
    const unknown = await call(stack, 'POST', '/v3/directline/connector/v3/conversations/nope/activities', {
      body: { type: 'message', text: 'x' },
    });
    expect(unknown.status).toBe(404);
  });

  test('a proactive message (continueConversationAsync with an empty app id) reaches the transcript', async () => {
    const conversation = await startConversation(stack);
    await call(stack, 'POST', activitiesPath(conversation), {
      token: conversation.token,
      body: message('p', 'c-p'),
    });
    const incoming = stack.received.find(
      (a) => a.conversation?.id === conversation.conversationId && a.text === 'p',
    );
    const reference = TurnContext.getConversationReference(incoming!);
    await stack.adapter.continueConversationAsync('', reference, async (context) => {
      await context.sendActivity('later');
    });
    const { hit } = await pollUntil(stack, conversation, (a) => a.text === 'later');
    expect(hit.from).toEqual({ id: 'bot', role: 'bot' });
  });

  test('no warnings were logged by the happy paths above', () => {
    expect(stack.warnings).toEqual([]);
  });
});

describe('local Direct Line, bounds', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      limits: { maxConversations: 3, maxActivitiesPerConversation: 4 },
      bodyParser: 'bot-only',
    });
  });
  afterAll(() => stack.close());

  test('a conversation keeps only its newest activities', async () => {
    const conversation = await startConversation(stack);
    for (const text of ['1', '2', '3']) {
      await call(stack, 'POST', activitiesPath(conversation), {
        token: conversation.token,
        body: message(text, text),
      });
    }
    await pollUntil(stack, conversation, (a) => a.text === 'echo: 3');
    const { activities } = await poll(stack, conversation);
    expect(activities.map((a) => a.text)).toEqual(['2', 'echo: 2', '3', 'echo: 3']);
  });

  test('past the conversation limit the least recently active one is forgotten, with its token', async () => {
    const oldest = await startConversation(stack);
    const kept = [await startConversation(stack), await startConversation(stack)];
    await poll(stack, kept[0]!);
    await startConversation(stack);
    expect(stack.directLine.conversations).toBe(3);
    const gone = await call(stack, 'GET', activitiesPath(oldest), { token: oldest.token });
    expect(gone.status).toBe(403);
    expect((await call(stack, 'GET', activitiesPath(kept[0]!), { token: kept[0]!.token })).status).toBe(200);
  });
});

describe('local Direct Line, bot unreachable', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    stack = await startStack({ botEndpoint: 'http://127.0.0.1:9/api/messages' });
  });
  afterAll(() => stack.close());

  test('the client gets 502 and the echo, and the failure is logged without the token', async () => {
    const conversation = await startConversation(stack);
    const posted = await call(stack, 'POST', activitiesPath(conversation), {
      token: conversation.token,
      body: message('anyone?', 'c-down'),
    });
    expect(posted.status).toBe(502);
    expect(posted.body).toEqual({
      error: { code: 'BotError', message: 'the bot did not accept the activity' },
    });
    const { activities } = await poll(stack, conversation);
    expect(activities.map((a) => a.text)).toEqual(['anyone?']);
    expect(stack.warnings.join('\n')).toMatch(/the bot did not accept an activity/);
    expect(stack.warnings.join('\n')).not.toContain(conversation.token);
  });
});

describe('Web Chat page', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  test('is served with a strict CSP, nosniff, and the bot name escaped', async () => {
    const response = await fetch(`${stack.baseUrl}/`);
    const html = await response.text();
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self' 'nonce-[\w+/=]+'(;|$)/);
    expect(csp).not.toMatch(/unsafe-(inline|eval)/);
    expect(html).toContain('Echo &lt;b&gt;&quot;&amp;&#x27;');
    expect(html).not.toContain('<b>"');
    expect(html).not.toMatch(/src="(https?:)?\/\//);
  });

  test('serves Web Chat from this server, cacheable and revalidatable', async () => {
    const html = await (await fetch(`${stack.baseUrl}/`)).text();
    const src = /<script src="([^"]+)"/.exec(html)?.[1] ?? '';
    const response = await fetch(new URL(src, `${stack.baseUrl}/`));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toContain('max-age=');
    expect((await response.text()).length).toBeGreaterThan(1_000_000);
    const again = await fetch(new URL(src, `${stack.baseUrl}/`), {
      headers: { 'If-None-Match': response.headers.get('etag') ?? '' },
    });
    expect(again.status).toBe(304);
  });
});

const noBrowser = browserUnavailableReason();
if (noBrowser) console.log(noBrowser);
const browserTest = noBrowser ? test.skip : test;

describe('Web Chat in Chromium', () => {
  let stack: Stack;
  let browser: Browser | undefined;
  beforeAll(async () => {
    stack = await startStack();
    if (!noBrowser) browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await stack.close();
  });

  browserTest(
    'a message typed in Web Chat gets the bot reply, with no send failure and no CSP violation',
    async () => {
      const context = await browser!.newContext();
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(msg.text());
      });
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (event) => {
          console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
        });
      });
      await openWebChat(page, stack.baseUrl);
      await sendMessage(page, 'hello');
      expect(await waitForBotText(page, /^echo: hello$/, 10_000)).toBe('echo: hello');
      expect(await sendFailures(page)).toBe(0);
      expect(problems).toEqual([]);
      await context.close();
    },
  );

  browserTest('the same browser is the same "dl_" user after a reload', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    await openWebChat(page, stack.baseUrl);
    const before = await waitForBotText(page, /^welcome, dl_[0-9a-f-]{36}$/);
    await page.reload();
    await openWebChat(page, stack.baseUrl);
    const after = await waitForBotText(page, /^welcome, dl_[0-9a-f-]{36}$/);
    await sendMessage(page, 'again');
    await waitForBotText(page, /^echo: again$/);
    const userId = before.slice('welcome, '.length);
    expect(after).toBe(before);
    expect(stack.received.filter((a) => a.text === 'again').map((a) => a.from?.id)).toEqual([userId]);
    await context.close();
  });
});
