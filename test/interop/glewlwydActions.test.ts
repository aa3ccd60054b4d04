// Actions without code on a second, independent server (issue 11, "Done when"): a custom profile
// file, as a bot developer writes it, for Glewlwyd 2.7.5 (Debian package, test/support/glewlwydServer)
// declaring an action on Glewlwyd's own bearer-protected API: its OpenID Connect userinfo endpoint
// (the only one it serves to a user's access token; introspection and revocation take client
// credentials, its token and profile APIs a session cookie). Run by the engine (engine.runAction) and
// by the real service process (PROFILES_DIR): chat sign-in, the execute API, the proxy, and chat.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTokens } from '../../profiles/connections';
import { generateKeySpec } from '../../profiles/encryption';
import type { StoredConnection } from '../../profiles/store/types';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { createHarness, PUBLIC_URL, type Harness } from '../support/engineHarness';
import { glewlwydUnavailableReason, startGlewlwyd, type RunningGlewlwyd } from '../support/glewlwydServer';
import {
  adminCalls,
  chatWith,
  shown,
  signInFromChat,
  storedAccessToken,
  type ServiceChat,
} from '../support/serviceChat';
import { freePort, startService, type RunningService } from '../support/serviceProcess';

const unavailable = glewlwydUnavailableReason();
if (unavailable) {
  console.warn(
    `\n!!! Glewlwyd actions tests SKIPPED: ${unavailable}\n` +
      '!!! CI installs it (.ci/run); without it no custom profile action ran against a second real server.\n',
  );
}
const describeWithGlewlwyd = unavailable ? describe.skip : describe;

const ID = 'glew';

/** The profile file a bot developer writes for their Glewlwyd (its URLs are this run's). */
function glewlwydProfileFile(glew: RunningGlewlwyd): Record<string, unknown> {
  return {
    id: ID,
    displayName: 'Glewlwyd',
    authorizationUrl: glew.authorizationUrl,
    tokenUrl: glew.tokenUrl,
    revocationUrl: glew.revocationUrl,
    issuer: glew.issuer,
    issuerParameterSupported: true,
    jwksUrl: glew.jwksUrl,
    clientId: glew.clientId,
    clientSecret: glew.clientSecret,
    tokenEndpointAuthMethod: 'client_secret_basic',
    scopes: ['openid'],
    apiBaseUrl: glew.issuer,
    actions: [
      {
        entity: 'me',
        action: 'show',
        title: 'Who am I',
        description: 'Your account at Glewlwyd (its OpenID Connect userinfo)',
        path: '/userinfo',
        scopes: ['openid'],
        results: {
          titleField: 'name',
          fields: [
            { path: 'sub', label: 'Subject' },
            { path: 'name', label: 'Name' },
            { path: 'email', label: 'Email', format: 'email' },
          ],
        },
        phrases: ['who am i', 'show my account'],
      },
    ],
  };
}

let glew: RunningGlewlwyd;
let servicePort: number;

beforeAll(async () => {
  if (unavailable) return;
  servicePort = await freePort();
  glew = await startGlewlwyd({
    redirectUris: [
      `${PUBLIC_URL}/oauth/callback/${ID}`,
      `http://127.0.0.1:${servicePort}/oauth/callback/${ID}`,
    ],
    // Glewlwyd's userinfo says who the user is (name, e-mail), as a deployment for people would.
    claims: { name: 'mandatory', email: 'mandatory' },
  });
}, 30_000);

afterAll(async () => {
  await glew?.stop();
});

/** Glewlwyd's own userinfo answer for a token (the truth the action's result is compared with). */
async function userinfo(
  accessToken: string,
  query = '',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${glew.userinfoUrl}${query}`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describeWithGlewlwyd('engine.runAction with the Glewlwyd profile file', () => {
  let harness: Harness;
  const subject: Subject = { kind: 'user', channelId: 'webchat', userId: 'glew-actions-1' };

  beforeAll(async () => {
    harness = await createHarness({ profiles: [glewlwydProfileFile(glew)] });
    const profile = await harness.engine.catalog.get(ID);
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject,
      createdBy: 'user:test',
    });
    const started = await harness.engine.startAuthorization(created.requestId, undefined);
    const callback = await glew.signIn(started.redirectUrl);
    const outcome = await harness.engine.completeCallback({
      profileId: ID,
      query: callback.search.slice(1),
      browserBinding: started.binding,
    });
    expect(outcome.kind).toBe('connected');
  }, 30_000);

  afterAll(async () => {
    await harness?.close();
  });

  async function stored(): Promise<StoredConnection> {
    const connection = await harness.store.connections.get(ID, subjectKey(subject));
    if (!connection) throw new Error('no connection');
    return connection;
  }

  async function run(key: string, params: unknown = {}) {
    return harness.engine.runAction(await harness.engine.catalog.get(ID), subject, key, params);
  }

  test('"me.show" returns the declared fields of Glewlwyd’s userinfo: the ID token’s subject, the name and the e-mail', async () => {
    const outcome = await run('me.show');
    const connection = await stored();
    const truth = await userinfo(openTokens(harness.context, connection).accessToken, '');
    expect(truth).toEqual({
      status: 200,
      body: { sub: expect.any(String), name: 'Alice Example', email: 'alice@example.test' },
    });
    expect(outcome).toEqual({
      ok: true,
      action: 'me.show',
      status: 200,
      fields: [
        { name: 'sub', label: 'Subject', format: 'text' },
        { name: 'name', label: 'Name', format: 'text' },
        { name: 'email', label: 'Email', format: 'email' },
      ],
      items: [
        {
          title: 'Alice Example',
          values: { sub: truth.body.sub, name: 'Alice Example', email: 'alice@example.test' },
        },
      ],
    });
    // OpenID Connect Core §5.3.2: the same subject as the verified ID token the sign-in kept.
    expect(connection.account?.sub).toBe(truth.body.sub);
  });

  test('an access token Glewlwyd revoked: 401, one refresh at Glewlwyd, then the action succeeds', async () => {
    const before = openTokens(harness.context, await stored()).accessToken;
    const basic = Buffer.from(`${glew.clientId}:${glew.clientSecret}`).toString('base64');
    const revoked = await fetch(glew.revocationUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: before, token_type_hint: 'access_token' }),
    });
    expect(revoked.status).toBe(200);
    expect((await userinfo(before)).status).toBe(401);

    const outcome = await run('me.show');
    expect(outcome).toMatchObject({ ok: true, items: [{ title: 'Alice Example' }] });
    const after = openTokens(harness.context, await stored()).accessToken;
    expect(after).not.toBe(before);
    expect((await userinfo(after)).status).toBe(200);
  });

  test.each([
    [
      'a parameter it does not declare',
      { user: 'admin' },
      'params.user',
      'is not a parameter of this action',
    ],
    ['params that are a list', ['admin'], 'params', 'must be an object'],
    ['params that are text', 'admin', 'params', 'must be an object'],
  ])('%s is refused naming it', async (_name, params, path, message) => {
    const outcome = await run('me.show', params);
    expect(outcome).toMatchObject({
      ok: false,
      code: 'invalid-params',
      issues: [{ path, message: expect.stringContaining(message) }],
    });
  });

  test('an unknown action is refused naming it', async () => {
    expect(await run('me.delete')).toEqual({
      ok: false,
      action: 'me.delete',
      code: 'unknown-action',
      message: 'Glewlwyd has no action "me.delete"',
    });
  });

  test('after sign-out (revoked at Glewlwyd) the action says the user is not connected', async () => {
    const profile = await harness.engine.catalog.get(ID);
    await harness.engine.signOut(profile, subject, 'user:test');
    expect(await run('me.show')).toMatchObject({ ok: false, code: 'not-connected' });
  });
});

describeWithGlewlwyd('the service with the Glewlwyd profile file in PROFILES_DIR', () => {
  const adminKey = `admin-${randomBytes(18).toString('hex')}`;
  const encryptionKeys = generateKeySpec('glew1');
  let profilesDir: string;
  let service: RunningService;
  let chat: ServiceChat;
  let api: ReturnType<typeof adminCalls>;
  let connectionId: string;
  let accessToken: string;

  beforeAll(async () => {
    profilesDir = mkdtempSync(join(tmpdir(), 'authprofiles-glew-profiles-'));
    writeFileSync(join(profilesDir, `${ID}.json`), JSON.stringify(glewlwydProfileFile(glew), null, 2));
    service = await startService({
      name: 'glewlwyd-actions',
      port: servicePort,
      env: {
        PUBLIC_URL: `http://127.0.0.1:${servicePort}`,
        PROFILES_DIR: profilesDir,
        ENCRYPTION_KEYS: encryptionKeys,
        ADMIN_API_KEYS: `admin:${adminKey}`,
      },
    });
    api = adminCalls(service, adminKey);
    chat = await chatWith(service, { id: 'dl_glew', name: 'Glew User' });
    const connected = await signInFromChat(chat, service, `connect ${ID}`, (url) => glew.signIn(url));
    expect(shown(connected)).toMatch(/connected to Glewlwyd/i);
    const listed = await api('GET', `/admin/api/connections?profileId=${ID}`);
    const connections = (listed.json as { connections: { id: string; status: string }[] }).connections;
    expect(connections).toEqual([expect.objectContaining({ status: 'active' })]);
    connectionId = connections[0]?.id as string;
    accessToken = await storedAccessToken(service, encryptionKeys, connectionId);
  }, 60_000);

  afterAll(async () => {
    await chat?.close();
    await service?.stop();
    if (profilesDir) rmSync(profilesDir, { recursive: true, force: true });
  });

  test('the execute API runs "me.show" with the chat user’s connection: Glewlwyd’s subject and name', async () => {
    const truth = await userinfo(accessToken, '');
    expect(truth.status).toBe(200);
    const answer = await api('POST', `/api/actions/${ID}/me/show`, { body: { connectionId } });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      action: 'me.show',
      status: 200,
      fields: [
        { name: 'sub', label: 'Subject', format: 'text' },
        { name: 'name', label: 'Name', format: 'text' },
        { name: 'email', label: 'Email', format: 'email' },
      ],
      results: [{ sub: truth.body.sub, name: 'Alice Example', email: 'alice@example.test' }],
    });
    expect(answer.text).not.toContain(accessToken);
  });

  test('the proxy gives Glewlwyd’s own userinfo answer, the same data, and never the token', async () => {
    const truth = await userinfo(accessToken, '');
    const answer = await api('GET', `/api/proxy/${ID}/userinfo`, {
      headers: { 'x-authprofiles-connection-id': connectionId },
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual(truth.body);
    expect(answer.text).not.toContain(accessToken);
    expect(JSON.stringify(answer.headers)).not.toContain(accessToken);
  });

  test.each([
    ['a parameter it does not declare', 'me/show', { params: { user: 'admin' } }, 400, 'invalid-params'],
    ['an unknown action', 'me/delete', {}, 404, 'unknown-action'],
    ['an unknown field in the body', 'me/show', { claims: 'name' }, 400, 'invalid-request'],
  ])('the execute API refuses %s with a 4xx naming it', async (_name, path, body, status, code) => {
    const answer = await api('POST', `/api/actions/${ID}/${path}`, { body: { connectionId, ...body } });
    expect(answer.status).toBe(status);
    expect(answer.json).toMatchObject({ error: { code } });
    expect(answer.text).not.toContain(accessToken);
  });

  /** What the replies' cards say, without the zero-width spaces that keep values inert. */
  function cardText(replies: readonly { attachments?: { contentType?: string }[] }[]): string {
    const cards = replies.flatMap((reply) =>
      (reply.attachments ?? []).filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive'),
    );
    return JSON.stringify(cards).replace(/\u200b/g, '');
  }

  test('chat: "glew: who am i" answers with Glewlwyd’s userinfo as a card', async () => {
    const truth = await userinfo(accessToken);
    const replies = await chat.say('glew: who am i', (r) => cardText(r) !== '[]');
    const card = cardText(replies);
    expect(card).toContain('Who am I');
    expect(card).toContain('Alice Example');
    expect(card).toContain('alice@example.test');
    expect(card).toContain(String(truth.body.sub));
    expect(shown(chat.replies)).not.toContain(accessToken);
  });

  test('chat: the menu card lists the action; its button runs it', async () => {
    const menu = cardText(await chat.say('glew actions', (r) => cardText(r) !== '[]'));
    expect(menu).toContain('Glewlwyd: what I can do');
    expect(menu).toContain('"data":{"authprofiles":{"profile":"glew","action":"me.show"}}');
    const replies = await chat.submit({ authprofiles: { profile: 'glew', action: 'me.show' } }, (r) =>
      cardText(r).includes('Alice Example'),
    );
    expect(cardText(replies)).toContain('alice@example.test');
  });

  test('chat: an action Glewlwyd’s profile does not have is named, with the way to the menu', async () => {
    const replies = await chat.say('glew: delete my account');
    expect(shown(replies)).toContain('Glewlwyd has no action like "delete my account"');
    expect(shown(replies)).toContain('Say "glew actions" to see what it can do');
    expect(cardText(replies)).toBe('[]');
  });

  test('the proxy refuses a caller without a valid key (401)', async () => {
    const response = await fetch(`${service.baseUrl}/api/proxy/${ID}/userinfo`, {
      headers: { 'x-authprofiles-connection-id': connectionId, authorization: 'Bearer not-a-key-at-all-xyz' },
    });
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain(accessToken);
  });
});
