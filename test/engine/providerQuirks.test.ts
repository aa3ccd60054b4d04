// Issue 7 point 15: provider quirks as profile data. Slack answers HTTP 200 {"ok": false} to a dead
// token (`responseSuccessField`), Salesforce assigns each org its own API host in the token response
// (`apiBaseUrlFrom: "instance_url"`), and 60-second tokens must not be refreshed on every call (the
// refresh margin scales with the lifetime). The providers' answers come from FAKE endpoints named
// by behaviour (test/support/fakeTokenEndpoints.ts): neither Slack nor Salesforce runs here.
import { checkConnection } from '../../profiles/connectionCheck';
import { summarize } from '../../profiles/connections';
import { isAuthProfilesError } from '../../profiles/errors';
import { acceptProviderUrl } from '../../profiles/providerUrls';
import type { StoredConnection } from '../../profiles/store/types';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { refreshMarginMs } from '../../profiles/tokens';
import { createHarness, type Harness } from '../support/engineHarness';
import {
  startFakeTokenEndpoints,
  type FakeBehaviour,
  type FakeTokenEndpoints,
} from '../support/fakeTokenEndpoints';

let fakes: FakeTokenEndpoints;
let harness: Harness;

function fakeProfile(id: string, behaviour: FakeBehaviour, extra: Record<string, unknown> = {}) {
  return {
    id,
    displayName: `Fake ${id}`,
    authorizationUrl: `http://127.0.0.1:${fakes.port}/authorize`,
    tokenUrl: fakes.url(behaviour),
    clientId: 'fake-client',
    clientSecret: 'fake-client-secret-value',
    scopes: ['crm.objects.deals.read'],
    ...extra,
  };
}

beforeAll(async () => {
  fakes = await startFakeTokenEndpoints();
  harness = await createHarness({
    profiles: [
      fakeProfile('slack-like', 'noExpiresIn', {
        checkUrl: fakes.checkUrl('okFalse'),
        responseSuccessField: 'ok',
      }),
      fakeProfile('slack-like-alive', 'noExpiresIn', {
        checkUrl: fakes.checkUrl('okTrue'),
        responseSuccessField: 'ok',
      }),
      fakeProfile('slack-without-rule', 'noExpiresIn', { checkUrl: fakes.checkUrl('okFalse') }),
      fakeProfile('salesforce-like', 'withInstanceUrl', {
        apiBaseUrlFrom: 'instance_url',
        apiBaseUrl: 'https://login.example.com/default-api',
      }),
      fakeProfile('salesforce-unsafe', 'withUnsafeInstanceUrl', { apiBaseUrlFrom: 'instance_url' }),
      fakeProfile('salesforce-missing', 'noExpiresIn', { apiBaseUrlFrom: 'instance_url' }),
      fakeProfile('short-lived', 'shortLivedTokens'),
    ],
  });
});

afterAll(async () => {
  await harness?.close();
  await fakes?.close();
});

let users = 0;
function newSubject(): Subject {
  users += 1;
  return { kind: 'user', channelId: 'webchat', userId: `quirks-${users}` };
}

async function connect(profileId: string, subject: Subject = newSubject()) {
  const profile = await harness.engine.catalog.get(profileId);
  const created = await harness.engine.createAuthorizationRequest({
    profile,
    subject,
    createdBy: 'user:test',
  });
  const started = await harness.engine.startAuthorization(created.requestId, undefined);
  const state = new URL(started.redirectUrl).searchParams.get('state') ?? '';
  users += 1;
  const outcome = await harness.engine.completeCallback({
    profileId,
    query: new URLSearchParams({ code: `quirk-code-${users}`, state }).toString(),
    browserBinding: started.binding,
  });
  return { profile, subject, outcome };
}

async function storedOf(profileId: string, subject: Subject): Promise<StoredConnection> {
  const connection = await harness.store.connections.get(profileId, subjectKey(subject));
  if (!connection) throw new Error('no connection');
  return connection;
}

describe('Slack: HTTP 200 {"ok": false} for a dead token (responseSuccessField)', () => {
  test('the connection check reports it as refused, with the API error code', async () => {
    const { subject, outcome } = await connect('slack-like');
    expect(outcome.kind).toBe('connected');
    const connection = await storedOf('slack-like', subject);
    const check = await checkConnection(harness.context, harness.engine.tokens, connection.id);
    expect(check).toMatchObject({
      ok: false,
      reason: 'rejected',
      status: 200,
      detail: 'the API answered "ok": false (error "invalid_auth")',
    });
    // The check really called the API with this connection's token.
    expect(fakes.checkRequests.at(-1)).toMatch(/^at-FAKE-TOKEN-MARKER/);
  });

  test('{"ok": true} passes', async () => {
    const { subject } = await connect('slack-like-alive');
    const connection = await storedOf('slack-like-alive', subject);
    expect(await checkConnection(harness.context, harness.engine.tokens, connection.id)).toMatchObject({
      ok: true,
      reason: 'ok',
      status: 200,
    });
  });

  test('without the rule the same dead-token answer looks like success: why the field exists', async () => {
    const { subject } = await connect('slack-without-rule');
    const connection = await storedOf('slack-without-rule', subject);
    expect(await checkConnection(harness.context, harness.engine.tokens, connection.id)).toMatchObject({
      ok: true,
      reason: 'ok',
    });
  });
});

describe("Salesforce: the token response's instance_url is the connection's API base (apiBaseUrlFrom)", () => {
  test('kept on the connection, shown in its summary, and handed out with the token', async () => {
    const { profile, subject, outcome } = await connect('salesforce-like');
    expect(outcome.kind).toBe('connected');
    const instanceA = `http://127.0.0.1:${fakes.port}/instance-a`;
    const stored = await storedOf('salesforce-like', subject);
    expect(stored.apiBaseUrl).toBe(instanceA);
    expect(summarize(stored, harness.engine.context.keyRing).apiBaseUrl).toBe(instanceA);
    expect(await harness.engine.getToken(profile, subject)).toMatchObject({
      ok: true,
      apiBaseUrl: instanceA,
    });
  });

  test('a refresh that names another instance moves the connection there', async () => {
    const { profile, subject } = await connect('salesforce-like');
    const before = await storedOf('salesforce-like', subject);
    harness.clock.advance(before.expiresAt - harness.clock() + 1);
    const refreshed = await harness.engine.getToken(profile, subject);
    const instanceB = `http://127.0.0.1:${fakes.port}/instance-b`;
    expect(refreshed).toMatchObject({ ok: true, apiBaseUrl: instanceB });
    expect((await storedOf('salesforce-like', subject)).apiBaseUrl).toBe(instanceB);
  });

  test('an instance_url that breaks the address rule fails the sign-in, and nothing is stored', async () => {
    const { subject, outcome } = await connect('salesforce-unsafe');
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.code).toBe('invalid-token-response');
    expect(outcome.error.message).toBe(
      "the token response's instance_url must use https (http only on loopback)",
    );
    expect(await harness.store.connections.get('salesforce-unsafe', subjectKey(subject))).toBeNull();
  });

  test('a token response without instance_url fails the sign-in: the API could not be called', async () => {
    const { outcome } = await connect('salesforce-missing');
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.message).toBe(
      'the token response has no instance_url, which this profile uses as its API base URL',
    );
  });

  test('in production the same address rule as profile URLs applies (no private hosts)', () => {
    const production = { allowInsecureLoopback: false };
    expect(acceptProviderUrl('https://acme.my.salesforce.com/', 'instance_url', production)).toBe(
      'https://acme.my.salesforce.com',
    );
    for (const unsafe of ['https://10.0.0.5', 'https://169.254.169.254', 'http://acme.my.salesforce.com']) {
      let error: unknown;
      try {
        acceptProviderUrl(unsafe, 'instance_url', production);
      } catch (caught) {
        error = caught;
      }
      expect(isAuthProfilesError(error, 'invalid-token-response')).toBe(true);
    }
  });
});

describe('the refresh margin scales with the token lifetime', () => {
  test('a 60-second token is used for most of its life, not refreshed on every call', async () => {
    const { profile, subject } = await connect('short-lived');
    const stored = await storedOf('short-lived', subject);
    // A 60 s token (the expiry is computed a moment before the record's creation time).
    expect(stored.expiresAt - stored.createdAt).toBeGreaterThan(59_000);
    expect(stored.expiresAt - stored.createdAt).toBeLessThanOrEqual(60_000);
    const first = await harness.engine.getToken(profile, subject);
    // With the fixed 60 s skew this call refreshed at once, and so did every later one.
    expect(fakes.calls('shortLivedTokens', 'refresh_token')).toBe(0);

    harness.clock.advance(45_000);
    expect(await harness.engine.getToken(profile, subject)).toMatchObject({
      ok: true,
      accessToken: first.ok ? first.accessToken : 'none',
    });
    expect(fakes.calls('shortLivedTokens', 'refresh_token')).toBe(0);

    // 11 s left, inside the 12 s margin (a fifth of 60 s): refreshed once.
    harness.clock.advance(4_000);
    const refreshed = await harness.engine.getToken(profile, subject);
    expect(refreshed.ok && refreshed.accessToken).not.toBe(first.ok && first.accessToken);
    expect(fakes.calls('shortLivedTokens', 'refresh_token')).toBe(1);
    await harness.engine.getToken(profile, subject);
    expect(fakes.calls('shortLivedTokens', 'refresh_token')).toBe(1);
  });

  test.each([
    ['an hour-long token keeps the configured skew', 3_600_000, 60_000],
    ['a 60 s token: a fifth of its life', 60_000, 12_000],
    ['a 20 s token: the 5 s floor', 20_000, 5_000],
    ['a 6 s token: never more than half its life', 6_000, 3_000],
    ['an unknown lifetime: the skew', 0, 60_000],
  ])('%s', (_what, lifetime, margin) => {
    expect(refreshMarginMs(lifetime, 60_000)).toBe(margin);
  });
});
