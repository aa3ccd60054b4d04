// Scopes on demand (issue 11 point 5) in the engine, against the REAL authorization server (oidc-provider
// child process): an action whose scopes the connection lacks fails with `missing-scopes`, a sign-in with
// `additionalScopes` replaces the same connection with a token for the old and the new scopes, and a
// consent where the user unticks a scope (the test server's partial-consent hook, which uses
// oidc-provider's own Grant API to reject it) is recorded so the action names it as declined. The API
// is a local HTTP server standing in for the provider's API (a stand-in, named as one).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAuthProfilesError } from '../../profiles/errors';
import { declinedScopesOf } from '../../profiles/scopesOnDemand';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import {
  authorize,
  createHarness,
  PUBLIC_URL,
  serverProfile,
  USER,
  type Harness,
} from '../support/engineHarness';
import type { Subject } from '../../profiles/subjects';
import { CREATE_NOTE_ACTION, TICKETS_ACTION } from '../support/chatActions';

const CLIENT = {
  client_id: 'on-demand',
  client_secret: 'on-demand-secret-value-1',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const DEALS = 'crm.objects.deals.read';
const TICKETS = 'crm.objects.tickets.read';
const NOTES_WRITE = 'crm.objects.notes.write';

// Needs DEALS (the profile's scope) and TICKETS (not granted at the first sign-in).
// A write is off until an admin turns it on: its scope is not one a sign-in may ask for meanwhile.
const NOTE_ACTION = { ...CREATE_NOTE_ACTION, scopes: [NOTES_WRITE] };

let server: RunningAuthServer;
let api: Server;
let apiUrl: string;
let harness: Harness;
const seenTokens: string[] = [];

beforeAll(async () => {
  server = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: [`${PUBLIC_URL}/oauth/callback/crm`, `${PUBLIC_URL}/oauth/callback/hub`],
      },
    ],
    scopes: [DEALS, TICKETS, NOTES_WRITE],
    accessTokenTtl: 600,
  });
  api = createServer((req, res) => {
    seenTokens.push(req.headers.authorization ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ results: [{ subject: 'Printer on fire' }] }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  harness = await createHarness({
    profiles: [
      serverProfile(server, 'crm', CLIENT, {
        scopes: [DEALS],
        apiBaseUrl: apiUrl,
        actions: [TICKETS_ACTION, NOTE_ACTION],
      }),
      serverProfile(server, 'hub', CLIENT, {
        scopes: [DEALS],
        optionalScopes: [TICKETS],
        optionalScopesParam: 'optional_scope',
        apiBaseUrl: apiUrl,
      }),
    ],
  });
}, 60_000);

afterAll(async () => {
  await harness?.close();
  await new Promise((resolve) => api?.close(resolve));
  await server?.stop();
});

function user(userId: string): Subject {
  return { kind: 'user', channelId: 'webchat', userId };
}

describe('an action whose scopes the connection lacks', () => {
  test('missing-scopes [B] → a consent for the additional scope → one token for A and B → the action runs', async () => {
    const subject = user('carol');
    const first = await authorize(harness, 'crm', subject);
    expect(first.outcome.kind).toBe('connected');
    expect(first.redirectUrl.searchParams.get('scope')).toBe(DEALS);
    const profile = await harness.engine.catalog.get('crm');
    const before = await harness.engine.connectionOf(profile, subject);
    expect(before?.scopes).toEqual([DEALS]);

    const missing = await harness.engine.runAction(profile, subject, 'tickets.list', {});
    expect(missing).toEqual({
      ok: false,
      action: 'tickets.list',
      code: 'missing-scopes',
      message: `this needs access Test crm has not granted: ${TICKETS}`,
      missingScopes: [TICKETS],
      connectionId: before?.id,
    });
    expect(seenTokens).toHaveLength(0);

    const second = await authorize(harness, 'crm', subject, {
      additionalScopes: (missing as { missingScopes: string[] }).missingScopes,
    });
    expect(second.outcome.kind).toBe('connected');
    // RFC 6749 §3.3: the union is asked for, so a server that issues exactly what was asked (this one,
    // with a new grant) gives a token for both, not for the missing one alone.
    expect(second.redirectUrl.searchParams.get('scope')).toBe(`${DEALS} ${TICKETS}`);
    const after = await harness.engine.connectionOf(profile, subject);
    // The same connection, replaced like any new sign-in: same record, same subject, next version.
    expect(after?.id).toBe(before?.id);
    expect(after?.subjectKey).toBe('user:webchat:carol');
    expect([...(after?.scopes ?? [])].sort()).toEqual([DEALS, TICKETS]);
    expect(after?.declinedScopes).toEqual([]);
    const stored = await harness.store.connections.getById(after?.id as string);
    expect(stored?.requestedScopes).toEqual([DEALS, TICKETS]);
    // More scopes than the profile lists is not a profile change (SECURITY.md #39): the token is used.
    expect(stored?.profileFingerprint).toBe(profile.fingerprint);
    const token = await harness.engine.getToken(profile, subject);
    expect(token).toMatchObject({ ok: true, declinedScopes: [] });
    expect(stored?.status).toBe('active');

    const ran = await harness.engine.runAction(profile, subject, 'tickets.list', {});
    expect(ran).toMatchObject({ ok: true, items: [{ values: { subject: 'Printer on fire' } }] });
    expect(seenTokens).toEqual([`Bearer ${(token as { accessToken: string }).accessToken}`]);

    // A later plain sign-in (a renewal) asks again for what was granted on demand, so it is not lost.
    const renewal = await authorize(harness, 'crm', subject);
    expect(renewal.redirectUrl.searchParams.get('scope')).toBe(`${DEALS} ${TICKETS}`);
    expect([...((await harness.engine.connectionOf(profile, subject))?.scopes ?? [])].sort()).toEqual([
      DEALS,
      TICKETS,
    ]);
  }, 30_000);

  test('the user unticks the new scope: it is recorded as declined and the action says "you declined"', async () => {
    const subject = user('dave');
    await authorize(harness, 'crm', subject);
    const profile = await harness.engine.catalog.get('crm');
    const partial = await authorize(harness, 'crm', subject, {
      additionalScopes: [TICKETS],
      declineScopes: [TICKETS],
    });
    expect(partial.outcome.kind).toBe('connected');
    expect(partial.redirectUrl.searchParams.get('scope')).toBe(`${DEALS} ${TICKETS}`);
    const summary = await harness.engine.connectionOf(profile, subject);
    expect(summary?.scopes).toEqual([DEALS]);
    expect(summary?.declinedScopes).toEqual([TICKETS]);
    expect(await harness.engine.getToken(profile, subject)).toMatchObject({
      ok: true,
      scopes: [DEALS],
      declinedScopes: [TICKETS],
    });

    const outcome = await harness.engine.runAction(profile, subject, 'tickets.list', {});
    expect(outcome).toEqual({
      ok: false,
      action: 'tickets.list',
      code: 'missing-scopes',
      message: `"My tickets" needs access you declined when you last signed in to Test crm: ${TICKETS}. Sign in again and allow it to use this`,
      missingScopes: [TICKETS],
      declinedScopes: [TICKETS],
      connectionId: summary?.id,
    });
    // With a token the caller holds (the authorization dialog's), the same answer.
    const held = await harness.engine.getToken(profile, subject);
    expect(
      await harness.engine.runAction(profile, subject, 'tickets.list', {}, { token: held }),
    ).toMatchObject({ code: 'missing-scopes', declinedScopes: [TICKETS] });

    // Asked again and allowed this time: nothing is declined any more and the action runs.
    await authorize(harness, 'crm', subject, { additionalScopes: [TICKETS] });
    expect((await harness.engine.connectionOf(profile, subject))?.declinedScopes).toEqual([]);
    expect(await harness.engine.runAction(profile, subject, 'tickets.list', {})).toMatchObject({ ok: true });
  }, 30_000);
});

test('the default connection, a named one, stays the default after its additional-scopes consent', async () => {
  const subject = user('gina');
  const profile = await harness.engine.catalog.get('crm');
  await authorize(harness, 'crm', subject);
  await authorize(harness, 'crm', subject, { connectionName: 'work' });
  expect(await harness.engine.setDefaultConnection(profile, subject, 'work')).toBe(true);
  const work = await harness.engine.connectionOf(profile, subject);
  expect(work?.name).toBe('work');

  const missing = await harness.engine.runAction(profile, subject, 'tickets.list', {});
  expect(missing).toMatchObject({ code: 'missing-scopes', connectionId: work?.id });
  await authorize(harness, 'crm', subject, { connectionName: 'work', additionalScopes: [TICKETS] });
  const after = await harness.engine.connectionOf(profile, subject);
  expect(after).toMatchObject({ id: work?.id, name: 'work', isDefault: true });
  expect([...(after?.scopes ?? [])].sort()).toEqual([DEALS, TICKETS]);
  expect(await harness.engine.runAction(profile, subject, 'tickets.list', {})).toMatchObject({ ok: true });
}, 30_000);

describe('what a sign-in may ask for (SECURITY.md #64)', () => {
  async function refusal(additionalScopes: unknown): Promise<{ message: string; issues: string[] }> {
    const profile = await harness.engine.catalog.get('crm');
    try {
      await harness.engine.createAuthorizationRequest({
        profile,
        subject: USER,
        createdBy: 'user:test',
        additionalScopes: additionalScopes as string[],
      });
    } catch (error) {
      if (!isAuthProfilesError(error, 'invalid-scopes')) throw error;
      expect(error.status).toBe(400);
      return { message: error.message, issues: error.issues.map((i) => `${i.path}: ${i.message}`) };
    }
    throw new Error('the request was accepted');
  }

  test('a scope no enabled action declares is refused, naming it; nothing is sent to the provider', async () => {
    const before = await harness.store.audit.list({ limit: 500 });
    expect((await refusal(['crm.admin.everything'])).issues).toEqual([
      'additionalScopes.0: "crm.admin.everything" is not a scope crm or any of its enabled actions declares',
    ]);
    // The write action is off by default: its scope cannot be asked for until an admin turns it on.
    expect((await refusal([TICKETS, NOTES_WRITE])).issues).toEqual([
      `additionalScopes.1: "${NOTES_WRITE}" is not a scope crm or any of its enabled actions declares`,
    ]);
    const after = await harness.store.audit.list({ limit: 500 });
    expect(after.filter((entry) => entry.action === 'authorization.requested')).toHaveLength(
      before.filter((entry) => entry.action === 'authorization.requested').length,
    );

    const base = await harness.engine.catalog.get('crm');
    const enabled = { ...base, actionSettings: { 'notes.create': { enabled: true } } };
    expect(harness.engine.declaredScopes(enabled)).toEqual([DEALS, TICKETS, NOTES_WRITE]);
    const created = await harness.engine.createAuthorizationRequest({
      profile: enabled,
      subject: user('erin'),
      createdBy: 'user:test',
      additionalScopes: [NOTES_WRITE],
    });
    const stored = await harness.store.authorizationRequests.get(created.requestId);
    expect(stored?.scopes).toEqual([DEALS, NOTES_WRITE]);
    expect(stored?.additionalScopes).toEqual([NOTES_WRITE]);
  });

  test('malformed lists are refused with the field named', async () => {
    expect((await refusal(['two words'])).issues).toEqual([
      'additionalScopes.0: must be an OAuth scope token',
    ]);
    expect((await refusal([''])).issues).toEqual(['additionalScopes.0: must be an OAuth scope token']);
    expect((await refusal([7])).issues).toEqual(['additionalScopes.0: must be an OAuth scope token']);
    expect((await refusal('crm.objects.tickets.read')).issues).toEqual([
      'additionalScopes: must be a list of scopes',
    ]);
    const many = Array.from({ length: 51 }, () => TICKETS);
    expect(await refusal(many)).toEqual({
      message: 'additionalScopes: must hold at most 50 scopes (got 51)',
      issues: ['additionalScopes: must hold at most 50 scopes (got 51)'],
    });
  });

  test("a profile's optional scope asked for on demand goes where the profile puts optional scopes", async () => {
    const profile = await harness.engine.catalog.get('hub');
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject: user('frank'),
      createdBy: 'user:test',
      additionalScopes: [TICKETS],
    });
    const started = await harness.engine.startAuthorization(created.requestId, undefined);
    const url = new URL(started.redirectUrl);
    expect(url.searchParams.get('scope')).toBe(DEALS);
    expect(url.searchParams.get('optional_scope')).toBe(TICKETS);
  });
});

describe('declinedScopesOf', () => {
  test('requested minus granted, without identity scopes; unknown when the request was not recorded', () => {
    expect(declinedScopesOf({ scopes: ['a'], requestedScopes: ['openid', 'email', 'a', 'b'] })).toEqual([
      'b',
    ]);
    expect(declinedScopesOf({ scopes: ['a'], requestedScopes: null })).toEqual([]);
    expect(declinedScopesOf({ scopes: ['a'] })).toEqual([]);
  });
});
