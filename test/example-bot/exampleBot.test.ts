// Issue 9 point 5: a bot that embeds the engine as an outside project would. The example in ./src
// imports only `authprofiles` and `authprofiles/dialogs`, which Node and TypeScript (node16) resolve
// through this package's own name and its package.json `exports` (a package may import itself by name,
// and only the exported entries). This test builds the library (`tsconfig.lib.json`: JS + declarations),
// compiles the example with its own tsconfig, runs it as a child process, and drives it over the Bot
// Framework channel protocol: activities POSTed to its /api/messages, replies caught at the serviceUrl.
// The bot runs without an app id (local dev, as with the Bot Framework Emulator), so activities are
// posted unsigned; channel authentication is covered by test/tokenService/oauthPromptBot.test.ts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Activity } from 'botbuilder';
import { findRepoRoot, startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent } from '../support/browserlessConsent';
import { serverProfile } from '../support/engineHarness';
import { startFakeBotChannel, type FakeBotChannel } from '../support/fakeBotChannel';
import { freePort } from '../support/serviceProcess';
import { authorizationDialogServices } from '../../dialogs';
import type { AuthorizationEngine } from '../../profiles';

jest.setTimeout(120_000);

const ROOT = findRepoRoot();
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const CLIENT = {
  client_id: 'example-bot',
  client_secret: 'example-bot-secret-0123456789',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const run = promisify(execFile);

let dir: string;
let authServer: RunningAuthServer;
let channel: FakeBotChannel;
let api: { url: string; seen: { token: string; active: boolean; sub: unknown }[]; close(): Promise<void> };
let bot: ChildProcess | undefined;
let botUrl: string;
let botOutput = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'example-bot-'));
  const port = await freePort();
  botUrl = `http://127.0.0.1:${port}`;
  authServer = await startAuthServer({
    clients: [{ ...CLIENT, redirect_uris: [`${botUrl}/oauth/callback/example`], pkceRequired: true }],
    scopes: 'crm.objects.deals.read',
    accessTokenTtl: 600,
  });
  channel = await startFakeBotChannel();
  api = await startApi(authServer);
  const profilesDir = join(dir, 'profiles');
  mkdirSync(profilesDir);
  writeFileSync(
    join(profilesDir, 'example.json'),
    JSON.stringify(serverProfile(authServer, 'example', CLIENT, { displayName: 'Example API' })),
  );
  mkdirSync(join(dir, 'data'));
  await run(process.execPath, [TSC, '-p', 'tsconfig.lib.json'], { cwd: ROOT });
  bot = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'src', 'main.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      PUBLIC_URL: botUrl,
      DATA_DIR: join(dir, 'data'),
      PROFILES_DIR: profilesDir,
      PROFILE_ID: 'example',
      API_URL: api.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      botOutput += chunk.toString();
      if (botOutput.includes('example bot listening')) resolve();
    };
    bot?.stdout?.on('data', onData);
    bot?.stderr?.on('data', onData);
    bot?.once('exit', (code) => reject(new Error(`example bot exited (${code}): ${botOutput}`)));
  });
});

afterAll(async () => {
  if (bot && bot.exitCode === null) {
    const exited = new Promise((resolve) => bot?.once('exit', resolve));
    bot.kill('SIGTERM');
    await exited;
  }
  await api?.close();
  await channel?.close();
  await authServer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the example bot compiles against the package exports (authprofiles, authprofiles/dialogs)', async () => {
  const compiled = await run(process.execPath, [TSC, '-p', join(__dirname, 'tsconfig.json')], {
    cwd: ROOT,
  }).then(
    () => 'ok',
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
  expect(compiled).toBe('ok');
});

test('a deep import past the exports map is refused', () => {
  const script = "require('authprofiles/profiles/engine')";
  return expect(run(process.execPath, ['-e', script], { cwd: ROOT })).rejects.toMatchObject({
    stderr: expect.stringContaining('ERR_PACKAGE_PATH_NOT_EXPORTED'),
  });
});

test('sign-in card, consent (refused to a browser without the binding), the code typed, then the dialog calls the API with the token', async () => {
  const conversation = {
    id: 'example-conv-1',
    isGroup: false,
    conversationType: 'personal',
    name: 'example',
  };
  const say = async (text: string, wait: (replies: Partial<Activity>[]) => boolean) => {
    const before = channel.replies.length;
    const answer = await post({ type: 'message', text, conversation });
    expect(answer).toBe(200);
    return waitFor(() => {
      const replies = channel.replies.slice(before);
      return wait(replies) ? replies : undefined;
    });
  };

  // 1. The sign-in card, with the bot's own /oauth/start link.
  const first = await say('who am I?', (replies) => replies.length > 0);
  const startUrl = /"(http:\/\/127\.0\.0\.1:\d+\/oauth\/start\/[^"]+)"/.exec(JSON.stringify(first))?.[1];
  expect(startUrl?.startsWith(`${botUrl}/oauth/start/`)).toBe(true);

  // 2. The browser: the start link binds it and redirects to the provider; login and consent there.
  const start = await fetch(startUrl ?? '', { redirect: 'manual' });
  expect(start.status).toBe(302);
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  expect(cookie).toMatch(/^example_signin_binding=./);
  const callbackUrl = await completeConsent(start.headers.get('location') ?? '', { login: 'ada' });
  expect(callbackUrl.pathname).toBe('/oauth/callback/example');

  // Another browser (without the binding cookie) cannot complete it, and nothing is consumed.
  const stranger = await fetch(callbackUrl);
  expect(stranger.status).toBeGreaterThanOrEqual(400);
  expect(stranger.status).toBeLessThan(500);
  expect(await stranger.text()).not.toMatch(/\d{6}/);

  // 3. The callback page shows the verification code; the dialog is resumed and asks for it.
  const before = channel.replies.length;
  const page = await fetch(callbackUrl, { headers: { cookie } });
  const html = await page.text();
  expect(page.status).toBe(200);
  const code = /(\d{6})/.exec(html)?.[1];
  expect(code).toBeDefined();
  const resumed = await waitFor(() => {
    const replies = channel.replies.slice(before);
    return replies.length > 0 ? replies : undefined;
  });
  expect(JSON.stringify(resumed)).toMatch(/code/i);
  expect(api.seen).toHaveLength(0);

  // 4. The code typed in the chat: connected, and the waterfall's next step calls the API.
  const last = await say(code ?? '', (replies) => replies.some((r) => /API says/.test(r.text ?? '')));
  expect(last.map((r) => r.text)).toContain('The API says you are ada.');
  expect(api.seen).toHaveLength(1);
  expect(api.seen[0]).toMatchObject({ active: true, sub: 'ada' });
  // The token never reached the chat.
  expect(JSON.stringify(channel.replies)).not.toContain(api.seen[0]?.token);
});

function post(fields: Partial<Activity>): Promise<number> {
  const activity = {
    channelId: 'webchat',
    serviceUrl: channel.serviceUrl,
    from: { id: 'alice', name: 'Alice' },
    recipient: { id: 'example-bot', name: 'Example' },
    id: `act-${Math.random().toString(36).slice(2)}`,
    timestamp: new Date().toISOString(),
    ...fields,
  };
  return fetch(`${botUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(activity),
  }).then(async (res) => {
    await res.text();
    return res.status;
  });
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out; bot output:\n${botOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The API the example calls: it checks the bearer token at the provider's introspection endpoint. */
async function startApi(server: RunningAuthServer): Promise<typeof api> {
  const seen: { token: string; active: boolean; sub: unknown }[] = [];
  const httpServer = http.createServer((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const basic = Buffer.from(`${CLIENT.client_id}:${CLIENT.client_secret}`).toString('base64');
    void fetch(server.url('/token/introspection'), {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    })
      .then((answer) => answer.json() as Promise<{ active?: boolean; sub?: unknown }>)
      .then((info) => {
        seen.push({ token, active: info.active === true, sub: info.sub });
        res.writeHead(info.active ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(info.active ? { name: info.sub } : { error: 'invalid_token' }));
      });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/me`,
    seen,
    close: () => new Promise<void>((resolve) => httpServer.close(() => resolve())),
  };
}

test('authorizationDialogServices asks for the code on every channel unless told otherwise (SECURITY.md #9)', () => {
  const engine = {} as AuthorizationEngine;
  const services = authorizationDialogServices(engine);
  expect(['webchat', 'msteams', 'directline'].map(services.requiresVerification)).toEqual([true, true, true]);
  expect(services.signinTimeoutMs).toBe(600_000);
  const relaxed = authorizationDialogServices(engine, { verificationOffChannels: ['MSTeams'] });
  expect([relaxed.requiresVerification('msteams'), relaxed.requiresVerification('webchat')]).toEqual([
    false,
    true,
  ]);
  expect(() => authorizationDialogServices(engine, { signinTimeoutMs: 0 })).toThrow(
    'signinTimeoutMs must be a positive number of milliseconds, got 0',
  );
});
