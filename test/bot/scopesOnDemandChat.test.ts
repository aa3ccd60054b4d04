// Scopes on demand (issue 11 point 5) in chat: a small dialog of this test runs an action, gets
// `missing-scopes`, begins the real AuthorizationDialog with `additionalScopes` and replays the action when
// it ends. Everything around it is real: the engine on a SQLite file, the OAuth routes on a restify server,
// the proactive resume, and the oidc-provider child process whose consent the test plays over HTTP
// (granting all, or unticking the new scope with the test server's partial-consent hook).
// botbuilder's TestAdapter stands in for the channel (ProactiveTestAdapter adds proactive turns).
import {
  ActivityHandler,
  ConversationState,
  type Activity,
  type StatePropertyAccessor,
  type TurnContext,
} from 'botbuilder';
import {
  DialogSet,
  DialogTurnStatus,
  WaterfallDialog,
  type DialogState,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import restify from 'restify';
import { registerOAuthRoutes } from '../../bot/web/oauthRoutes';
import { SigninResumer } from '../../bot/web/signinResumer';
import { StoreStorage } from '../../bot/web/storeStorage';
import {
  AuthorizationDialog,
  type AuthorizationDialogServices,
  type AuthorizationResult,
} from '../../dialogs/authorizationDialog';
import { SIGNIN_EVENT, userSubject } from '../../dialogs/dialogServices';
import { plainMessage } from '../../dialogs/inertText';
import { withConfirmation } from '../../dialogs/signinConfirmation';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { freePort, ProactiveTestAdapter, signinUrl, texts } from '../support/botHarness';
import { authorize, createHarness, serverProfile, type Harness } from '../support/engineHarness';
import type { Subject } from '../../profiles/subjects';
import { TICKETS_ACTION } from '../support/chatActions';

const CLIENT = {
  client_id: 'scopes-chat',
  client_secret: 'scopes-chat-secret-value-1',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const DEALS = 'crm.objects.deals.read';
const TICKETS = 'crm.objects.tickets.read';
// Needs DEALS (the profile's scope) and TICKETS (not granted at the first sign-in).

/**
 * The test's own minimal action dialog (the generic chat ActionDialog is written elsewhere): run the
 * action; on missing-scopes ask for them with AuthorizationDialog; when that ends, run it again.
 */
function actionDialog(
  services: AuthorizationDialogServices,
  id = 'tickets',
  returnConfirmation = false,
): WaterfallDialog {
  const run = async (step: WaterfallStepContext) => {
    const profile = await services.engine.getProfile('crm');
    return services.engine.runAction(profile, userSubject(step.context), 'tickets.list', {});
  };
  const report = async (
    step: WaterfallStepContext,
    outcome: Awaited<ReturnType<typeof run>>,
    confirmation?: string,
  ) => {
    const answer = outcome.ok
      ? `tickets: ${outcome.items.map((item) => String(item.values.subject)).join(', ')}`
      : `action failed (${outcome.code}): ${outcome.message}`;
    await step.context.sendActivity(withConfirmation(confirmation, plainMessage(answer)));
  };
  return new WaterfallDialog(id, [
    async (step) => {
      const outcome = await run(step);
      if (outcome.ok || outcome.code !== 'missing-scopes') {
        await report(step, outcome);
        return step.endDialog();
      }
      return step.beginDialog(AuthorizationDialog.id, {
        profileId: 'crm',
        additionalScopes: outcome.missingScopes,
        ...(returnConfirmation ? { returnConfirmation } : {}),
      });
    },
    async (step) => {
      const result = step.result as AuthorizationResult;
      lastResults.push(result);
      if (result.status !== 'authorized') {
        await step.context.sendActivity(`not run: ${result.status}`);
        return step.endDialog();
      }
      await report(step, await run(step), result.confirmation);
      return step.endDialog();
    },
  ]);
}

const lastResults: AuthorizationResult[] = [];

/** A dialog that asks for a scope nothing declares (what a chat user's text must never achieve). */
function escalationDialog(): WaterfallDialog {
  return new WaterfallDialog('escalate', [
    async (step) =>
      step.beginDialog(AuthorizationDialog.id, {
        profileId: 'crm',
        additionalScopes: ['crm.admin.everything'],
      }),
    async (step) => {
      lastResults.push(step.result as AuthorizationResult);
      return step.endDialog();
    },
  ]);
}

/** A dialog that passes the option as a string, as a JavaScript bot could by mistake. */
function badOptionDialog(): WaterfallDialog {
  return new WaterfallDialog('bad-option', [
    async (step) =>
      step.beginDialog(AuthorizationDialog.id, {
        profileId: 'crm',
        returnConfirmation: 'yes' as unknown as boolean,
      }),
  ]);
}

class TestBot extends ActivityHandler {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly dialogs: DialogSet;

  constructor(
    private readonly state: ConversationState,
    services: AuthorizationDialogServices,
  ) {
    super();
    this.dialogState = state.createProperty<DialogState>('dialogState');
    this.dialogs = new DialogSet(this.dialogState);
    this.dialogs.add(actionDialog(services));
    // The same dialog taking the sign-in's confirmation to send with its answer (returnConfirmation).
    this.dialogs.add(actionDialog(services, 'tickets-together', true));
    this.dialogs.add(escalationDialog());
    this.dialogs.add(badOptionDialog());
    this.dialogs.add(new AuthorizationDialog(services));
    const runDialogs = async (context: TurnContext, next: () => Promise<void>) => {
      const dc = await this.dialogs.createContext(context);
      const result = await dc.continueDialog();
      if (result.status === DialogTurnStatus.empty && context.activity.type === 'message') {
        const text = context.activity.text;
        await dc.beginDialog(
          text === 'escalate' || text === 'bad-option'
            ? text
            : text === 'tickets together'
              ? 'tickets-together'
              : 'tickets',
        );
      }
      await next();
    };
    this.onMessage(runDialogs);
    this.onEvent(async (context, next) => {
      if (context.activity.name === SIGNIN_EVENT) await runDialogs(context, async () => undefined);
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    await super.run(context);
    await this.state.saveChanges(context, false);
  }
}

let server: RunningAuthServer;
let api: HttpServer;
let harness: Harness;
let adapter: ProactiveTestAdapter;
let web: restify.Server;
let baseUrl: string;
const apiCalls: string[] = [];
let verification = false;

beforeAll(async () => {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = await startAuthServer({
    clients: [{ ...CLIENT, redirect_uris: [`${baseUrl}/oauth/callback/crm`] }],
    scopes: [DEALS, TICKETS],
  });
  api = createServer((req, res) => {
    apiCalls.push(req.headers.authorization ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ results: [{ subject: 'Printer on fire' }] }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  harness = await createHarness({
    profiles: [
      serverProfile(server, 'crm', CLIENT, {
        scopes: [DEALS],
        apiBaseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
        actions: [TICKETS_ACTION],
      }),
    ],
    publicUrl: baseUrl,
  });
  const services: AuthorizationDialogServices = {
    engine: harness.engine,
    requiresVerification: () => verification,
    signinTimeoutMs: 10 * 60_000,
    clock: harness.clock,
  };
  const bot = new TestBot(new ConversationState(new StoreStorage(harness.store.documents)), services);
  adapter = new ProactiveTestAdapter((context) => bot.run(context));
  const log = pino({ level: 'silent' });
  web = restify.createServer();
  registerOAuthRoutes(web, {
    engine: harness.engine,
    resumer: new SigninResumer(adapter, '', bot, log),
    publicUrl: baseUrl,
    log,
    adminResultUrl: (id, outcome) => `/admin/profiles/${id}?authorization=${outcome}`,
  });
  await new Promise<void>((resolve) => web.listen(port, '127.0.0.1', () => resolve()));
}, 60_000);

afterAll(async () => {
  web?.server.closeAllConnections();
  await new Promise<void>((resolve) => (web ? web.close(() => resolve()) : resolve()));
  await harness?.close();
  await new Promise((resolve) => api?.close(resolve));
  await server?.stop();
});

function drain(): Partial<Activity>[] {
  return adapter.activeQueue.splice(0, adapter.activeQueue.length);
}

async function say(userId: string, text: string): Promise<Partial<Activity>[]> {
  drain();
  await adapter.processActivity({
    ...adapter.makeActivity(),
    type: 'message',
    text,
    channelId: 'webchat',
    from: { id: userId, name: userId, role: 'user' },
    recipient: { id: 'bot', name: 'bot', role: 'bot' },
    conversation: { id: `conv-${userId}`, isGroup: false, conversationType: 'personal', name: '' },
    serviceUrl: 'https://test.invalid/',
  });
  return drain();
}

/**
 * The replies of the proactive turn the callback started: the route sends the page first and resumes
 * the conversation after, so they are collected until `until` is seen (or 5 s pass).
 */
async function resumedReplies(until: string): Promise<string> {
  const collected: Partial<Activity>[] = [];
  for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
    collected.push(...drain());
    if (texts(collected).join('\n').includes(until)) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return texts(collected).join('\n');
}

/** What a reader sees: zero-width spaces and markdown escapes (inert text) removed. */
function seen(replies: Partial<Activity>[]): string {
  const cards = replies.map((reply) => JSON.stringify(reply.attachments?.[0]?.content ?? ''));
  return [...texts(replies), ...cards]
    .join('\n')
    .replace(/\u200b/g, '')
    .replace(/\\\\/g, '');
}

/** The browser: open the start link, log in and consent (optionally unticking scopes), open the callback. */
async function consent(startUrl: string, declineScopes?: string[]): Promise<string> {
  const start = await fetch(startUrl, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const location = start.headers.get('location') as string;
  expect(new URL(location).searchParams.get('scope')).toBe(`${DEALS} ${TICKETS}`);
  const callback = await completeConsent(location, {
    login: 'alice',
    cookieJar: new CookieJar(),
    ...(declineScopes ? { declineScopes } : {}),
  });
  const page = await fetch(`${baseUrl}${callback.pathname}${callback.search}`, { headers: { cookie } });
  expect(page.status).toBe(200);
  return page.text();
}

function subject(userId: string): Subject {
  return { kind: 'user', channelId: 'webchat', userId };
}

test('missing scope → a sign-in card naming it although the token is valid → the callback resumes the dialog by itself → the action is replayed', async () => {
  verification = false;
  await authorize(harness, 'crm', subject('alice'));
  const profile = await harness.engine.catalog.get('crm');
  const before = await harness.engine.getToken(profile, subject('alice'));
  expect(before).toMatchObject({ ok: true, scopes: [DEALS] });

  const first = await say('alice', 'show my tickets');
  const startUrl = signinUrl(first);
  expect(startUrl).toMatch(new RegExp(`^${baseUrl}/oauth/start/req_`));
  expect(seen(first)).toContain(`To do that I need more access to Test crm: ${TICKETS}.`);
  expect(seen(first)).toContain('only this permission is new');
  // The permission is inert text in the card (a scope token may hold markdown characters).
  expect(JSON.stringify(first[0]?.attachments?.[0]?.content)).not.toContain(TICKETS);
  expect(apiCalls).toHaveLength(0);

  await consent(startUrl as string);
  const resumed = await resumedReplies('tickets:');
  expect(resumed).toContain("You're connected to Test crm.");
  expect(resumed).toContain('tickets: Printer on fire');
  const after = await harness.engine.getToken(profile, subject('alice'));
  expect(after.ok && [...after.scopes].sort()).toEqual([DEALS, TICKETS]);
  expect(after.ok && after.connectionId).toBe(before.ok && before.connectionId);
  expect(apiCalls).toEqual([`Bearer ${after.ok ? after.accessToken : ''}`]);
  expect(lastResults.at(-1)).toMatchObject({ status: 'authorized', scopes: [DEALS, TICKETS] });
  expect(lastResults.at(-1)).not.toHaveProperty('declinedScopes');
  // Used without returnConfirmation, the dialog sent the confirmation itself: nothing for the caller.
  expect(lastResults.at(-1)).not.toHaveProperty('confirmation');

  // Granted now: the action runs at once, no card.
  const again = await say('alice', 'show my tickets');
  expect(signinUrl(again)).toBeUndefined();
  expect(texts(again)).toEqual(['tickets: Printer on fire']);
}, 30_000);

test('the user unticks the new scope (verification code path): declined is named, the replay says "you declined"', async () => {
  verification = true;
  apiCalls.length = 0;
  await authorize(harness, 'crm', subject('bob'));

  const first = await say('bob', 'show my tickets');
  const html = await consent(signinUrl(first) as string, [TICKETS]);
  expect(await resumedReplies('Almost done')).toMatch(/Almost done: type the 6-digit code/);
  const code = /data-code="(\d{6})"/.exec(html)?.[1] as string;
  const done = seen(await say('bob', code));
  expect(done).toContain("You're connected to Test crm.");
  expect(done).toContain(`You did not allow ${TICKETS} at Test crm`);
  expect(done).toContain(
    `action failed (missing-scopes): "My tickets" needs access you declined when you last signed in to Test crm: ${TICKETS}`,
  );
  expect(lastResults.at(-1)).toMatchObject({
    status: 'authorized',
    scopes: [DEALS],
    declinedScopes: [TICKETS],
  });
  expect(apiCalls).toHaveLength(0);

  // Asked again: a new card; "cancel" ends the wait and the action is not run.
  const retry = await say('bob', 'show my tickets');
  expect(signinUrl(retry)).toBeDefined();
  const cancelled = texts(await say('bob', 'cancel')).join('\n');
  expect(cancelled).toContain('Okay, I cancelled the sign-in to Test crm.');
  expect(cancelled).toContain('not run: cancelled');
}, 30_000);

test('returnConfirmation: the dialog sends no confirmation, its result carries it, the caller sends it with its answer', async () => {
  verification = false;
  apiCalls.length = 0;
  await authorize(harness, 'crm', subject('carol'));
  const first = await say('carol', 'tickets together');
  const startUrl = signinUrl(first);
  expect(first).toHaveLength(1);
  await consent(startUrl as string);
  const collected: Partial<Activity>[] = [];
  for (const deadline = Date.now() + 5_000; Date.now() < deadline && collected.length === 0;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    collected.push(...drain());
  }
  // Let a second message, if one were sent, arrive too.
  await new Promise((resolve) => setTimeout(resolve, 100));
  collected.push(...drain());
  expect(collected.map((reply) => [reply.text, reply.textFormat])).toEqual([
    ["You're connected to Test crm. tickets: Printer on fire", 'plain'],
  ]);
  expect(lastResults.at(-1)).toMatchObject({
    status: 'authorized',
    confirmation: "You're connected to Test crm.",
  });
  // Declined scopes are part of the confirmation, as the dialog would have said them.
  await authorize(harness, 'crm', subject('dan'));
  const results = lastResults.length;
  const html = await consent(signinUrl(await say('dan', 'tickets together')) as string, [TICKETS]);
  expect(html).toMatch(/Connected to Test crm/);
  for (let i = 0; i < 250 && lastResults.length === results; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(texts(drain()).map((text) => text.replace(/\u200b/g, ''))).toEqual([
    `You're connected to Test crm. You did not allow ${TICKETS} at Test crm, so what needs it will not work until you sign in again and allow it. action failed (missing-scopes): "My tickets" needs access you declined when you last signed in to Test crm: ${TICKETS}. Sign in again and allow it to use this`,
  ]);
  expect(lastResults.at(-1)).toMatchObject({ declinedScopes: [TICKETS] });
}, 30_000);

test('returnConfirmation that is not a boolean is refused with an error naming it', async () => {
  await expect(say('mallory', 'bad-option')).rejects.toThrow(
    'AuthorizationDialog option returnConfirmation must be true or false',
  );
});

test('a scope no action declares is not asked for: no card, no request, the dialog ends unavailable (SECURITY.md #64)', async () => {
  await authorize(harness, 'crm', subject('mallory'));
  const requests = async () =>
    (await harness.store.audit.list({ limit: 1000 })).filter((e) => e.action === 'authorization.requested')
      .length;
  const before = await requests();
  const replies = await say('mallory', 'escalate');
  expect(signinUrl(replies)).toBeUndefined();
  expect(texts(replies)).toEqual(["I can't ask Test crm for that access: Please ask an administrator."]);
  expect(lastResults.at(-1)).toEqual({ status: 'unavailable', profileId: 'crm' });
  expect(await requests()).toBe(before);
}, 30_000);
