// Issue 9 points 1–3 at the HTTP level: every endpoint of the user-token API with its failure
// cases (unknown connection, bad state, wrong code, wrong user, expired, unauthenticated caller),
// against the composed service, the real oidc-provider and caller tokens from the FAKE Entra.
import { networkInterfaces } from 'node:os';
import type { IncomingMessage } from 'node:http';
import { MicrosoftAppCredentials, TokenApiClient } from 'botframework-connector';
import { createCallerAuthenticator } from '../../bot/tokenService/callerAuthentication';
import { ORGANIZATION } from '../../profiles/subjects';
import { authorize } from '../support/engineHarness';
import {
  BOT_A,
  BOT_B,
  BOT_C,
  startTokenServiceWorld,
  type TokenServiceWorld,
} from '../support/tokenServiceWorld';

let world: TokenServiceWorld;
let tokenA: string;
let tokenC: string;

beforeAll(async () => {
  world = await startTokenServiceWorld();
  tokenA = await world.entra.mint(BOT_A.appId);
  tokenC = await world.entra.mint(BOT_C.appId);
});

afterAll(async () => {
  await world?.close();
});

interface Answer {
  status: number;
  text: string;
  headers: Headers;
  json(): unknown;
}

async function call(
  method: string,
  path: string,
  query: Record<string, string> | string,
  options: { token?: string | null; body?: unknown; base?: string } = {},
): Promise<Answer> {
  const search = typeof query === 'string' ? query : new URLSearchParams(query).toString();
  const token = options.token === undefined ? tokenA : options.token;
  const response = await fetch(`${options.base ?? world.base}${path}?${search}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    headers: response.headers,
    json: () => JSON.parse(text) as unknown,
  };
}

const getToken = (query: Record<string, string>, token?: string | null) =>
  call(
    'GET',
    '/api/usertoken/GetToken',
    { connectionName: 'crm', channelId: 'webchat', ...query },
    { token },
  );

function stateFor(
  userId: string,
  options: { connectionName?: string; channelId?: string; msAppId?: string } = {},
): string {
  const state = {
    connectionName: options.connectionName ?? 'crm',
    conversation: {
      activityId: 'act-1',
      user: { id: userId, name: userId },
      bot: { id: 'bot', name: 'bot' },
      conversation: { id: `conv-${userId}` },
      channelId: options.channelId ?? 'webchat',
      serviceUrl: 'https://smba.trafficmanager.net/emea/',
    },
    msAppId: options.msAppId ?? BOT_A.appId,
  };
  return Buffer.from(JSON.stringify(state)).toString('base64');
}

async function signInLink(
  userId: string,
  token: string | null = tokenA,
  msAppId = BOT_A.appId,
): Promise<string> {
  const answer = await call(
    'GET',
    '/api/botsignin/GetSignInResource',
    { state: stateFor(userId, { msAppId }) },
    { token },
  );
  expect(answer.status).toBe(200);
  return (answer.json() as { signInLink: string }).signInLink;
}

function errorOf(answer: Answer): {
  code: string;
  message: string;
  issues?: { path: string; message: string }[];
} {
  return (
    answer.json() as {
      error: { code: string; message: string; issues?: { path: string; message: string }[] };
    }
  ).error;
}

describe('GetToken', () => {
  test('no token: 404 with an EMPTY body (a JSON body would read as a sign-in to botframework-connector)', async () => {
    const answer = await getToken({ userId: 'nobody' });
    expect(answer.status).toBe(404);
    expect(answer.text).toBe('');
    expect(answer.headers.get('content-length')).toBe('0');
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  test('unknown connection: 400 naming connectionName, never 404', async () => {
    const answer = await getToken({ userId: 'alice', connectionName: 'no-such-profile' });
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({ code: 'unknown-connection' });
    expect(errorOf(answer).message).toMatch(
      /connectionName: this service has no connection "no-such-profile"/,
    );
  });

  test('missing, malformed and repeated parameters are named', async () => {
    const missing = await call('GET', '/api/usertoken/GetToken', { userId: 'alice', connectionName: 'crm' });
    expect(missing.status).toBe(400);
    expect(errorOf(missing).issues).toEqual([{ path: 'channelId', message: 'is required' }]);
    const bad = await getToken({ userId: 'alice', connectionName: 'CRM!' });
    expect(errorOf(bad).issues?.[0]?.path).toBe('connectionName');
    const twice = await call(
      'GET',
      '/api/usertoken/GetToken',
      'userId=a&userId=b&connectionName=crm&channelId=webchat',
    );
    expect(twice.status).toBe(400);
    expect(errorOf(twice).issues).toEqual([{ path: 'userId', message: 'must be given once' }]);
  });

  test('the code from the sign-in page activates the connection; a wrong code does not', async () => {
    const code = await world.consent(await signInLink('alice'), 'alice');
    const wrong = code === '000000' ? '111111' : '000000';
    expect((await getToken({ userId: 'alice', code: wrong })).status).toBe(404);
    expect((await getToken({ userId: 'alice' })).status).toBe(404);
    const answer = await getToken({ userId: 'alice', code });
    expect(answer.status).toBe(200);
    const body = answer.json() as {
      channelId: string;
      connectionName: string;
      token: string;
      expiration: string;
    };
    expect(body).toEqual({
      channelId: 'webchat',
      connectionName: 'crm',
      token: expect.any(String),
      expiration: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(answer.headers.get('cache-control')).toBe('no-store');
    // Later calls need no code.
    expect((await getToken({ userId: 'alice' })).json()).toMatchObject({ token: body.token });
    // No code, state or token in any log line (SECURITY.md #32).
    const logs = world.logs.join('\n');
    expect(logs).not.toContain(code);
    expect(logs).not.toContain(body.token);
    expect(logs).toContain('token service: sign-in code checked');
  });

  test('wrong user: the code typed by another user, or at another bot, activates nothing', async () => {
    const code = await world.consent(await signInLink('bob'), 'bob');
    expect((await getToken({ userId: 'mallory', code })).status).toBe(404);
    expect((await getToken({ userId: 'bob', code }, tokenC)).status).toBe(404);
    expect((await getToken({ userId: 'bob', channelId: 'msteams', code })).status).toBe(404);
    expect((await getToken({ userId: 'bob', code })).status).toBe(200);
    // Bob is signed in at bot A only.
    expect((await getToken({ userId: 'bob' }, tokenC)).status).toBe(404);
  });

  test('expired: a code typed after the verification window finds nothing, even the right one', async () => {
    const code = await world.consent(await signInLink('carol'), 'carol');
    world.harness.clock.advance(world.harness.context.settings.verificationTtlMs + 1000);
    expect((await getToken({ userId: 'carol', code })).status).toBe(404);
    expect((await getToken({ userId: 'carol', code })).status).toBe(404);
  });

  test('too many wrong codes discard the pending sign-in', async () => {
    const code = await world.consent(await signInLink('dave'), 'dave');
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < world.harness.context.settings.verificationAttempts; i += 1) {
      expect((await getToken({ userId: 'dave', code: wrong })).status).toBe(404);
    }
    expect((await getToken({ userId: 'dave', code })).status).toBe(404);
  });

  test('an expired token is refreshed once; a provider outage is a 503 ErrorResponse, not "no token"', async () => {
    const code = await world.consent(await signInLink('erin'), 'erin');
    const first = (await getToken({ userId: 'erin', code })).json() as { token: string };
    const refreshes = (await world.authServer.stats()).token.refresh_token;
    world.harness.clock.advance(2 * 3600_000);
    const [a, b] = await Promise.all([getToken({ userId: 'erin' }), getToken({ userId: 'erin' })]);
    expect(a.status).toBe(200);
    expect((a.json() as { token: string }).token).not.toBe(first.token);
    expect((b.json() as { token: string }).token).toBe((a.json() as { token: string }).token);
    expect((await world.authServer.stats()).token.refresh_token).toBe(refreshes + 1);

    world.harness.clock.advance(2 * 3600_000);
    await world.authServer.injectFault({ token: { status: 503, times: 20 } });
    try {
      const down = await getToken({ userId: 'erin' });
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      expect(errorOf(down).code).toBe('provider-unavailable');
    } finally {
      await world.authServer.resetFaults();
    }
  });

  test('a pre-authorized connection returns the organisation token to any user of an allowed bot', async () => {
    expect((await getToken({ userId: 'frank', connectionName: 'crm-org' })).status).toBe(404);
    const { outcome } = await authorize(world.harness, 'crm-org', ORGANIZATION);
    expect(outcome.kind).toBe('connected');
    const profile = await world.harness.engine.catalog.get('crm-org');
    const org = await world.harness.engine.getToken(profile, ORGANIZATION);
    const answer = await getToken({ userId: 'frank', connectionName: 'crm-org' }, tokenC);
    expect(answer.json()).toMatchObject({ connectionName: 'crm-org', token: org.ok && org.accessToken });
  });
});

describe('GetSignInResource and GetSignInUrl', () => {
  test('a sign-in link for the user the state names, audited as the calling bot', async () => {
    const link = await signInLink('gina');
    expect(link).toMatch(new RegExp(`^${world.base}/oauth/start/req_[A-Za-z0-9_-]{24}$`));
    const audit = await world.harness.store.audit.list({ limit: 5 });
    expect(audit.find((entry) => entry.action === 'authorization.requested')).toMatchObject({
      actor: `bot:${BOT_A.appId}`,
      details: { subject: `user:webchat:gina:bot=${BOT_A.appId}` },
    });
    const url = await call('GET', '/api/botsignin/GetSignInUrl', { state: stateFor('gina') });
    expect(url.status).toBe(200);
    expect(url.json()).toMatch(new RegExp(`^${world.base}/oauth/start/req_`));
  });

  test('a bad state is named: not base64 JSON, a missing field, an unknown connection', async () => {
    const garbage = await call('GET', '/api/botsignin/GetSignInResource', { state: '%%%not-base64' });
    expect(garbage.status).toBe(400);
    expect(errorOf(garbage).issues).toEqual([
      { path: 'state', message: 'must be base64 of a JSON TokenExchangeState' },
    ]);
    const noJson = await call('GET', '/api/botsignin/GetSignInResource', {
      state: Buffer.from('not json').toString('base64'),
    });
    expect(errorOf(noJson).issues?.[0]?.path).toBe('state');
    const noUser = JSON.parse(Buffer.from(stateFor('x'), 'base64').toString()) as {
      conversation: { user: unknown };
    };
    delete (noUser.conversation as { user?: unknown }).user;
    const missing = await call('GET', '/api/botsignin/GetSignInResource', {
      state: Buffer.from(JSON.stringify(noUser)).toString('base64'),
    });
    expect(missing.status).toBe(400);
    expect(errorOf(missing).issues).toEqual([{ path: 'state.conversation.user', message: 'is required' }]);
    const unknown = await call('GET', '/api/botsignin/GetSignInResource', {
      state: stateFor('x', { connectionName: 'nope' }),
    });
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown).code).toBe('unknown-connection');
    const noState = await call('GET', '/api/botsignin/GetSignInResource', {});
    expect(errorOf(noState).issues).toEqual([{ path: 'state', message: 'is required' }]);
  });

  test("a state naming another bot's app id is refused (403)", async () => {
    const answer = await call('GET', '/api/botsignin/GetSignInResource', {
      state: stateFor('hank', { msAppId: BOT_C.appId }),
    });
    expect(answer.status).toBe(403);
    expect(errorOf(answer).code).toBe('state-mismatch');
  });

  test('a pre-authorized connection has no user sign-in', async () => {
    const answer = await call('GET', '/api/botsignin/GetSignInResource', {
      state: stateFor('hank', { connectionName: 'crm-org' }),
    });
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({ code: 'pre-authorized' });
  });

  test('finalRedirect is accepted and never used: the link is always our own start link (SECURITY.md #11)', async () => {
    const answer = await call('GET', '/api/botsignin/GetSignInResource', {
      state: stateFor('ivan'),
      finalRedirect: 'https://evil.example/steal',
    });
    const link = (answer.json() as { signInLink: string }).signInLink;
    const start = await fetch(link, { redirect: 'manual' });
    expect(start.status).toBe(302);
    expect(start.headers.get('location')).toMatch(new RegExp(`^${world.authServer.issuer}/auth\\?`));
    expect(start.headers.get('location')).not.toContain('evil.example');
  });
});

describe('SignOut and GetTokenStatus', () => {
  test('status per connection; SignOut of one connection, then of all, for this bot only', async () => {
    const status = () =>
      call('GET', '/api/usertoken/GetTokenStatus', { userId: 'judy', channelId: 'webchat' });
    const code = await world.consent(await signInLink('judy'), 'judy');
    await getToken({ userId: 'judy', code });
    // Judy at bot C too.
    const codeC = await world.consent(await signInLink('judy', tokenC, BOT_C.appId), 'judy');
    await getToken({ userId: 'judy', code: codeC }, tokenC);
    expect((await status()).json()).toEqual([
      { channelId: 'webchat', connectionName: 'crm', hasToken: true, serviceProviderDisplayName: 'Demo CRM' },
      expect.objectContaining({ connectionName: 'crm-org' }),
    ]);
    const only = await call('GET', '/api/usertoken/GetTokenStatus', {
      userId: 'judy',
      channelId: 'webchat',
      include: 'crm',
    });
    expect((only.json() as unknown[]).length).toBe(1);

    // SignOut of a pre-authorized connection is not the user's to do: nothing changes.
    const org = await call('DELETE', '/api/usertoken/SignOut', {
      userId: 'judy',
      channelId: 'webchat',
      connectionName: 'crm-org',
    });
    // 200 (not 204): the Agents SDK's UserTokenClient.signOut throws on any other status.
    expect(org.status).toBe(200);
    const orgProfile = await world.harness.engine.catalog.get('crm-org');
    expect((await world.harness.engine.connectionOf(orgProfile, ORGANIZATION))?.status).toBe('active');

    const out = await call('DELETE', '/api/usertoken/SignOut', { userId: 'judy', channelId: 'webchat' });
    expect(out.status).toBe(200);
    expect(out.json()).toEqual({});
    expect((await status()).json()).toEqual([
      expect.objectContaining({ connectionName: 'crm', hasToken: false }),
      expect.objectContaining({ connectionName: 'crm-org' }),
    ]);
    // Judy's connection through bot C is untouched.
    expect((await getToken({ userId: 'judy' }, tokenC)).status).toBe(200);
  });

  test('SignOut names an unknown connection and a missing user', async () => {
    const unknown = await call('DELETE', '/api/usertoken/SignOut', {
      userId: 'judy',
      channelId: 'webchat',
      connectionName: 'nope',
    });
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown).code).toBe('unknown-connection');
    const noUser = await call('GET', '/api/usertoken/GetTokenStatus', { channelId: 'webchat' });
    expect(errorOf(noUser).issues).toEqual([{ path: 'userId', message: 'is required' }]);
  });
});

describe('exchange and GetAadTokens', () => {
  test('answered honestly: profiles cannot exchange tokens nor mint per-resource tokens', async () => {
    const query = { userId: 'kim', connectionName: 'crm', channelId: 'msteams' };
    const exchange = await call('POST', '/api/usertoken/exchange', query, { body: { token: 'sso-token' } });
    expect(exchange.status).toBe(400);
    expect(errorOf(exchange)).toMatchObject({ code: 'exchange-not-supported' });
    const aad = await call('POST', '/api/usertoken/GetAadTokens', query, {
      body: { resourceUrls: ['https://graph.microsoft.com'] },
    });
    expect(aad.status).toBe(400);
    expect(errorOf(aad)).toMatchObject({ code: 'aad-tokens-not-supported' });
    const unknown = await call(
      'POST',
      '/api/usertoken/exchange',
      { ...query, connectionName: 'nope' },
      {
        body: { token: 'x' },
      },
    );
    expect(errorOf(unknown).code).toBe('unknown-connection');
    const badBody = await call('POST', '/api/usertoken/GetAadTokens', query, { body: { resourceUrls: 'x' } });
    expect(errorOf(badBody).issues?.[0]?.path).toBe('resourceUrls');
  });
});

describe('who may call (SECURITY: unauthenticated caller)', () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    ['expired', () => world.entra.mint(BOT_A.appId, { exp: Math.floor(Date.now() / 1000) - 600 }), /"exp"/],
    [
      'for another audience',
      () => world.entra.mint(BOT_A.appId, { aud: 'https://graph.microsoft.com' }),
      /"aud"/,
    ],
    ['from another issuer', () => world.entra.mint(BOT_A.appId, { iss: 'https://evil.example/' }), /"iss"/],
    ['signed by another key', () => world.entra.mint(BOT_A.appId, {}, { key: 'other' }), /SIGNATURE/],
    ['naming no app', () => world.entra.mint(BOT_A.appId, { appid: undefined }), /names no app/],
    ['not a JWT', () => Promise.resolve('not-a-jwt'), /ERR_JWS_INVALID|ERR_JWT_INVALID/],
  ];
  test.each(cases)(
    'a token %s: 401 with WWW-Authenticate, whatever the query',
    async (_name, mint, reason) => {
      const answer = await call(
        'GET',
        '/api/usertoken/GetToken',
        { nothing: 'valid' },
        { token: await mint() },
      );
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(errorOf(answer).code).toBe('unauthenticated');
      expect(errorOf(answer).message).toMatch(reason);
    },
  );

  test('a valid token of a bot not in TOKEN_SERVICE_ALLOWED_APP_IDS: 403 naming the app id', async () => {
    const answer = await getToken({ userId: 'alice' }, await world.entra.mint(BOT_B.appId));
    expect(answer.status).toBe(403);
    expect(errorOf(answer)).toMatchObject({ code: 'bot-not-allowed' });
    expect(errorOf(answer).message).toContain(BOT_B.appId);
  });

  test('an Entra v2 token names the app in azp', async () => {
    const v2 = await world.entra.mint(BOT_C.appId, { ver: '2.0', appid: undefined, azp: BOT_A.appId });
    const answer = await getToken({ userId: 'alice' }, v2);
    // alice signed in at bot A above: the v2 token is bot A's.
    expect(answer.status).toBe(200);
  });

  test('dev: no token is the anonymous local bot on loopback, with its own connections', async () => {
    // Microsoft's own client, without credentials, as a local bot without an app id calls.
    const client = new TokenApiClient(MicrosoftAppCredentials.Empty, { baseUri: world.base });
    const none = await client.userToken.getToken('alice', 'crm', { channelId: 'webchat' });
    expect(none._response.status).toBe(404);
    expect(none._response.parsedBody).toBeUndefined();
    const url = await client.botSignIn.getSignInUrl(stateFor('alice', { msAppId: '' }));
    expect(url._response.parsedBody).toMatch(new RegExp(`^${world.base}/oauth/start/req_`));
    const code = await world.consent(url._response.parsedBody as string, 'alice');
    const token = await client.userToken.getToken('alice', 'crm', { channelId: 'webchat', code });
    expect(token._response.status).toBe(200);
    expect(token.token).toEqual(expect.any(String));
    // A token from bot A's alice is not the anonymous bot's alice.
    const atA = (await getToken({ userId: 'alice' })).json() as { token: string };
    expect(token.token).not.toBe(atA.token);
    const audit = await world.harness.store.audit.list({ limit: 30 });
    expect(audit.some((entry) => entry.actor === 'bot:anonymous-local')).toBe(true);
  });

  test('dev: no token from a non-loopback address is refused (401)', async () => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
    if (!address) {
      console.warn('skipped: this machine has no non-loopback IPv4 address');
      return;
    }
    // Dev mode listens on loopback only (SECURITY.md #47); an operator who opts in to the network
    // with DEV_ALLOW_NETWORK still gets no anonymous callers from it.
    const exposed = await startTokenServiceWorld({ env: { HOST: '0.0.0.0', DEV_ALLOW_NETWORK: 'true' } });
    try {
      const port = new URL(exposed.base).port;
      const answer = await call(
        'GET',
        '/api/usertoken/GetToken',
        { userId: 'alice', connectionName: 'crm', channelId: 'webchat' },
        { token: null, base: `http://${address}:${port}` },
      );
      expect(answer.status).toBe(401);
      expect(errorOf(answer).message).toMatch(/bearer token .* is required/);
    } finally {
      await exposed.close();
    }
  });
});

test('production (no dev features): a call without a token is refused even from loopback', async () => {
  const authenticate = createCallerAuthenticator({
    allowedAppIds: [BOT_A.appId],
    issuers: [world.entra.issuer],
    audience: 'https://api.botframework.com',
    jwksUrl: world.entra.jwksUrl,
    allowAnonymousLoopback: false,
  });
  const fromLoopback = { headers: {}, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
  await expect(authenticate(fromLoopback)).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
  const withToken = {
    headers: { authorization: `Bearer ${tokenA}` },
    socket: { remoteAddress: '192.0.2.7' },
  } as unknown as IncomingMessage;
  await expect(authenticate(withToken)).resolves.toEqual({ appId: BOT_A.appId, anonymous: false });
});
