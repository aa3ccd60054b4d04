// Talks to a running service (test/support/serviceProcess.ts) as a chat user and as a browser: posts
// activities to its /api/messages as Web Chat would (dev mode: unauthenticated from loopback) and
// catches the bot's replies at the serviceUrl of a FAKE channel (test/support/fakeBotChannel.ts, Azure
// Bot Service's side, which cannot run here); opens sign-in links with a cookie jar, the way a browser
// keeps the service's binding cookie between the start link and the callback.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Activity } from 'botbuilder';
import { openTokens } from '../../profiles/connections';
import { KeyRing, parseEncryptionKeys } from '../../profiles/encryption';
import type { EngineContext } from '../../profiles/engineContext';
import { SqliteStore } from '../../profiles/store/sqliteStore';
import { CookieJar } from './browserlessConsent';
import { startFakeBotChannel, type FakeBotChannel } from './fakeBotChannel';
import type { RunningService } from './serviceProcess';

export interface ServiceChat {
  /** Every reply the bot sent in this conversation, in order. */
  replies: Partial<Activity>[];
  /** Says `text`; resolves with the replies that came since, once `until` holds for them. */
  say(text: string, until?: (replies: Partial<Activity>[]) => boolean): Promise<Partial<Activity>[]>;
  /** Submits a card's data (a message with `value` and no text), as Web Chat does for Action.Submit. */
  submit(value: unknown, until?: (replies: Partial<Activity>[]) => boolean): Promise<Partial<Activity>[]>;
  close(): Promise<void>;
}

export async function chatWith(
  service: RunningService,
  user: { id: string; name: string },
): Promise<ServiceChat> {
  const channel: FakeBotChannel = await startFakeBotChannel(['webchat']);
  const conversation = { id: `conv-${user.id}-${randomBytes(4).toString('hex')}` };
  const post = async (fields: { text?: string; value?: unknown }): Promise<void> => {
    const response = await fetch(`${service.baseUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        id: `act-${randomBytes(6).toString('hex')}`,
        timestamp: new Date().toISOString(),
        channelId: 'webchat',
        serviceUrl: channel.serviceUrl,
        from: user,
        recipient: { id: 'bot', name: 'Bot' },
        conversation,
        ...fields,
      }),
    });
    const body = await response.text();
    if (response.status !== 200 && response.status !== 201) {
      throw new Error(`/api/messages answered ${response.status}: ${body.slice(0, 300)}`);
    }
  };
  const exchange = async (
    fields: { text?: string; value?: unknown },
    until: (replies: Partial<Activity>[]) => boolean,
  ): Promise<Partial<Activity>[]> => {
    const before = channel.replies.length;
    await post(fields);
    return waitFor(
      () => {
        const replies = channel.replies.slice(before);
        return until(replies) ? replies : undefined;
      },
      `replies to ${JSON.stringify(fields)}`,
    );
  };
  const any = (replies: Partial<Activity>[]): boolean => replies.length > 0;
  return {
    replies: channel.replies,
    say: (text, until = any) => exchange({ text }, until),
    submit: (value, until = any) => exchange({ value }, until),
    close: () => channel.close(),
  };
}

/** Everything a reply shows: its text and its attachments (cards) as JSON. */
export function shown(replies: readonly Partial<Activity>[]): string {
  return replies.map((reply) => `${reply.text ?? ''} ${JSON.stringify(reply.attachments ?? [])}`).join('\n');
}

export async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A chat sign-in end to end: `command` ("connect mini-crm") → the sign-in card → its start link in a
 * "browser" (cookie jar) → the provider's login and consent (`consent`, given the authorization URL,
 * returns the redirect to the service's callback) → the callback page's 6-digit code → the code typed.
 * Resolves with the replies to the code.
 */
export async function signInFromChat(
  chat: ServiceChat,
  service: RunningService,
  command: string,
  consent: (authorizationUrl: string) => Promise<URL>,
): Promise<Partial<Activity>[]> {
  const card = await chat.say(command, (replies) => /\/oauth\/start\//.test(shown(replies)));
  const start = new RegExp(`"(${escape(service.baseUrl)}/oauth/start/[^"\\\\]+)"`).exec(shown(card))?.[1];
  if (!start) throw new Error(`no sign-in link in: ${shown(card)}`);
  const jar = new CookieJar();
  const started = await fetch(start, { redirect: 'manual' });
  jar.store(new URL(start), started);
  const location = started.headers.get('location');
  if (started.status !== 302 || !location) throw new Error(`start link answered ${started.status}`);
  const callback = await consent(location);
  const page = await fetch(callback, { headers: { cookie: jar.header(callback) } });
  const html = await page.text();
  const code = /\b(\d{6})\b/.exec(html)?.[1];
  if (page.status !== 200 || !code) {
    throw new Error(`callback page answered ${page.status} without a code: ${html.slice(0, 300)}`);
  }
  return chat.say(code, (replies) => /connected/i.test(shown(replies)));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The admin API (and the execute API / proxy, which take the same key) with an admin key. */
export function adminCalls(service: RunningService, key: string) {
  return async function call(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; text: string; json: unknown; headers: Record<string, string> }> {
    const response = await fetch(`${service.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    return { status: response.status, text, json, headers };
  };
}

/**
 * The access token a running service holds for a connection, read from its SQLite store with its
 * ENCRYPTION_KEYS: only so a test can prove no answer ever carries it.
 */
export async function storedAccessToken(
  service: RunningService,
  encryptionKeys: string,
  connectionId: string,
): Promise<string> {
  const store = new SqliteStore(join(service.dataDir, 'authprofiles.db'));
  try {
    const connection = await store.connections.getById(connectionId);
    if (!connection) throw new Error(`no connection ${connectionId}`);
    const keyRing = new KeyRing(parseEncryptionKeys(encryptionKeys));
    return openTokens({ keyRing } as EngineContext, connection).accessToken;
  } finally {
    await store.close();
  }
}

/**
 * A GET with the request target sent exactly as written: fetch (WHATWG URL) would resolve `..` and
 * `%2e%2e` segments before sending, so a path-escape attempt would never reach the service as such.
 */
export function rawGet(
  service: RunningService,
  target: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: service.port, method: 'GET', path: target, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
