// Refresh against the REAL authorization server (oidc-provider in a child process): SECURITY.md
// #17–#22, tokens the API rejected, and profile changes (SECURITY.md #39 groundwork). Provider-side effects are
// read from the server's /_stats counters; faults come from its /_faults hook. Our clock is moved
// with the harness clock instead of sleeping, except where other processes share the store (SECURITY.md
// #21–#22), which use real time on a harness whose clock is never moved.
import { generateKeySpec } from '../../profiles/encryption';
import { AuthProfilesError } from '../../profiles/errors';
import { openTokens } from '../../profiles/connections';
import { fingerprintOf, type Profile } from '../../profiles/profileCatalog';
import type { Store, StoredConnection } from '../../profiles/store/types';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { startAuthServer, type AuthServerClient, type RunningAuthServer } from '../support/authServer';
import {
  authorize,
  createHarness,
  FAST_SETTINGS,
  PUBLIC_URL,
  serverProfile,
  type Harness,
} from '../support/engineHarness';
import { closedPort, startFakeTokenEndpoints, type FakeTokenEndpoints } from '../support/fakeTokenEndpoints';
import { startRefreshWorkers } from '../support/refreshWorkers';
import { sha256 } from '../../profiles/ids';

const ROTATING = {
  client_id: 'rotating',
  client_secret: 'rotating-secret-value-1',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const STATIC = {
  client_id: 'static',
  client_secret: 'static-secret-value-2',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const KEYS = generateKeySpec('test1');

let server: RunningAuthServer;
let fakes: FakeTokenEndpoints;
/** Clock moved freely by the tests. */
let main: Harness;
/** Real time, refreshLeaseMs 1000: shares nothing with `main`; workers share its SQLite file. */
let live: Harness;
let profiles: Record<string, unknown>[];

function callbacks(...ids: string[]): string[] {
  return ids.map((id) => `${PUBLIC_URL}/oauth/callback/${id}`);
}

beforeAll(async () => {
  const clients: AuthServerClient[] = [
    { ...ROTATING, redirect_uris: callbacks('rotating', 'refused'), rotateRefreshToken: true },
    { ...STATIC, redirect_uris: callbacks('static', 'static-stripped'), rotateRefreshToken: false },
  ];
  server = await startAuthServer({ clients, scopes: 'crm.objects.deals.read', accessTokenTtl: 600 });
  fakes = await startFakeTokenEndpoints({ upstream: server.url('/token') });
  const refusing = `http://127.0.0.1:${await closedPort()}/token`;
  profiles = [
    serverProfile(server, 'rotating', ROTATING),
    serverProfile(server, 'static', STATIC),
    // Non-rotating provider that also leaves refresh_token out of refresh answers (SECURITY.md #17).
    serverProfile(server, 'static-stripped', STATIC, { refreshUrl: fakes.url('refreshWithoutRefreshToken') }),
    serverProfile(server, 'refused', ROTATING, { refreshUrl: refusing }),
  ];
  main = await createHarness({ profiles, encryptionKeys: KEYS });
  live = await createHarness({ profiles, encryptionKeys: KEYS, settings: { refreshLeaseMs: 1000 } });
});

afterAll(async () => {
  await main?.close();
  await live?.close();
  await fakes?.close();
  await server?.stop();
});

afterEach(async () => {
  await server.resetFaults();
});

let users = 0;
async function connect(harness: Harness, profileId: string) {
  users += 1;
  const subject: Subject = { kind: 'user', channelId: 'webchat', userId: `refresh-user-${users}` };
  const { outcome } = await authorize(harness, profileId, subject);
  expect(outcome.kind).toBe('connected');
  const profile = await harness.engine.catalog.get(profileId);
  return { profile, subject, connection: await storedOf(harness, profile, subject) };
}

async function storedOf(harness: Harness, profile: Profile, subject: Subject): Promise<StoredConnection> {
  const connection = await harness.store.connections.get(profile.id, subjectKey(subject));
  if (!connection) throw new Error(`no connection for ${subjectKey(subject)}`);
  return connection;
}

/** Moves the harness clock to the stored expiry, so the next getToken must refresh. */
async function expire(harness: Harness, profile: Profile, subject: Subject): Promise<StoredConnection> {
  const connection = await storedOf(harness, profile, subject);
  harness.clock.advance(connection.expiresAt - harness.clock() + 1);
  return connection;
}

/** For connections other processes read: rewrites the stored expiry into the (real) past. */
async function expireInRealTime(harness: Harness, connection: StoredConnection): Promise<StoredConnection> {
  const updated = await harness.store.connections.update(connection.id, connection.version, {
    expiresAt: Date.now() - 1000,
  });
  if (!updated) throw new Error('connection moved');
  return updated;
}

async function refreshCalls(): Promise<number> {
  return (await server.stats()).token.refresh_token;
}

function basic(client: { client_id: string; client_secret: string }): string {
  return `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
}

async function atProvider(
  path: '/token/revocation' | '/token/introspection',
  client: typeof ROTATING,
  form: Record<string, string>,
): Promise<Response> {
  return fetch(server.url(path), {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
}

async function isActive(client: typeof ROTATING, token: string): Promise<boolean> {
  const response = await atProvider('/token/introspection', client, { token });
  return ((await response.json()) as { active: boolean }).active;
}

/** Makes writes of refreshed tokens fail `times` times (Infinity: until restored); other writes pass. */
function failTokenWrites(store: Store, times: number) {
  const connections = store.connections;
  const original = connections.update;
  let left = times;
  let failures = 0;
  connections.update = async (id, expectedVersion, patch) => {
    if (patch.accessToken !== undefined && left > 0) {
      left -= 1;
      failures += 1;
      throw new AuthProfilesError('store-unavailable', 'injected write failure');
    }
    return original.call(connections, id, expectedVersion, patch);
  };
  return {
    failures: () => failures,
    restore: () => {
      connections.update = original;
    },
  };
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('SECURITY.md #17: refresh tokens across refreshes', () => {
  test('an answer without refresh_token keeps the old one, which works again on the next refresh', async () => {
    const { profile, subject, connection } = await connect(main, 'static-stripped');
    const original = openTokens(main.context, connection);
    const before = await refreshCalls();

    await expire(main, profile, subject);
    const first = await main.engine.getToken(profile, subject);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.accessToken).not.toBe(original.accessToken);
    // The answer really came without a refresh_token (the proxy strips it from the real answer).
    expect(fakes.calls('refreshWithoutRefreshToken', 'refresh_token')).toBe(1);
    expect(await refreshCalls()).toBe(before + 1);
    const afterFirst = await storedOf(main, profile, subject);
    expect(afterFirst.version).toBe(connection.version + 1);
    expect(openTokens(main.context, afterFirst)).toEqual({
      accessToken: first.accessToken,
      refreshToken: original.refreshToken,
    });

    await expire(main, profile, subject);
    const second = await main.engine.getToken(profile, subject);
    expect(second.ok).toBe(true);
    if (!second.ok) return;
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(await refreshCalls()).toBe(before + 2);
    expect(await isActive(STATIC, second.accessToken)).toBe(true);
    expect(openTokens(main.context, await storedOf(main, profile, subject)).refreshToken).toBe(
      original.refreshToken,
    );
  });

  test('a rotating provider: the new refresh token is stored and is the one the next refresh uses', async () => {
    const { profile, subject, connection } = await connect(main, 'rotating');
    const original = openTokens(main.context, connection);
    const before = await refreshCalls();

    await expire(main, profile, subject);
    const first = await main.engine.getToken(profile, subject);
    expect(first.ok).toBe(true);
    const rotated = openTokens(main.context, await storedOf(main, profile, subject));
    expect(rotated.refreshToken).not.toBeNull();
    expect(rotated.refreshToken).not.toBe(original.refreshToken);

    // Reusing the old one would revoke the whole grant (FACTS: oidc-provider), so success here
    // proves the stored, rotated token was used.
    await expire(main, profile, subject);
    const second = await main.engine.getToken(profile, subject);
    expect(second.ok).toBe(true);
    expect(await refreshCalls()).toBe(before + 2);
    const stored = await storedOf(main, profile, subject);
    expect(stored.status).toBe('active');
    expect(openTokens(main.context, stored).refreshToken).not.toBe(rotated.refreshToken);
  });
});

describe('SECURITY.md #18: invalid_grant on refresh', () => {
  test('a grant revoked at the provider: needs-reauthorization, then no more provider calls', async () => {
    const { profile, subject, connection } = await connect(main, 'rotating');
    const { refreshToken } = openTokens(main.context, connection);
    const revoked = await atProvider('/token/revocation', ROTATING, {
      token: refreshToken as string,
      token_type_hint: 'refresh_token',
    });
    expect(revoked.status).toBe(200);
    const before = await refreshCalls();

    const expired = await expire(main, profile, subject);
    expect(await main.engine.getToken(profile, subject)).toMatchObject({
      ok: false,
      reason: 'needs-reauthorization',
      connectionId: connection.id,
    });
    expect(await refreshCalls()).toBe(before + 1);
    const marked = await storedOf(main, profile, subject);
    expect(marked.status).toBe('needs-reauthorization');
    // SECURITY.md #49: what the provider answered, status and error code.
    expect(marked.lastError).toBe('invalid-grant: HTTP 400 invalid_grant');
    expect(marked.accessToken).toBe(expired.accessToken);
    const audit = await main.store.audit.list({ limit: 10, target: `connection:${connection.id}` });
    expect(audit.map((entry) => entry.action)).toContain('connection.needs-reauthorization');

    // No retry storm: sequential and concurrent callers get the answer from the store.
    for (let i = 0; i < 3; i += 1) {
      expect(await main.engine.getToken(profile, subject)).toMatchObject({ reason: 'needs-reauthorization' });
    }
    const concurrent = await Promise.all(
      Array.from({ length: 20 }, () => main.engine.getToken(profile, subject)),
    );
    expect(concurrent.every((result) => !result.ok && result.reason === 'needs-reauthorization')).toBe(true);
    expect(await refreshCalls()).toBe(before + 1);

    // The next use asks for consent; a new consent makes the connection usable again.
    const { outcome } = await authorize(main, 'rotating', subject);
    expect(outcome.kind).toBe('connected');
    const again = await main.engine.getToken(profile, subject);
    expect(again.ok).toBe(true);
    expect((await storedOf(main, profile, subject)).status).toBe('active');
  });

  test('reusing a rotated refresh token: the provider revokes the grant, we ask for consent again', async () => {
    const { profile, subject } = await connect(main, 'rotating');
    const stale = await expire(main, profile, subject);
    const refreshed = await main.engine.getToken(profile, subject);
    expect(refreshed.ok).toBe(true);
    if (!refreshed.ok) return;
    const before = await refreshCalls();

    // A restored backup: the record holds the refresh token the provider has already rotated.
    const current = await storedOf(main, profile, subject);
    await main.store.connections.update(current.id, current.version, {
      refreshToken: stale.refreshToken,
      expiresAt: main.clock() - 1,
    });
    expect(await main.engine.getToken(profile, subject)).toMatchObject({
      ok: false,
      reason: 'needs-reauthorization',
    });
    expect(await refreshCalls()).toBe(before + 1);
    expect((await storedOf(main, profile, subject)).lastError).toBe('invalid-grant: HTTP 400 invalid_grant');
    // The provider treated it as token theft and revoked the grant, including the newest access token.
    expect(await isActive(ROTATING, refreshed.accessToken)).toBe(false);
    expect(await main.engine.getToken(profile, subject)).toMatchObject({ reason: 'needs-reauthorization' });
    expect(await refreshCalls()).toBe(before + 1);
  });
});

describe('SECURITY.md #19 and SECURITY.md #48: 5xx, timeout, connection refused, Retry-After', () => {
  // Until issue 7 a 503 or a timeout was retried inside the refresh, sending a rotating refresh token
  // again that the provider may already have used (reuse revokes the grant). Now only what provably
  // never reached the provider, or what the provider asked to retry (Retry-After), is sent again.
  test('a 503 with Retry-After is retried after the wait, and the new token is returned', async () => {
    const { profile, subject } = await connect(main, 'rotating');
    const expired = await expire(main, profile, subject);
    const before = await refreshCalls();
    await server.injectFault({ token: { status: 503, times: 1, retryAfter: 1 } });

    const startedAt = Date.now();
    const result = await main.engine.getToken(profile, subject);

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1000);
    expect(await refreshCalls()).toBe(before + 2);
    const stored = await storedOf(main, profile, subject);
    expect(stored.version).toBe(expired.version + 1);
    expect(openTokens(main.context, stored).accessToken).toBe(result.accessToken);
    expect(await isActive(ROTATING, result.accessToken)).toBe(true);
    const audit = await main.store.audit.list({ limit: 10, target: `connection:${expired.id}` });
    expect(audit.map((entry) => entry.action)).not.toContain('connection.refresh-failed');
  });

  test('a 503 without Retry-After is not retried: one provider call, provider-unavailable, record unchanged', async () => {
    const { profile, subject } = await connect(main, 'rotating');
    const expired = await expire(main, profile, subject);
    const snapshot = JSON.stringify(expired);
    const before = await refreshCalls();
    await server.injectFault({ token: { status: 503, times: 1000 } });

    const result = await main.engine.getToken(profile, subject);

    expect(result).toMatchObject({ ok: false, reason: 'provider-unavailable', connectionId: expired.id });
    expect(!result.ok && result.message).toBe(
      `${profile.displayName} is not answering right now; try again in a moment`,
    );
    expect(await refreshCalls()).toBe(before + 1);
    expect(JSON.stringify(await storedOf(main, profile, subject))).toBe(snapshot);
    const audit = await main.store.audit.list({ limit: 10, target: `connection:${expired.id}` });
    expect(audit[0]).toMatchObject({
      action: 'connection.refresh-failed',
      details: { code: 'provider-outcome-unknown' },
    });

    // Once the provider is back, the untouched refresh token works (the 503 was before it acted).
    await server.resetFaults();
    const recovered = await main.engine.getToken(profile, subject);
    expect(recovered.ok).toBe(true);
    expect(await refreshCalls()).toBe(before + 2);
  });

  test('Retry-After on every attempt: a bounded number of attempts, then provider-unavailable', async () => {
    const { profile, subject } = await connect(main, 'rotating');
    const expired = await expire(main, profile, subject);
    const before = await refreshCalls();
    await server.injectFault({ token: { status: 503, times: 1000, retryAfter: 0 } });

    const result = await main.engine.getToken(profile, subject);

    expect(result).toMatchObject({ ok: false, reason: 'provider-unavailable' });
    expect(await refreshCalls()).toBe(before + FAST_SETTINGS.http.attempts);
    expect(JSON.stringify(await storedOf(main, profile, subject))).toBe(JSON.stringify(expired));
    const failure = [...main.log.lines].reverse().find((line) => line.message === 'refresh failed');
    expect(failure?.fields).toMatchObject({ errorCode: 'provider-unavailable', providerStatus: 503 });
  });

  test('a Retry-After longer than the policy allows is not waited for', async () => {
    const { profile, subject } = await connect(main, 'rotating');
    await expire(main, profile, subject);
    const before = await refreshCalls();
    await server.injectFault({ token: { status: 503, times: 1000, retryAfter: 3600 } });

    const startedAt = Date.now();
    const result = await main.engine.getToken(profile, subject);

    expect(result).toMatchObject({ ok: false, reason: 'provider-unavailable' });
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(await refreshCalls()).toBe(before + 1);
  });

  test('a provider outage while the token is still valid (inside the refresh margin) returns the stored token', async () => {
    const { profile, subject, connection } = await connect(main, 'rotating');
    main.clock.advance(connection.expiresAt - main.clock() - 30_000);
    await server.injectFault({ token: { status: 503, times: 1000 } });
    const result = await main.engine.getToken(profile, subject);
    expect(result).toMatchObject({
      ok: true,
      accessToken: openTokens(main.context, connection).accessToken,
    });
    expect(JSON.stringify(await storedOf(main, profile, subject))).toBe(JSON.stringify(connection));
  });

  test('connection refused: retried (it never left), then provider-unavailable, stored record unchanged', async () => {
    const { profile, subject } = await connect(main, 'refused');
    const expired = await expire(main, profile, subject);
    const before = await refreshCalls();

    const result = await main.engine.getToken(profile, subject);

    expect(result).toMatchObject({ ok: false, reason: 'provider-unavailable' });
    expect(!result.ok && result.message).toMatch(/Test refused is not answering right now/);
    expect(JSON.stringify(await storedOf(main, profile, subject))).toBe(JSON.stringify(expired));
    expect(await refreshCalls()).toBe(before);
    const failure = [...main.log.lines].reverse().find((line) => line.message === 'refresh failed');
    expect(failure?.fields).toMatchObject({ connectionId: expired.id, errorCode: 'provider-unavailable' });
  });

  test('a timeout while the real provider processes the refresh: sent once, the rotation is not raced', async () => {
    const quick = await createHarness({
      profiles,
      encryptionKeys: KEYS,
      settings: { http: { timeoutMs: 300, attempts: 3, backoffMs: 20 } },
    });
    try {
      const { profile, subject } = await connect(quick, 'rotating');
      const expired = await expire(quick, profile, subject);
      const before = await refreshCalls();
      // The provider holds the request for 1.5 s and then really refreshes (rotates) the token.
      await server.injectFault({ token: { delayMs: 1500, times: 1 } });

      const startedAt = Date.now();
      const result = await quick.engine.getToken(profile, subject);
      const elapsed = Date.now() - startedAt;

      expect(result).toMatchObject({ ok: false, reason: 'provider-unavailable' });
      expect(elapsed).toBeGreaterThanOrEqual(300);
      expect(elapsed).toBeLessThan(1500);
      expect(JSON.stringify(await storedOf(quick, profile, subject))).toBe(JSON.stringify(expired));
      // Wait until the provider has acted on the one request: a second sending would have raced it
      // and, with a rotating provider, revoked the whole grant.
      await new Promise((resolve) => setTimeout(resolve, 1700));
      expect(await refreshCalls()).toBe(before + 1);
      const failure = [...quick.log.lines].reverse().find((line) => line.message === 'refresh failed');
      expect(failure?.fields).toMatchObject({ errorCode: 'provider-outcome-unknown' });
    } finally {
      await quick.close();
    }
  });
});

describe('SECURITY.md #20: the provider rotated the refresh token but our write failed', () => {
  test('the write is retried: one provider call, and the stored refresh token is the new one', async () => {
    const { profile, subject, connection } = await connect(main, 'rotating');
    const original = openTokens(main.context, connection);
    await expire(main, profile, subject);
    const before = await refreshCalls();
    const writes = failTokenWrites(main.store, 2);
    let result;
    try {
      result = await main.engine.getToken(profile, subject);
    } finally {
      writes.restore();
    }
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(writes.failures()).toBe(2);
    expect(await refreshCalls()).toBe(before + 1);
    const stored = openTokens(main.context, await storedOf(main, profile, subject));
    expect(stored.accessToken).toBe(result.accessToken);
    expect(stored.refreshToken).not.toBe(original.refreshToken);
    // The stored token is the live one: a rotating provider accepts it (reuse would revoke the grant).
    await expire(main, profile, subject);
    expect((await main.engine.getToken(profile, subject)).ok).toBe(true);
    expect(await refreshCalls()).toBe(before + 2);
  });

  test('when every write fails the old refresh token is never used again; the new one is stored once the store recovers', async () => {
    const { profile, subject, connection } = await connect(main, 'rotating');
    const original = openTokens(main.context, connection);
    await expire(main, profile, subject);
    const before = await refreshCalls();
    // Another instance on the same store, with its own lease owner (and a short wait limit).
    const peer = await createHarness({
      profiles,
      dir: main.dir,
      encryptionKeys: KEYS,
      settings: { refreshLeaseMs: 1000 },
    });
    // Processes share real time: give the peer the same clock as `main`.
    peer.clock.advance(main.clock() - peer.clock());
    const writes = failTokenWrites(main.store, Infinity);
    try {
      const first = await main.engine.getToken(profile, subject);
      expect(first.ok).toBe(true);
      if (!first.ok) return;
      expect(writes.failures()).toBe(5);
      expect(await refreshCalls()).toBe(before + 1);
      expect(main.engine.tokens.activity()).toMatchObject({ inFlight: 0, unsaved: 1 });

      // This process: answered from memory, never by refreshing with the old refresh token.
      for (let i = 0; i < 3; i += 1) {
        expect(await main.engine.getToken(profile, subject)).toMatchObject({
          ok: true,
          accessToken: first.accessToken,
        });
      }
      const concurrent = await Promise.all(
        Array.from({ length: 20 }, () => main.engine.getToken(profile, subject)),
      );
      expect(new Set(concurrent.map((r) => (r.ok ? r.accessToken : r.reason)))).toEqual(
        new Set([first.accessToken]),
      );
      // Another process: the lease is held, so it waits and gives up instead of refreshing.
      expect(await peer.engine.getToken(profile, subject)).toMatchObject({
        ok: false,
        reason: 'provider-unavailable',
      });
      expect(await refreshCalls()).toBe(before + 1);
      expect(openTokens(main.context, await storedOf(main, profile, subject))).toEqual(original);

      // The store recovers: the background retry stores the new tokens and releases the lease.
      writes.restore();
      await waitFor(
        async () => main.engine.tokens.activity().unsaved === 0,
        10_000,
        'the unsaved tokens to be stored',
      );
      const stored = openTokens(main.context, await storedOf(main, profile, subject));
      expect(stored.accessToken).toBe(first.accessToken);
      expect(stored.refreshToken).not.toBe(original.refreshToken);
      expect(await peer.engine.getToken(profile, subject)).toMatchObject({
        ok: true,
        accessToken: first.accessToken,
      });
      expect(await refreshCalls()).toBe(before + 1);
      expect(main.log.lines.some((line) => line.message === 'refreshed tokens stored after retrying')).toBe(
        true,
      );

      // And the stored refresh token is the live one.
      await expire(main, profile, subject);
      expect((await main.engine.getToken(profile, subject)).ok).toBe(true);
      expect(await refreshCalls()).toBe(before + 2);
    } finally {
      writes.restore();
      await peer.close();
    }
  });
  test('a token the API rejected while it still looks valid: once refreshed but not stored, no later call gets the rejected one back', async () => {
    const { profile, subject } = await connect(main, 'rotating');
    const rejected = await main.engine.getToken(profile, subject);
    expect(rejected.ok).toBe(true);
    if (!rejected.ok) return;
    const before = await refreshCalls();
    const writes = failTokenWrites(main.store, Infinity);
    try {
      const renewed = await main.engine.getToken(profile, subject, {
        rejectedAccessToken: rejected.accessToken,
      });
      expect(renewed.ok).toBe(true);
      if (!renewed.ok) return;
      expect(renewed.accessToken).not.toBe(rejected.accessToken);
      expect(await refreshCalls()).toBe(before + 1);
      expect(main.engine.tokens.activity()).toMatchObject({ unsaved: 1 });
      // The stored record still holds the rejected token, unexpired: the fast path for valid tokens
      // must not answer with it while the refreshed tokens wait in memory (issue 12, SECURITY.md #20).
      expect(openTokens(main.context, await storedOf(main, profile, subject)).accessToken).toBe(
        rejected.accessToken,
      );
      expect(await main.engine.getToken(profile, subject)).toMatchObject({
        ok: true,
        accessToken: renewed.accessToken,
      });
      writes.restore();
      await waitFor(
        async () => main.engine.tokens.activity().unsaved === 0,
        10_000,
        'the unsaved tokens to be stored',
      );
      expect(openTokens(main.context, await storedOf(main, profile, subject)).accessToken).toBe(
        renewed.accessToken,
      );
    } finally {
      writes.restore();
    }
  });
});

describe('SECURITY.md #21: one refresh for many callers', () => {
  test('in one process: 100 concurrent getToken on an expired token make 1 refresh, and all get its token', async () => {
    const { profile, subject, connection } = await connect(main, 'rotating');
    const old = openTokens(main.context, connection).accessToken;
    await expire(main, profile, subject);
    const before = await refreshCalls();

    const results = await Promise.all(
      Array.from({ length: 100 }, () => main.engine.getToken(profile, subject)),
    );

    expect(await refreshCalls()).toBe(before + 1);
    const tokens = new Set(results.map((r) => (r.ok ? r.accessToken : `failed: ${r.reason}`)));
    expect(tokens.size).toBe(1);
    const [token] = [...tokens];
    expect(token).not.toBe(old);
    expect(openTokens(main.context, await storedOf(main, profile, subject)).accessToken).toBe(token);
    expect(main.engine.tokens.activity()).toMatchObject({ inFlight: 0, unsaved: 0 });
  });

  test('across 4 processes sharing one SQLite file: 4 × 25 concurrent calls make 1 refresh', async () => {
    const { profile, subject, connection } = await connect(live, 'rotating');
    const old = openTokens(live.context, connection).accessToken;
    await expireInRealTime(live, connection);
    const workers = await startRefreshWorkers(4, {
      dbFile: `${live.dir}/authprofiles.db`,
      encryptionKeys: KEYS,
      profile,
      subject,
      calls: 25,
      settings: FAST_SETTINGS,
    });
    const before = await refreshCalls();
    let reports;
    try {
      reports = await workers.start();
    } finally {
      await workers.stop();
    }

    expect(await refreshCalls()).toBe(before + 1);
    const results = reports.flatMap((report) => report.results);
    expect(results).toHaveLength(100);
    const hashes = new Set(results.map((r) => (r.ok ? r.tokenHash : `failed: ${r.reason}`)));
    expect(hashes.size).toBe(1);
    const stored = openTokens(live.context, await storedOf(live, profile, subject)).accessToken;
    expect([...hashes]).toEqual([sha256(stored)]);
    expect(stored).not.toBe(old);
    for (const report of reports) expect(report.activity).toMatchObject({ inFlight: 0, unsaved: 0 });
  }, 60_000);
});

describe('SECURITY.md #22: the lease holder crashes mid-refresh', () => {
  test('a lease that is never released: the next caller waits for it to expire, re-reads, refreshes once', async () => {
    const { profile, subject, connection } = await connect(live, 'rotating');
    const expired = await expireInRealTime(live, connection);
    const before = await refreshCalls();
    const takenAt = Date.now();
    expect(await live.store.locks.acquire(`refresh:${expired.id}`, 'crashed-process', 1000, takenAt)).toBe(
      true,
    );

    const result = await live.engine.getToken(profile, subject);
    const finishedAt = Date.now();

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(finishedAt).toBeGreaterThanOrEqual(takenAt + 1000);
    expect(await refreshCalls()).toBe(before + 1);
    expect(openTokens(live.context, await storedOf(live, profile, subject)).accessToken).toBe(
      result.accessToken,
    );
    // Our own lease was released after the refresh: a new lease can be taken at once.
    expect(await live.store.locks.acquire(`refresh:${expired.id}`, 'someone-else', 1000, Date.now())).toBe(
      true,
    );
    await live.store.locks.release(`refresh:${expired.id}`, 'someone-else');
  });

  test('a worker process killed while its refresh is under way: the lease expires and the next caller refreshes once', async () => {
    const { profile, subject, connection } = await connect(live, 'rotating');
    await expireInRealTime(live, connection);
    const worker = await startRefreshWorkers(1, {
      dbFile: `${live.dir}/authprofiles.db`,
      encryptionKeys: KEYS,
      profile,
      subject,
      calls: 1,
      settings: { ...FAST_SETTINGS, refreshLeaseMs: 1000 },
    });
    const before = await refreshCalls();
    // The worker's refresh request hangs at the provider (and would end in a 503, changing nothing).
    await server.injectFault({ token: { status: 503, delayMs: 20_000, times: 1 } });
    try {
      void worker.start(0).catch(() => undefined);
      await waitFor(
        async () => (await refreshCalls()) === before + 1,
        15_000,
        'the worker to start its refresh',
      );
      await worker.kill(0);
    } finally {
      await worker.stop();
    }

    const result = await live.engine.getToken(profile, subject);

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(await refreshCalls()).toBe(before + 2);
    expect(await isActive(ROTATING, result.accessToken)).toBe(true);
    expect(openTokens(live.context, await storedOf(live, profile, subject)).accessToken).toBe(
      result.accessToken,
    );
  }, 60_000);
});

describe('a token the API rejected (401)', () => {
  test('triggers exactly one refresh although it looks unexpired; a stale rejection does not refresh again', async () => {
    const { profile, subject } = await connect(main, 'rotating');
    const current = await main.engine.getToken(profile, subject);
    expect(current.ok).toBe(true);
    if (!current.ok) return;
    expect(current.expiresAt).toBeGreaterThan(main.clock() + 5 * 60_000);
    const before = await refreshCalls();

    const replaced = await main.engine.getToken(profile, subject, {
      rejectedAccessToken: current.accessToken,
    });
    expect(replaced.ok).toBe(true);
    if (!replaced.ok) return;
    expect(replaced.accessToken).not.toBe(current.accessToken);
    expect(await refreshCalls()).toBe(before + 1);

    // A caller that still held the old token reports it too: it gets the new one, no second refresh.
    expect(
      await main.engine.getToken(profile, subject, { rejectedAccessToken: current.accessToken }),
    ).toMatchObject({ ok: true, accessToken: replaced.accessToken });
    expect(await main.engine.getToken(profile, subject)).toMatchObject({ accessToken: replaced.accessToken });
    expect(await refreshCalls()).toBe(before + 1);
  });

  test('concurrent rejections of the same token cause one refresh', async () => {
    const { profile, subject } = await connect(main, 'rotating');
    const current = await main.engine.getToken(profile, subject);
    if (!current.ok) throw new Error('not connected');
    const before = await refreshCalls();

    const results = await Promise.all(
      Array.from({ length: 30 }, () =>
        main.engine.getToken(profile, subject, { rejectedAccessToken: current.accessToken }),
      ),
    );

    expect(await refreshCalls()).toBe(before + 1);
    const tokens = new Set(results.map((r) => (r.ok ? r.accessToken : `failed: ${r.reason}`)));
    expect(tokens.size).toBe(1);
    expect(tokens.has(current.accessToken)).toBe(false);
  });

  test('when that refresh fails, the rejected token is not handed out again', async () => {
    const { profile, subject } = await connect(main, 'rotating');
    const current = await main.engine.getToken(profile, subject);
    if (!current.ok) throw new Error('not connected');
    await server.injectFault({ token: { status: 503, times: 1000 } });
    expect(
      await main.engine.getToken(profile, subject, { rejectedAccessToken: current.accessToken }),
    ).toMatchObject({ ok: false, reason: 'provider-unavailable' });
  });
});

describe('SECURITY.md #39 groundwork: the profile changed after connecting', () => {
  test.each([
    ['client id', (profile: Profile) => ({ ...profile, clientId: 'another-client' })],
    [
      'scopes',
      (profile: Profile) => ({ ...profile, scopes: [...profile.scopes, 'crm.objects.contacts.read'] }),
    ],
  ])(
    'a changed %s makes getToken answer needs-reauthorization without a provider call',
    async (_what, edit) => {
      const { profile, subject, connection } = await connect(main, 'rotating');
      const changed: Profile = edit(profile);
      changed.fingerprint = fingerprintOf(changed);
      expect(changed.fingerprint).not.toBe(profile.fingerprint);
      const before = await refreshCalls();

      expect(await main.engine.getToken(changed, subject)).toMatchObject({
        ok: false,
        reason: 'needs-reauthorization',
        connectionId: connection.id,
      });
      const stored = await storedOf(main, profile, subject);
      expect(stored.status).toBe('needs-reauthorization');
      expect(stored.lastError).toBe('profile-changed');
      // Not even the unchanged profile may use those tokens now.
      expect(await main.engine.getToken(profile, subject)).toMatchObject({ reason: 'needs-reauthorization' });
      expect(await refreshCalls()).toBe(before);
    },
  );
});

describe('opened access tokens kept in memory (the getToken hot path)', () => {
  test('a ciphertext copied into another record is not served from memory: it fails its own AAD check', async () => {
    const a = await connect(main, 'static');
    const b = await connect(main, 'static');
    const fromA = await main.engine.getToken(a.profile, a.subject);
    expect(fromA.ok).toBe(true);
    await main.store.connections.update(b.connection.id, b.connection.version, {
      accessToken: a.connection.accessToken,
    });
    // SECURITY.md #30: the unreadable record is reported, not served (and not a crash).
    const copied = await main.engine.getToken(b.profile, b.subject);
    expect(copied).toMatchObject({
      ok: false,
      reason: 'needs-reauthorization',
      connectionId: b.connection.id,
    });
    expect(copied.ok ? '' : copied.message).toMatch(/cannot decrypt connections\/.*\/accessToken/);
    expect(JSON.stringify(copied)).not.toContain(fromA.ok ? fromA.accessToken : 'none');
  });

  test('a refreshed record is opened again, never answered with the token it replaced', async () => {
    const { profile, subject } = await connect(main, 'static');
    const before = await main.engine.getToken(profile, subject);
    await expire(main, profile, subject);
    const refreshed = await main.engine.getToken(profile, subject);
    const after = await main.engine.getToken(profile, subject);
    expect(before.ok && refreshed.ok && after.ok).toBe(true);
    if (!before.ok || !refreshed.ok || !after.ok) return;
    expect(refreshed.accessToken).not.toBe(before.accessToken);
    expect(after.accessToken).toBe(refreshed.accessToken);
    expect(main.engine.tokens.activity().openedAccessTokens).toBeLessThanOrEqual(1000);
  });
});
