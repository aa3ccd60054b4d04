// SECURITY.md #48 and #49: which token-endpoint calls are sent again, and what a refused refresh does.
// The answers come from FAKE endpoints named by behaviour (test/support/fakeTokenEndpoints.ts),
// because oidc-provider cannot be made to time out after spending a code, nor to answer an empty
// 400 as Glewlwyd does. Each fake that "processes" a request spends its credential like a real
// provider, so `replays()` counts every second sending of one code or refresh token: "no replay"
// is asserted from the provider's side. The timeout-during-rotation case against the real server
// is in refresh.test.ts.
import { checkConnection } from '../../profiles/connectionCheck';
import { isAuthProfilesError } from '../../profiles/errors';
import { classifyFailure } from '../../profiles/oauth/tokenCallFailures';
import {
  DEFAULT_HTTP_POLICY,
  repeatDelay,
  retryAfterMs,
  type CallFailure,
  type TokenCall,
} from '../../profiles/retryPolicy';
import type { Profile } from '../../profiles/profileCatalog';
import type { StoredConnection } from '../../profiles/store/types';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { createHarness, type Harness } from '../support/engineHarness';
import {
  closedPort,
  FAKE_TOKEN_MARKER,
  startFakeTokenEndpoints,
  type FakeBehaviour,
  type FakeTokenEndpoints,
} from '../support/fakeTokenEndpoints';

let fakes: FakeTokenEndpoints;
let harness: Harness;

/** `timeoutAfterReceipt` → `timeout-after-receipt`: profile ids are lowercase with dashes. */
function kebab(name: string): string {
  return name.replace(/[A-Z0-9]+/g, (part) => `-${part.toLowerCase()}`);
}

function fakeProfile(
  id: string,
  tokenUrl: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    displayName: `Fake ${id}`,
    authorizationUrl: `http://127.0.0.1:${fakes.port}/authorize`,
    tokenUrl,
    clientId: 'fake-client',
    clientSecret: 'fake-client-secret-value',
    scopes: ['crm.objects.deals.read'],
    ...extra,
  };
}

const CODE_BEHAVIOURS: FakeBehaviour[] = [
  'timeoutAfterReceipt',
  'serverError500AfterReceipt',
  'rateLimitedWithRetryAfter',
  'unavailableWithRetryAfter',
  'rateLimitedForAnHour',
  'rateLimitedWithoutRetryAfter',
];
const REFRESH_BEHAVIOURS: FakeBehaviour[] = [
  'timeoutAfterReceipt',
  'serverError500AfterReceipt',
  'rateLimitedWithRetryAfter',
  'rateLimitedWithoutRetryAfter',
  'emptyBadRequest',
  'invalidGrant',
];

beforeAll(async () => {
  fakes = await startFakeTokenEndpoints();
  harness = await createHarness({
    profiles: [
      ...CODE_BEHAVIOURS.map((behaviour) => fakeProfile(`code-${kebab(behaviour)}`, fakes.url(behaviour))),
      // Connect through a good answer, refresh against the behaviour.
      ...REFRESH_BEHAVIOURS.map((behaviour) =>
        fakeProfile(`refresh-${kebab(behaviour)}`, fakes.url('noExpiresIn'), {
          refreshUrl: fakes.url(behaviour),
        }),
      ),
    ],
    // Short enough for the tests; the timeouts are what a real client would see after a lost answer.
    settings: { http: { timeoutMs: 400, attempts: 3, backoffMs: 20, maxRetryAfterMs: 2000 } },
  });
});

afterAll(async () => {
  await harness?.close();
  await fakes?.close();
});

let sequence = 0;
function newSubject(): Subject {
  sequence += 1;
  return { kind: 'user', channelId: 'webchat', userId: `retries-${sequence}` };
}

/** The whole callback path with a fresh code (the fakes remember codes they have spent). */
async function connect(target: Harness, profileId: string, subject: Subject = newSubject()) {
  const profile = await target.engine.catalog.get(profileId);
  const created = await target.engine.createAuthorizationRequest({
    profile,
    subject,
    createdBy: 'user:test',
  });
  const started = await target.engine.startAuthorization(created.requestId, undefined);
  const state = new URL(started.redirectUrl).searchParams.get('state') ?? '';
  sequence += 1;
  const code = `fake-code-${sequence}`;
  const startedAt = Date.now();
  const outcome = await target.engine.completeCallback({
    profileId,
    query: new URLSearchParams({ code, state }).toString(),
    browserBinding: started.binding,
  });
  return { profile, subject, outcome, code, requestId: created.requestId, elapsed: Date.now() - startedAt };
}

async function storedOf(profile: Profile, subject: Subject): Promise<StoredConnection> {
  const connection = await harness.store.connections.get(profile.id, subjectKey(subject));
  if (!connection) throw new Error('no connection');
  return connection;
}

/** Connected through a good code answer, with the clock moved past the token's expiry. */
async function expiredConnection(profileId: string) {
  const { profile, subject, outcome } = await connect(harness, profileId);
  expect(outcome.kind).toBe('connected');
  const connection = await storedOf(profile, subject);
  harness.clock.advance(connection.expiresAt - harness.clock() + 1);
  return { profile, subject, connection };
}

describe('the policy: which token-endpoint calls may be sent again (SECURITY.md #48)', () => {
  const policy = { ...DEFAULT_HTTP_POLICY, attempts: 3, backoffMs: 100, maxRetryAfterMs: 2000 };
  const failures: Record<string, CallFailure> = {
    'never sent (connection refused)': { kind: 'not-sent', detail: 'connection refused' },
    'a timeout': { kind: 'outcome-unknown', detail: 'timeout' },
    'a 500': { kind: 'outcome-unknown', detail: 'HTTP 500', httpStatus: 500 },
    'a 429 asking for 1 s': { kind: 'retry-after', httpStatus: 429, delayMs: 1000 },
    'a 429 asking for an hour': { kind: 'retry-after', httpStatus: 429, delayMs: 3_600_000 },
    'a 429 without Retry-After': { kind: 'retry-after', httpStatus: 429, delayMs: null },
  };
  const table: [TokenCall, string, 'again' | 'never'][] = [
    ['authorization_code', 'never sent (connection refused)', 'again'],
    ['authorization_code', 'a timeout', 'never'],
    ['authorization_code', 'a 500', 'never'],
    ['authorization_code', 'a 429 asking for 1 s', 'again'],
    ['authorization_code', 'a 429 asking for an hour', 'never'],
    ['authorization_code', 'a 429 without Retry-After', 'never'],
    ['refresh_token', 'never sent (connection refused)', 'again'],
    ['refresh_token', 'a timeout', 'never'],
    ['refresh_token', 'a 500', 'never'],
    ['refresh_token', 'a 429 asking for 1 s', 'again'],
    // Revoking twice is harmless (RFC 7009 §2.2): an unknown outcome may be sent again.
    ['revocation', 'a timeout', 'again'],
    ['revocation', 'a 500', 'again'],
  ];
  test.each(table)('%s after %s: %s', (call, failure, expected) => {
    const delay = repeatDelay(call, failures[failure] as CallFailure, 1, policy);
    expect(delay === null ? 'never' : 'again').toBe(expected);
    if (failure === 'a 429 asking for 1 s') expect(delay).toBe(1000);
  });

  test('nothing is sent more often than the policy allows, and a definite answer never again', () => {
    const refused: CallFailure = { kind: 'not-sent', detail: 'connection refused' };
    expect(repeatDelay('authorization_code', refused, 2, policy)).not.toBeNull();
    expect(repeatDelay('authorization_code', refused, 3, policy)).toBeNull();
    const answered = classifyFailure(new Error('not a Wreck error'));
    expect(answered.kind).toBe('answered');
    expect(repeatDelay('revocation', answered, 1, policy)).toBeNull();
  });

  test('Retry-After is read as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-02T10:00:00Z');
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs('Mon, 02 Nov 2026 10:00:03 GMT', now)).toBe(3000);
    expect(retryAfterMs('Mon, 02 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
  });
});

describe('code exchange (SECURITY.md #48)', () => {
  test.each(['timeoutAfterReceipt', 'serverError500AfterReceipt'] as const)(
    '%s: the sign-in fails as outcome unknown, and the code is sent exactly once',
    async (behaviour) => {
      const { outcome, requestId, subject, elapsed } = await connect(harness, `code-${kebab(behaviour)}`);
      expect(outcome.kind).toBe('failed');
      if (outcome.kind !== 'failed') return;
      expect(outcome.error.code).toBe('provider-outcome-unknown');
      expect(outcome.error.message).toMatch(
        /^the provider did not answer \((timeout|HTTP 500)\); it may already have used the authorization code, so it was not sent again$/,
      );
      expect(fakes.calls(behaviour, 'authorization_code')).toBe(1);
      expect(fakes.replays(behaviour)).toBe(0);
      // Gave up at once (after its own timeout), without a back-off and a second sending.
      expect(elapsed).toBeLessThan(behaviour === 'timeoutAfterReceipt' ? 400 + 300 : 300);
      expect(await harness.store.connections.get(outcome.profile.id, subjectKey(subject))).toBeNull();
      const request = await harness.store.authorizationRequests.get(requestId);
      expect(request?.outcome).toEqual({ result: 'failed', error: 'provider-outcome-unknown' });
      expect(harness.log.text()).not.toContain(FAKE_TOKEN_MARKER);
    },
  );

  test.each(['rateLimitedWithRetryAfter', 'unavailableWithRetryAfter'] as const)(
    '%s: the provider said it did not act and when to come back, so the code is sent again after the wait',
    async (behaviour) => {
      const { outcome, code, elapsed } = await connect(harness, `code-${kebab(behaviour)}`);
      expect(outcome.kind).toBe('connected');
      expect(fakes.requests.filter((r) => r.behaviour === behaviour && r.credential === code)).toHaveLength(
        2,
      );
      expect(elapsed).toBeGreaterThanOrEqual(1000);
    },
  );

  test.each(['rateLimitedForAnHour', 'rateLimitedWithoutRetryAfter'] as const)(
    '%s: not waited for; the sign-in fails as provider-unavailable after one request',
    async (behaviour) => {
      const { outcome, elapsed } = await connect(harness, `code-${kebab(behaviour)}`);
      expect(outcome.kind).toBe('failed');
      if (outcome.kind !== 'failed') return;
      expect(outcome.error.code).toBe('provider-unavailable');
      expect(outcome.error.message).toMatch(/^the provider is busy \(HTTP 429\)/);
      expect(fakes.calls(behaviour, 'authorization_code')).toBe(1);
      expect(elapsed).toBeLessThan(1000);
    },
  );

  test('connection refused is retried (nothing reached the provider): the provider comes up and gets the code once', async () => {
    const port = await closedPort();
    const late = await createHarness({
      profiles: [fakeProfile('comes-up', `http://127.0.0.1:${port}/noExpiresIn/token`)],
      settings: { http: { timeoutMs: 2000, attempts: 3, backoffMs: 400 } },
    });
    let upLater: FakeTokenEndpoints | undefined;
    try {
      // The first attempt meets a closed port; the provider starts listening during the back-off.
      const starting = new Promise<void>((resolve, reject) => {
        setTimeout(() => {
          startFakeTokenEndpoints({ port }).then((started) => {
            upLater = started;
            resolve();
          }, reject);
        }, 150);
      });
      const { outcome, code } = await connect(late, 'comes-up');
      await starting;
      expect(outcome.kind).toBe('connected');
      expect(upLater?.requests.map((r) => [r.behaviour, r.credential])).toEqual([['noExpiresIn', code]]);
    } finally {
      await upLater?.close();
      await late.close();
    }
  });
});

describe('refresh (SECURITY.md #48)', () => {
  test.each(['timeoutAfterReceipt', 'serverError500AfterReceipt'] as const)(
    '%s: stored tokens unchanged, "not answering", and the refresh token is sent once',
    async (behaviour) => {
      const { profile, subject, connection } = await expiredConnection(`refresh-${kebab(behaviour)}`);

      const result = await harness.engine.getToken(profile, subject);

      expect(result).toMatchObject({
        ok: false,
        reason: 'provider-unavailable',
        message: `${profile.displayName} is not answering right now; try again in a moment`,
      });
      expect(fakes.calls(behaviour, 'refresh_token')).toBe(1);
      expect(fakes.replays(behaviour)).toBe(0);
      expect(await storedOf(profile, subject)).toEqual(connection);
      const audit = await harness.store.audit.list({ limit: 5, target: `connection:${connection.id}` });
      expect(audit[0]).toMatchObject({
        action: 'connection.refresh-failed',
        details: { code: 'provider-outcome-unknown' },
      });
    },
  );

  test('a 429 with Retry-After is waited for and the refresh completes', async () => {
    const { profile, subject, connection } = await expiredConnection('refresh-rate-limited-with-retry-after');
    const result = await harness.engine.getToken(profile, subject);
    expect(result.ok).toBe(true);
    expect(fakes.calls('rateLimitedWithRetryAfter', 'refresh_token')).toBe(2);
    expect((await storedOf(profile, subject)).version).toBe(connection.version + 1);
  });

  test('a 429 without Retry-After is "busy", not a refusal: the connection stays active', async () => {
    const { profile, subject, connection } = await expiredConnection(
      'refresh-rate-limited-without-retry-after',
    );
    expect(await harness.engine.getToken(profile, subject)).toMatchObject({
      ok: false,
      reason: 'provider-unavailable',
    });
    expect(await storedOf(profile, subject)).toEqual(connection);
  });
});

describe('refresh refused by the provider (SECURITY.md #49)', () => {
  test('an empty 400 (Glewlwyd): needs-reauthorization, lastError with the status, no further provider calls', async () => {
    const { profile, subject, connection } = await expiredConnection('refresh-empty-bad-request');

    const result = await harness.engine.getToken(profile, subject);

    // Before issue 7 this was "not answering, try again" on every call, forever.
    expect(result).toEqual({
      ok: false,
      reason: 'needs-reauthorization',
      message: `the connection to ${profile.displayName} must be authorized again`,
      connectionId: connection.id,
    });
    const marked = await storedOf(profile, subject);
    expect(marked.status).toBe('needs-reauthorization');
    expect(marked.lastError).toBe('refresh-refused: HTTP 400, no error code');
    expect(marked.accessToken).toBe(connection.accessToken);
    const audit = await harness.store.audit.list({ limit: 5, target: `connection:${connection.id}` });
    expect(audit[0]).toMatchObject({
      action: 'connection.needs-reauthorization',
      details: { reason: 'refresh-refused: HTTP 400, no error code' },
    });
    for (let i = 0; i < 3; i += 1) {
      expect(await harness.engine.getToken(profile, subject)).toMatchObject({
        reason: 'needs-reauthorization',
      });
    }
    expect(fakes.calls('emptyBadRequest', 'refresh_token')).toBe(1);
  });

  test('the admin connection check says the provider refused it, with what the provider answered', async () => {
    const { connection } = await expiredConnection('refresh-empty-bad-request');
    const check = await checkConnection(harness.context, harness.engine.tokens, connection.id);
    expect(check).toMatchObject({
      ok: false,
      reason: 'needs-reauthorization',
      detail: 'refresh-refused: HTTP 400, no error code',
      refreshed: false,
    });
  });

  test('invalid_grant: lastError names the status and the error code, never the description', async () => {
    const { profile, subject } = await expiredConnection('refresh-invalid-grant');
    expect(await harness.engine.getToken(profile, subject)).toMatchObject({
      reason: 'needs-reauthorization',
    });
    const marked = await storedOf(profile, subject);
    expect(marked.lastError).toBe('invalid-grant: HTTP 400 invalid_grant');
    expect(JSON.stringify(marked)).not.toContain(FAKE_TOKEN_MARKER);
    const failure = [...harness.log.lines].reverse().find((line) => line.message === 'refresh failed');
    expect(failure?.fields).toMatchObject({ providerStatus: 400, providerError: 'invalid_grant' });
  });

  test('a refused code exchange keeps the provider status on the error', async () => {
    const error = classifyFailure(
      Object.assign(new Error('Response Error: 400'), {
        isBoom: true,
        output: { statusCode: 400 },
        data: { isResponseError: true, res: { statusCode: 400, headers: {} }, payload: null },
      }),
    );
    expect(error.kind).toBe('answered');
    if (error.kind !== 'answered') return;
    expect(isAuthProfilesError(error.error, 'provider-error')).toBe(true);
    expect(error.error.provider).toEqual({ httpStatus: 400, error: null });
  });
});
