// GET api/usertoken/GetTokenOrSignInResource at the HTTP level, as the Microsoft 365 Agents SDK calls
// it (oauth/userTokenClient.js getTokenOrSignInResource: every parameter present, empty when unused,
// a state whose msAppId is ''), with its failure cases. test/tokenService/agentsSdk.test.ts drives it
// through the SDK itself.
import { ORGANIZATION } from '../../profiles/subjects';
import { authorize } from '../support/engineHarness';
import { BOT_A, BOT_C, startTokenServiceWorld, type TokenServiceWorld } from '../support/tokenServiceWorld';

let world: TokenServiceWorld;
let tokenA: string;

beforeAll(async () => {
  world = await startTokenServiceWorld();
  tokenA = await world.entra.mint(BOT_A.appId);
});

afterAll(async () => {
  await world?.close();
});

/** The SDK's state: `{ conversation, relatesTo, connectionName, msAppId: this.msAppId }` with msAppId ''. */
function sdkState(
  userId: string,
  overrides: { connectionName?: string; msAppId?: string; channelId?: string } = {},
) {
  const state = {
    conversation: {
      activityId: 'act-1',
      user: { id: userId, name: userId },
      agent: { id: 'agent', name: 'agent' },
      conversation: { id: `conv-${userId}` },
      channelId: overrides.channelId ?? 'webchat',
      serviceUrl: 'https://smba.trafficmanager.net/emea/',
    },
    connectionName: overrides.connectionName ?? 'crm',
    msAppId: overrides.msAppId ?? '',
  };
  return Buffer.from(JSON.stringify(state)).toString('base64');
}

async function tokenOrSignIn(
  userId: string,
  options: {
    code?: string;
    state?: string;
    connectionName?: string;
    token?: string | null;
    redirect?: string;
  } = {},
) {
  const query = new URLSearchParams({
    userId,
    connectionName: options.connectionName ?? 'crm',
    channelId: 'webchat',
    state: options.state ?? sdkState(userId),
    code: options.code ?? '',
    finalRedirect: options.redirect ?? '',
    fwdUrl: options.redirect ?? '',
  });
  const token = options.token === undefined ? tokenA : options.token;
  const response = await fetch(`${world.base}/api/usertoken/GetTokenOrSignInResource?${query}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

test('no token: a sign-in resource with our link; with the code: the token, for that user and bot only', async () => {
  const first = await tokenOrSignIn('ivan');
  expect(first.status).toBe(200);
  expect(first.body).toEqual({
    signInResource: { signInLink: expect.stringMatching(new RegExp(`^${world.base}/oauth/start/req_`)) },
  });
  const code = await world.consent((first.body?.signInResource as { signInLink: string }).signInLink, 'ivan');

  // Another user, or the same user at another bot, gets nothing with ivan's code.
  expect((await tokenOrSignIn('mallory', { code })).body).toEqual({});
  const atC = await tokenOrSignIn('ivan', { code, token: await world.entra.mint(BOT_C.appId) });
  expect(atC.body).toEqual({});

  const second = await tokenOrSignIn('ivan', { code });
  expect(second.status).toBe(200);
  const profile = await world.harness.engine.catalog.get('crm');
  const held = await world.harness.engine.getToken(profile, {
    kind: 'user',
    channelId: 'webchat',
    userId: 'ivan',
    botAppId: BOT_A.appId,
  });
  expect(second.body).toEqual({
    tokenResponse: {
      channelId: 'webchat',
      connectionName: 'crm',
      token: held.ok && held.accessToken,
      expiration: expect.any(String),
    },
  });
  // Signed in: without a code the token comes at once.
  expect((await tokenOrSignIn('ivan')).body).toHaveProperty(
    'tokenResponse.token',
    held.ok && held.accessToken,
  );
});

test('a wrong code answers {} and leaves the waiting sign-in usable', async () => {
  const first = await tokenOrSignIn('judy');
  const link = (first.body?.signInResource as { signInLink: string }).signInLink;
  const code = await world.consent(link, 'judy');
  const wrong = code === '000000' ? '111111' : '000000';
  expect(await tokenOrSignIn('judy', { code: wrong })).toEqual({ status: 200, body: {} });
  expect((await tokenOrSignIn('judy', { code })).body).toHaveProperty('tokenResponse.token');
});

test('a pre-authorized profile gives the organisation token; before an admin connects it, a 400', async () => {
  const before = await tokenOrSignIn('kim', {
    connectionName: 'crm-org',
    state: sdkState('kim', { connectionName: 'crm-org' }),
  });
  expect(before.status).toBe(400);
  expect(before.body).toMatchObject({ error: { code: 'pre-authorized' } });
  await authorize(world.harness, 'crm-org', ORGANIZATION);
  const after = await tokenOrSignIn('kim', {
    connectionName: 'crm-org',
    state: sdkState('kim', { connectionName: 'crm-org' }),
  });
  const org = await world.harness.engine.getToken(
    await world.harness.engine.catalog.get('crm-org'),
    ORGANIZATION,
  );
  expect(after.body).toHaveProperty('tokenResponse.token', org.ok && org.accessToken);
});

test('finalRedirect and fwdUrl pointing elsewhere are ignored: our link, ending on our code page (SECURITY.md #11)', async () => {
  const answer = await tokenOrSignIn('olga', { redirect: 'https://evil.example/steal' });
  const link = (answer.body?.signInResource as { signInLink: string }).signInLink;
  expect(link).toMatch(new RegExp(`^${world.base}/oauth/start/req_`));
  expect(link).not.toContain('evil');
  // consent() follows the flow to the callback page and fails unless it shows the code there.
  const code = await world.consent(link, 'olga');
  expect((await tokenOrSignIn('olga', { code })).body).toHaveProperty('tokenResponse.token');
});

describe('refused', () => {
  test('a state that is not base64 JSON, or misses the conversation: 400 naming state', async () => {
    const garbage = await tokenOrSignIn('lee', { state: '%%%' });
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatchObject({
      error: { code: 'invalid-request', message: expect.stringContaining('state') },
    });
    const empty = await tokenOrSignIn('lee', {
      state: Buffer.from('{"connectionName":"crm"}').toString('base64'),
    });
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ error: { message: expect.stringContaining('state.conversation') } });
  });

  test('a state for another user, connection or channel than the query names: 400', async () => {
    const otherUser = await tokenOrSignIn('lee', { state: sdkState('mallory') });
    expect(otherUser.status).toBe(400);
    expect(otherUser.body).toMatchObject({
      error: {
        message: expect.stringContaining('state.conversation.user.id: must match the query parameter'),
      },
    });
    const otherConnection = await tokenOrSignIn('lee', {
      state: sdkState('lee', { connectionName: 'crm-org' }),
    });
    expect(otherConnection.body).toMatchObject({
      error: { message: expect.stringContaining('state.connectionName') },
    });
    const otherChannel = await tokenOrSignIn('lee', { state: sdkState('lee', { channelId: 'msteams' }) });
    expect(otherChannel.body).toMatchObject({
      error: { message: expect.stringContaining('state.conversation.channelId') },
    });
  });

  test('a state naming another bot: 403 state-mismatch', async () => {
    const answer = await tokenOrSignIn('lee', { state: sdkState('lee', { msAppId: BOT_C.appId }) });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: { code: 'state-mismatch' } });
  });

  test('an unknown connection: 400 naming it (never a 404, which a client reads as "no token")', async () => {
    const answer = await tokenOrSignIn('lee', {
      connectionName: 'nope',
      state: sdkState('lee', { connectionName: 'nope' }),
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { message: expect.stringContaining('nope') } });
  });

  test('a bad bearer token: 401', async () => {
    const answer = await tokenOrSignIn('lee', {
      token: await world.entra.mint(BOT_A.appId, {}, { key: 'other' }),
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ error: { code: 'unauthenticated' } });
  });
});
