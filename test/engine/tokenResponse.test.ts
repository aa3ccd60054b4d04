// SECURITY.md #14–#16: what the engine does with token-endpoint answers a real authorization server
// never gives. oidc-provider cannot be made to send them, so FAKE endpoints named by behaviour
// (test/support/fakeTokenEndpoints.ts) answer, and the real engine path runs against them:
// createAuthorizationRequest → startAuthorization → completeCallback (code exchange), and
// getToken (refresh). Every body a fake sends carries FAKE_TOKEN_MARKER; it must reach no error
// message, log line, audit entry or database page.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTokens } from '../../profiles/connections';
import { subjectKey, type Subject } from '../../profiles/subjects';
import type { StoredConnection } from '../../profiles/store/types';
import {
  FAKE_TOKEN_MARKER,
  startFakeTokenEndpoints,
  type FakeBehaviour,
  type FakeTokenEndpoints,
} from '../support/fakeTokenEndpoints';
import { createHarness, type Harness } from '../support/engineHarness';

let fakes: FakeTokenEndpoints;
let harness: Harness;

const MALFORMED: { behaviour: FakeBehaviour; message: RegExp }[] = [
  { behaviour: 'tokenSuccessWithoutAccessToken', message: /missing or malformed fields: access_token$/ },
  { behaviour: 'htmlBody', message: /not JSON/ },
  { behaviour: 'arrayBody', message: /missing or malformed fields: access_token/ },
  { behaviour: 'stringBody', message: /unreadable body/ },
  {
    behaviour: 'wrongTypes',
    message: /missing or malformed fields: access_token, token_type, expires_in, refresh_token$/,
  },
  { behaviour: 'unknownTokenType', message: /unsupported token_type "mac"/ },
];

/** `htmlBody` → `html-body`: profile ids are lowercase with dashes. */
function kebab(name: string): string {
  return name.replace(/[A-Z0-9]+/g, (part) => `-${part.toLowerCase()}`);
}

function fakeProfile(
  id: string,
  tokenBehaviour: FakeBehaviour,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    displayName: `Fake ${id}`,
    authorizationUrl: `http://127.0.0.1:${fakes.port}/authorize`,
    tokenUrl: fakes.url(tokenBehaviour),
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
      ...MALFORMED.map(({ behaviour }) => fakeProfile(`code-${kebab(behaviour)}`, behaviour)),
      // Connect through a well-formed answer, refresh against a malformed one.
      ...MALFORMED.map(({ behaviour }) =>
        fakeProfile(`refresh-${kebab(behaviour)}`, 'noExpiresIn', { refreshUrl: fakes.url(behaviour) }),
      ),
      fakeProfile('code-error-in-200-body', 'errorIn200Body'),
      fakeProfile('code-server-error-503', 'serverError503'),
      fakeProfile('no-expires-in', 'noExpiresIn', { defaultTokenTtlSeconds: 600 }),
      fakeProfile('no-expires-in-long', 'noExpiresIn', { defaultTokenTtlSeconds: 7200 }),
      fakeProfile('no-expires-in-default', 'noExpiresIn'),
      fakeProfile('no-expires-in-no-refresh', 'noExpiresInNoRefreshToken', { defaultTokenTtlSeconds: 300 }),
    ],
  });
});

afterAll(async () => {
  await harness?.close();
  await fakes?.close();
});

let subjects = 0;
function newSubject(): Subject {
  subjects += 1;
  return { kind: 'user', channelId: 'webchat', userId: `user-${subjects}` };
}

/** The whole callback path with a code the fake accepts; no browser is needed for a fake provider. */
async function connect(profileId: string, subject: Subject) {
  const profile = await harness.engine.catalog.get(profileId);
  const created = await harness.engine.createAuthorizationRequest({
    profile,
    subject,
    createdBy: 'user:test',
  });
  const started = await harness.engine.startAuthorization(created.requestId, undefined);
  const state = new URL(started.redirectUrl).searchParams.get('state') ?? '';
  const before = harness.clock();
  const outcome = await harness.engine.completeCallback({
    profileId,
    query: new URLSearchParams({ code: 'fake-authorization-code', state }).toString(),
    browserBinding: started.binding,
  });
  const after = harness.clock();
  return { profile, outcome, requestId: created.requestId, before, after };
}

/** Everything the engine wrote or said: log lines, audit entries and the SQLite files themselves. */
async function everythingRecorded(): Promise<string> {
  const audit = await harness.store.audit.list({ limit: 10_000 });
  const db = join(harness.dir, 'authprofiles.db');
  const files = [db, ...(existsSync(`${db}-wal`) ? [`${db}-wal`] : [])].map((file) =>
    readFileSync(file).toString('latin1'),
  );
  return [harness.log.text(), JSON.stringify(audit), ...files].join('\n');
}

function expireForRefresh(connection: StoredConnection): void {
  harness.clock.advance(connection.expiresAt - harness.clock() + 1);
}

describe('SECURITY.md #14: a 200 answer without access_token', () => {
  test('fails with invalid-token-response and stores nothing', async () => {
    const subject = newSubject();
    const connectionsBefore = await harness.store.connections.count({});
    const callsBefore = fakes.calls('tokenSuccessWithoutAccessToken', 'authorization_code');
    const { outcome, requestId } = await connect('code-token-success-without-access-token', subject);

    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.code).toBe('invalid-token-response');
    expect(outcome.error.message).toMatch(/access_token/);
    // The exchange really happened, once, with client authentication.
    expect(fakes.calls('tokenSuccessWithoutAccessToken', 'authorization_code')).toBe(callsBefore + 1);
    expect(fakes.requests.at(-1)?.clientAuthenticated).toBe(true);
    // Nothing stored: no connection, and the request is consumed with the failure recorded.
    expect(await harness.store.connections.get(outcome.profile.id, subjectKey(subject))).toBeNull();
    expect(await harness.store.connections.count({})).toBe(connectionsBefore);
    const request = await harness.store.authorizationRequests.get(requestId);
    expect(request?.status).toBe('completed');
    expect(request?.outcome).toEqual({ result: 'failed', error: 'invalid-token-response' });
    // The refresh token that came without an access token was not kept anywhere either.
    expect(JSON.stringify(outcome.error)).not.toContain(FAKE_TOKEN_MARKER);
    expect(await everythingRecorded()).not.toContain(FAKE_TOKEN_MARKER);
  });
});

describe('SECURITY.md #15: HTML, array, wrong types, unknown token_type', () => {
  test.each(MALFORMED.filter((m) => m.behaviour !== 'tokenSuccessWithoutAccessToken'))(
    'code exchange answered by $behaviour is rejected and its body is neither stored nor logged',
    async ({ behaviour, message }) => {
      const subject = newSubject();
      const { outcome } = await connect(`code-${kebab(behaviour)}`, subject);

      expect(outcome.kind).toBe('failed');
      if (outcome.kind !== 'failed') return;
      expect(outcome.error.code).toBe('invalid-token-response');
      expect(outcome.error.message).toMatch(message);
      expect(outcome.error.message).not.toContain(FAKE_TOKEN_MARKER);
      expect(String(outcome.error.stack)).not.toContain(FAKE_TOKEN_MARKER);
      expect(outcome.error.cause).toBeUndefined();
      expect(fakes.calls(behaviour, 'authorization_code')).toBe(1);
      expect(await harness.store.connections.get(outcome.profile.id, subjectKey(subject))).toBeNull();
      const failure = [...harness.log.lines]
        .reverse()
        .find((line) => line.message === 'authorization failed');
      expect(failure?.fields).toMatchObject({
        profileId: outcome.profile.id,
        errorCode: 'invalid-token-response',
      });
      expect(await everythingRecorded()).not.toContain(FAKE_TOKEN_MARKER);
    },
  );

  test.each(MALFORMED)(
    'a refresh answered by $behaviour leaves the stored tokens untouched and logs no body',
    async ({ behaviour }) => {
      const subject = newSubject();
      const { profile, outcome } = await connect(`refresh-${kebab(behaviour)}`, subject);
      expect(outcome.kind).toBe('connected');
      const stored = await harness.store.connections.get(profile.id, subjectKey(subject));
      if (!stored) throw new Error('no connection');
      expireForRefresh(stored);

      const result = await harness.engine.getToken(profile, subject);

      expect(result).toMatchObject({ ok: false, reason: 'provider-unavailable' });
      expect(fakes.calls(behaviour, 'refresh_token')).toBe(1);
      // Byte for byte the same record: no half-written tokens from a body we refused.
      expect(await harness.store.connections.getById(stored.id)).toEqual(stored);
      const failure = [...harness.log.lines].reverse().find((line) => line.message === 'refresh failed');
      expect(failure?.fields).toMatchObject({ connectionId: stored.id, errorCode: 'invalid-token-response' });
      expect(JSON.stringify(result)).not.toContain(FAKE_TOKEN_MARKER);
      expect(await everythingRecorded()).not.toContain(FAKE_TOKEN_MARKER);
    },
  );

  test('an OAuth error inside a 200 body (GitHub style) is a provider error naming only the code', async () => {
    const subject = newSubject();
    const { outcome } = await connect('code-error-in-200-body', subject);
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.code).toBe('provider-error');
    expect(outcome.error.message).toBe('the provider answered with error "bad_verification_code"');
    expect(await harness.store.connections.get(outcome.profile.id, subjectKey(subject))).toBeNull();
    // error_description carried the marker: it is not repeated anywhere.
    expect(await everythingRecorded()).not.toContain(FAKE_TOKEN_MARKER);
  });
});

describe('SECURITY.md #16: a token response without expires_in', () => {
  test('is stored with an estimated expiry of now + the profile default lifetime', async () => {
    const subject = newSubject();
    const { profile, outcome, before, after } = await connect('no-expires-in', subject);
    expect(profile.defaultTokenTtlSeconds).toBe(600);
    expect(outcome.kind).toBe('connected');
    if (outcome.kind !== 'connected') return;
    expect(outcome.connection.expiresAtEstimated).toBe(true);
    expect(outcome.connection.expiresAt).toBeGreaterThanOrEqual(before + 600_000);
    expect(outcome.connection.expiresAt).toBeLessThanOrEqual(after + 600_000);
    const stored = await harness.store.connections.get(profile.id, subjectKey(subject));
    expect(stored?.expiresAtEstimated).toBe(true);
    expect(stored?.expiresAt).toBe(outcome.connection.expiresAt);
  });

  test('the assumed lifetime is configurable per profile, with a default of one hour', async () => {
    const long = await connect('no-expires-in-long', newSubject());
    const byDefault = await connect('no-expires-in-default', newSubject());
    expect(byDefault.profile.defaultTokenTtlSeconds).toBe(3600);
    for (const [{ outcome, before, after }, seconds] of [
      [long, 7200],
      [byDefault, 3600],
    ] as const) {
      expect(outcome.kind).toBe('connected');
      if (outcome.kind !== 'connected') continue;
      expect(outcome.connection.expiresAtEstimated).toBe(true);
      expect(outcome.connection.expiresAt).toBeGreaterThanOrEqual(before + seconds * 1000);
      expect(outcome.connection.expiresAt).toBeLessThanOrEqual(after + seconds * 1000);
    }
  });

  test('once the estimate runs out, getToken refreshes; it never treats the token as never-expiring', async () => {
    const subject = newSubject();
    const { profile } = await connect('no-expires-in', subject);
    const first = await harness.engine.getToken(profile, subject);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const refreshesBefore = fakes.calls('noExpiresIn', 'refresh_token');

    // Still well inside the estimate: the stored token is used, the provider is not asked.
    harness.clock.advance(5 * 60_000);
    expect(await harness.engine.getToken(profile, subject)).toMatchObject({
      ok: true,
      accessToken: first.accessToken,
    });
    expect(fakes.calls('noExpiresIn', 'refresh_token')).toBe(refreshesBefore);

    // Past the estimate: refreshed, and the new (also undated) token gets a new estimate.
    harness.clock.advance(5 * 60_000 + 1);
    const now = harness.clock();
    const second = await harness.engine.getToken(profile, subject);
    expect(second.ok).toBe(true);
    if (!second.ok) return;
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.accessToken).toContain(FAKE_TOKEN_MARKER);
    expect(fakes.calls('noExpiresIn', 'refresh_token')).toBe(refreshesBefore + 1);
    const stored = await harness.store.connections.get(profile.id, subjectKey(subject));
    if (!stored) throw new Error('no connection');
    expect(stored.expiresAtEstimated).toBe(true);
    expect(stored.expiresAt).toBeGreaterThanOrEqual(now + 600_000);
    expect(stored.expiresAt).toBeLessThan(now + 600_000 + 10_000);
    expect(openTokens(harness.context, stored).accessToken).toBe(second.accessToken);

    // A year later it is refreshed again rather than handed out as if it never expired.
    harness.clock.advance(365 * 86_400_000);
    const third = await harness.engine.getToken(profile, subject);
    expect(third.ok && third.accessToken).not.toBe(second.accessToken);
    expect(fakes.calls('noExpiresIn', 'refresh_token')).toBe(refreshesBefore + 2);
  });

  test('without a refresh token, an expired estimate means needs-reauthorization, with no provider call', async () => {
    const subject = newSubject();
    const { profile, outcome } = await connect('no-expires-in-no-refresh', subject);
    expect(outcome.kind).toBe('connected');
    const stored = await harness.store.connections.get(profile.id, subjectKey(subject));
    if (!stored) throw new Error('no connection');
    expect(stored.refreshToken).toBeNull();
    expect(stored.expiresAtEstimated).toBe(true);
    const callsBefore = fakes.calls('noExpiresInNoRefreshToken');

    // Inside the refresh skew but not yet expired: nothing to refresh with, so the token is still used.
    harness.clock.advance(stored.expiresAt - harness.clock() - 30_000);
    expect(await harness.engine.getToken(profile, subject)).toMatchObject({ ok: true });

    harness.clock.advance(30_001);
    expect(await harness.engine.getToken(profile, subject)).toMatchObject({
      ok: false,
      reason: 'needs-reauthorization',
    });
    const after = await harness.store.connections.getById(stored.id);
    expect(after?.status).toBe('needs-reauthorization');
    expect(after?.lastError).toBe('expired');
    expect(fakes.calls('noExpiresInNoRefreshToken')).toBe(callsBefore);
  });
});

describe('failures of the code exchange that may come after the code was used (SECURITY.md #48)', () => {
  // These asserted the opposite until issue 7: a 503 or a timeout was retried, sending the one-time
  // code again although the provider may already have spent it.
  test('a 503 without Retry-After is not retried: one request, outcome unknown, nothing stored', async () => {
    const subject = newSubject();
    const { outcome } = await connect('code-server-error-503', subject);
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.code).toBe('provider-outcome-unknown');
    expect(outcome.error.message).toBe(
      'the provider did not answer (HTTP 503); it may already have used the authorization code, so it was not sent again',
    );
    expect(fakes.calls('serverError503', 'authorization_code')).toBe(1);
    expect(await harness.store.connections.get(outcome.profile.id, subjectKey(subject))).toBeNull();
    expect(await everythingRecorded()).not.toContain(FAKE_TOKEN_MARKER);
  });

  test.each(['hangs', 'hangsAfterHeaders'] as const)(
    'an endpoint that %s times out once and the code is not sent again',
    async (behaviour) => {
      const quick = await createHarness({
        profiles: [fakeProfile('slow', behaviour)],
        settings: { http: { timeoutMs: 300, attempts: 2, backoffMs: 20 } },
      });
      try {
        const profile = await quick.engine.catalog.get('slow');
        const created = await quick.engine.createAuthorizationRequest({
          profile,
          subject: newSubject(),
          createdBy: 'user:test',
        });
        const started = await quick.engine.startAuthorization(created.requestId, undefined);
        const state = new URL(started.redirectUrl).searchParams.get('state') ?? '';
        const startedAt = Date.now();
        const outcome = await quick.engine.completeCallback({
          profileId: 'slow',
          query: new URLSearchParams({ code: 'fake-authorization-code', state }).toString(),
          browserBinding: started.binding,
        });
        const elapsed = Date.now() - startedAt;
        expect(outcome.kind).toBe('failed');
        if (outcome.kind !== 'failed') return;
        // A timeout: the provider may have used the code, so the outcome is unknown.
        expect(outcome.error.code).toBe('provider-outcome-unknown');
        expect(outcome.error.message).toMatch(
          /^the provider did not answer \((timeout|the answer was cut off)\)/,
        );
        expect(fakes.calls(behaviour, 'authorization_code')).toBe(1);
        // Gave up after its own timeout rather than waiting for the endpoint, and did not wait again.
        expect(elapsed).toBeGreaterThanOrEqual(300);
        expect(elapsed).toBeLessThan(2 * 300 + 200);
        expect(quick.log.text()).not.toContain(FAKE_TOKEN_MARKER);
      } finally {
        await quick.close();
      }
    },
  );
});
