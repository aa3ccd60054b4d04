// The authorization-code flow against a real oidc-provider: happy paths and SECURITY.md #1–#8,
// 11, 13, 23–25. Each protection has a test that fails when the check is removed.
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import {
  authorize,
  consentInBrowser,
  createHarness,
  PUBLIC_URL,
  serverProfile,
  USER,
  type Harness,
} from '../support/engineHarness';
import { ORGANIZATION, subjectKey } from '../../profiles/subjects';
import { isAuthProfilesError } from '../../profiles/errors';

const BASIC = {
  client_id: 'basic-pkce',
  client_secret: 'basic-secret-value-123',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const POST = {
  client_id: 'post-plain',
  client_secret: 'post-secret-value-456',
  token_endpoint_auth_method: 'client_secret_post' as const,
};
const OTHER = {
  client_id: 'other',
  client_secret: 'other-secret-value-789',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

let server: RunningAuthServer;
let harness: Harness;

beforeAll(async () => {
  server = await startAuthServer({
    clients: [
      {
        ...BASIC,
        redirect_uris: [`${PUBLIC_URL}/oauth/callback/crm`, `${PUBLIC_URL}/oauth/callback/crm-org`],
        pkceRequired: true,
        rotateRefreshToken: true,
      },
      { ...POST, redirect_uris: [`${PUBLIC_URL}/oauth/callback/crm-post`] },
      { ...OTHER, redirect_uris: [`${PUBLIC_URL}/oauth/callback/other`] },
    ],
    scopes: 'crm.objects.deals.read crm.objects.contacts.read',
    accessTokenTtl: 300,
  });
  harness = await createHarness({
    profiles: [
      serverProfile(server, 'crm', BASIC, { pkce: true }),
      serverProfile(server, 'crm-org', BASIC, { pkce: true, authorization: 'pre-authorized' }),
      serverProfile(server, 'crm-post', POST, { pkce: false, tokenEndpointAuthMethod: 'client_secret_post' }),
      serverProfile(server, 'other', OTHER),
    ],
  });
});

afterAll(async () => {
  await harness?.close();
  await server?.stop();
});

async function expectRejected(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isAuthProfilesError(error) ? error.code : error).toBe(code);
}

/** A user's sign-in taken up to the provider's redirect back (callback not yet delivered). */
async function startedFlow(profileId = 'crm', userId = `u-${Math.random()}`) {
  const profile = await harness.engine.catalog.get(profileId);
  const subject = { kind: 'user' as const, channelId: 'webchat', userId };
  const created = await harness.engine.createAuthorizationRequest({
    profile,
    subject,
    createdBy: 'user:test',
  });
  const { callbackUrl, binding } = await consentInBrowser(harness, created.requestId);
  return { callbackUrl, binding, created, subject, query: callbackUrl.search.slice(1) };
}

/** Asks the provider whether a token is live, with the confidential client's own credentials. */
async function introspect(token: string): Promise<{ active: boolean; scope?: string }> {
  const credentials = Buffer.from(`${BASIC.client_id}:${BASIC.client_secret}`).toString('base64');
  const response = await fetch(server.url('/token/introspection'), {
    method: 'POST',
    headers: { authorization: `Basic ${credentials}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  return (await response.json()) as { active: boolean; scope?: string };
}

async function connectionCount(): Promise<number> {
  return harness.store.connections.count({});
}

describe('happy paths', () => {
  test('client_secret_basic with PKCE S256 yields an active, encrypted connection and a usable token', async () => {
    const { outcome, callbackUrl } = await authorize(harness, 'crm', {
      kind: 'user',
      channelId: 'webchat',
      userId: 'basic-user',
    });
    expect(outcome.kind).toBe('connected');
    expect(callbackUrl.searchParams.get('iss')).toBe(server.issuer);
    const profile = await harness.engine.catalog.get('crm');
    const token = await harness.engine.getToken(profile, {
      kind: 'user',
      channelId: 'webchat',
      userId: 'basic-user',
    });
    expect(token.ok).toBe(true);
    if (!token.ok) return;
    expect(token.scopes).toContain('crm.objects.deals.read');
    const stored = await harness.store.connections.get('crm', 'user:webchat:basic-user');
    expect(stored?.status).toBe('active');
    expect(stored?.accessToken).toMatch(/^v1\.test1\./);
    expect(stored?.accessToken).not.toContain(token.accessToken);
    expect(stored?.refreshToken).toMatch(/^v1\.test1\./);
    // The token works at the provider: introspect it with the client's own credentials.
    const introspection = await introspect(token.accessToken);
    expect(introspection.active).toBe(true);
    expect(introspection.scope).toContain('crm.objects.deals.read');
  });

  test('client_secret_post without PKCE sends no code_challenge and connects', async () => {
    const profile = await harness.engine.catalog.get('crm-post');
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject: USER,
      createdBy: 'user:test',
    });
    const started = await harness.engine.startAuthorization(created.requestId, undefined);
    const url = new URL(started.redirectUrl);
    expect(url.searchParams.get('code_challenge')).toBeNull();
    expect(url.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/oauth/callback/crm-post`);
    const callbackUrl = await completeConsent(started.redirectUrl, {
      login: 'alice',
      cookieJar: new CookieJar(),
    });
    const outcome = await harness.engine.completeCallback({
      profileId: 'crm-post',
      query: callbackUrl.search.slice(1),
      browserBinding: started.binding,
    });
    expect(outcome.kind).toBe('connected');
  });

  test('the authorization URL carries state, S256 challenge, scope and the exact redirect URI', async () => {
    const profile = await harness.engine.catalog.get('crm');
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject: USER,
      createdBy: 'user:test',
    });
    expect(created.startUrl).toBe(`${PUBLIC_URL}/oauth/start/${created.requestId}`);
    const started = await harness.engine.startAuthorization(created.requestId, undefined);
    const params = new URL(started.redirectUrl).searchParams;
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).not.toBe(created.requestId);
    expect(params.get('scope')).toBe('crm.objects.deals.read');
    expect(params.get('client_id')).toBe(BASIC.client_id);
    expect(params.get('redirect_uri')).toBe(`${PUBLIC_URL}/oauth/callback/crm`);
    // The stored request holds hashes and ciphertext, never the state or verifier itself.
    const stored = await harness.store.authorizationRequests.get(created.requestId);
    expect(stored?.stateHash).not.toBe(params.get('state'));
    expect(stored?.codeVerifier).toMatch(/^v1\./);
  });

  test('a pre-authorized profile connects the organisation and refuses per-user requests', async () => {
    const profile = await harness.engine.catalog.get('crm-org');
    await expectRejected(
      harness.engine.createAuthorizationRequest({ profile, subject: USER, createdBy: 'user:x' }),
      'invalid-configuration',
    );
    const { outcome } = await authorize(harness, 'crm-org', ORGANIZATION);
    expect(outcome.kind).toBe('connected');
    const token = await harness.engine.getToken(profile, ORGANIZATION);
    expect(token.ok).toBe(true);
    expect((await harness.store.connections.get('crm-org', 'org'))?.subjectKey).toBe('org');
  });

  test('getToken says not-connected for a subject without a connection', async () => {
    const profile = await harness.engine.catalog.get('crm');
    const token = await harness.engine.getToken(profile, {
      kind: 'user',
      channelId: 'msteams',
      userId: 'nobody',
    });
    expect(token).toMatchObject({ ok: false, reason: 'not-connected' });
  });
});

describe('callback validation (SECURITY.md #1–#8)', () => {
  test('SECURITY.md #1: missing, unknown or already used state is rejected and nothing is stored', async () => {
    const before = await connectionCount();
    const flow = await startedFlow();
    const noState = new URLSearchParams(flow.query);
    noState.delete('state');
    await expectRejected(
      harness.engine.completeCallback({
        profileId: 'crm',
        query: noState.toString(),
        browserBinding: flow.binding,
      }),
      'authorization-request-invalid',
    );
    const unknown = new URLSearchParams(flow.query);
    unknown.set('state', 'x'.repeat(43));
    await expectRejected(
      harness.engine.completeCallback({
        profileId: 'crm',
        query: unknown.toString(),
        browserBinding: flow.binding,
      }),
      'authorization-request-invalid',
    );
    expect(await connectionCount()).toBe(before);
    const first = await harness.engine.completeCallback({
      profileId: 'crm',
      query: flow.query,
      browserBinding: flow.binding,
    });
    expect(first.kind).toBe('connected');
    await expectRejected(
      harness.engine.completeCallback({ profileId: 'crm', query: flow.query, browserBinding: flow.binding }),
      'authorization-request-used',
    );
  });

  test('SECURITY.md #1: an expired request is rejected before any code exchange', async () => {
    const flow = await startedFlow();
    const stats = await server.stats();
    harness.clock.advance(11 * 60_000);
    try {
      await expectRejected(
        harness.engine.completeCallback({
          profileId: 'crm',
          query: flow.query,
          browserBinding: flow.binding,
        }),
        'authorization-request-expired',
      );
    } finally {
      harness.clock.advance(-11 * 60_000);
    }
    expect((await server.stats()).token.authorization_code).toBe(stats.token.authorization_code);
    expect(await harness.store.connections.get('crm', subjectKey(flow.subject))).toBeNull();
  });

  test('SECURITY.md #2: a callback completed in another browser (other or no binding cookie) is rejected', async () => {
    const flow = await startedFlow();
    await expectRejected(
      harness.engine.completeCallback({
        profileId: 'crm',
        query: flow.query,
        browserBinding: 'A'.repeat(43),
      }),
      'browser-mismatch',
    );
    await expectRejected(
      harness.engine.completeCallback({ profileId: 'crm', query: flow.query, browserBinding: undefined }),
      'browser-mismatch',
    );
    // Nothing was consumed: the right browser still completes it.
    const outcome = await harness.engine.completeCallback({
      profileId: 'crm',
      query: flow.query,
      browserBinding: flow.binding,
    });
    expect(outcome.kind).toBe('connected');
  });

  test('SECURITY.md #2: the start link opened in a second browser is refused', async () => {
    const profile = await harness.engine.catalog.get('crm');
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject: USER,
      createdBy: 'user:test',
    });
    const first = await harness.engine.startAuthorization(created.requestId, undefined);
    await expectRejected(harness.engine.startAuthorization(created.requestId, undefined), 'browser-mismatch');
    const again = await harness.engine.startAuthorization(created.requestId, first.binding);
    expect(new URL(again.redirectUrl).searchParams.get('state')).not.toBe(
      new URL(first.redirectUrl).searchParams.get('state'),
    );
  });

  test('SECURITY.md #3: the state of profile A arriving at profile B is rejected (mix-up)', async () => {
    const flow = await startedFlow('crm');
    await expectRejected(
      harness.engine.completeCallback({
        profileId: 'other',
        query: flow.query,
        browserBinding: flow.binding,
      }),
      'profile-mismatch',
    );
  });

  test('SECURITY.md #4: a different iss, or a missing iss where the provider always sends it, is rejected before the token request', async () => {
    const flow = await startedFlow();
    const stats = await server.stats();
    const wrong = new URLSearchParams(flow.query);
    wrong.set('iss', 'https://attacker.example');
    await expectRejected(
      harness.engine.completeCallback({
        profileId: 'crm',
        query: wrong.toString(),
        browserBinding: flow.binding,
      }),
      'issuer-mismatch',
    );
    const missing = new URLSearchParams(flow.query);
    missing.delete('iss');
    await expectRejected(
      harness.engine.completeCallback({
        profileId: 'crm',
        query: missing.toString(),
        browserBinding: flow.binding,
      }),
      'issuer-mismatch',
    );
    expect((await server.stats()).token.authorization_code).toBe(stats.token.authorization_code);
  });

  test('SECURITY.md #5: duplicate code or state parameters are rejected', async () => {
    const flow = await startedFlow();
    for (const name of ['code', 'state']) {
      const params = new URLSearchParams(flow.query);
      params.append(name, params.get(name) as string);
      await expectRejected(
        harness.engine.completeCallback({
          profileId: 'crm',
          query: params.toString(),
          browserBinding: flow.binding,
        }),
        'duplicate-parameter',
      );
    }
  });

  test('SECURITY.md #6: access_denied consumes the request and reports denied', async () => {
    const profile = await harness.engine.catalog.get('crm');
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject: USER,
      createdBy: 'user:test',
    });
    const { callbackUrl, binding } = await consentInBrowser(harness, created.requestId, { deny: true });
    expect(callbackUrl.searchParams.get('error')).toBe('access_denied');
    const outcome = await harness.engine.completeCallback({
      profileId: 'crm',
      query: callbackUrl.search.slice(1),
      browserBinding: binding,
    });
    expect(outcome.kind).toBe('denied');
    const stored = await harness.store.authorizationRequests.get(created.requestId);
    expect(stored?.status).toBe('completed');
    expect(stored?.outcome).toEqual({ result: 'denied', error: 'consent-denied' });
    await expectRejected(
      harness.engine.completeCallback({
        profileId: 'crm',
        query: callbackUrl.search.slice(1),
        browserBinding: binding,
      }),
      'authorization-request-used',
    );
  });

  test('SECURITY.md #8: a code injected from another session fails the exchange (PKCE) and stores nothing', async () => {
    const victim = await startedFlow();
    const attacker = await startedFlow();
    // The attacker's code, delivered with the victim's state and browser.
    const injected = new URLSearchParams(victim.query);
    injected.set('code', new URLSearchParams(attacker.query).get('code') as string);
    const outcome = await harness.engine.completeCallback({
      profileId: 'crm',
      query: injected.toString(),
      browserBinding: victim.binding,
    });
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.code).toBe('invalid-grant');
    expect(await harness.store.connections.get('crm', subjectKey(victim.subject))).toBeNull();
  });

  test('SECURITY.md #23: the same callback delivered twice at once makes one connection', async () => {
    const flow = await startedFlow();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        harness.engine.completeCallback({
          profileId: 'crm',
          query: flow.query,
          browserBinding: flow.binding,
        }),
      ),
    );
    const connected = results.filter(
      (result) => result.status === 'fulfilled' && result.value.kind === 'connected',
    );
    expect(connected).toHaveLength(1);
    const rejected = results.filter((result) => result.status === 'rejected');
    expect(rejected.map((result) => (result as PromiseRejectedResult).reason.code)).toEqual(
      Array(4).fill('authorization-request-used'),
    );
    expect(await harness.store.connections.count({ subjectKey: subjectKey(flow.subject) })).toBe(1);
  });

  test('SECURITY.md #13: the redirect URI comes from PUBLIC_URL only', async () => {
    const flow = await startedFlow();
    const stored = await harness.store.authorizationRequests.get(flow.created.requestId);
    expect(stored?.redirectUri).toBe(`${PUBLIC_URL}/oauth/callback/crm`);
  });
});

describe('faults during the callback (SECURITY.md #24–#25)', () => {
  test('SECURITY.md #24: store unavailable while consuming leaves the request usable for a retry', async () => {
    const { callbackUrl, binding, created } = await startedFlow('crm', 'retry-user');
    const requests = harness.store.authorizationRequests;
    const original = requests.consume.bind(requests);
    requests.consume = async () => {
      const { AuthProfilesError } = await import('../../profiles/errors');
      throw new AuthProfilesError('store-unavailable', 'the SQLite store is unavailable');
    };
    try {
      await expectRejected(
        harness.engine.completeCallback({
          profileId: 'crm',
          query: callbackUrl.search.slice(1),
          browserBinding: binding,
        }),
        'store-unavailable',
      );
    } finally {
      requests.consume = original;
    }
    expect((await requests.get(created.requestId))?.status).toBe('started');
    const outcome = await harness.engine.completeCallback({
      profileId: 'crm',
      query: callbackUrl.search.slice(1),
      browserBinding: binding,
    });
    expect(outcome.kind).toBe('connected');
  });

  test('SECURITY.md #25: a failure between exchange and storing leaves no active connection and a new sign-in works', async () => {
    const { callbackUrl, binding, subject } = await startedFlow('crm', 'crash-user');
    const connections = harness.store.connections;
    const original = connections.upsert.bind(connections);
    connections.upsert = async () => {
      throw new Error('process killed');
    };
    let outcome;
    try {
      outcome = await harness.engine.completeCallback({
        profileId: 'crm',
        query: callbackUrl.search.slice(1),
        browserBinding: binding,
      });
    } finally {
      connections.upsert = original;
    }
    expect(outcome.kind).toBe('failed');
    expect(await connections.get('crm', subjectKey(subject))).toBeNull();
    const again = await authorize(harness, 'crm', subject);
    expect(again.outcome.kind).toBe('connected');
  });
});

describe('verification against forwarded links (SECURITY.md #9)', () => {
  test('a connection with verification stays pending until the code is typed; wrong codes count', async () => {
    const subject = { kind: 'user' as const, channelId: 'webchat', userId: 'verify-user' };
    const { outcome } = await authorize(harness, 'crm', subject, { requireVerification: true });
    expect(outcome.kind).toBe('pending-verification');
    if (outcome.kind !== 'pending-verification') return;
    expect(outcome.verificationCode).toMatch(/^\d{6}$/);
    const profile = await harness.engine.catalog.get('crm');
    expect(await harness.engine.getToken(profile, subject)).toMatchObject({
      ok: false,
      reason: 'pending-verification',
    });
    const wrong = outcome.verificationCode === '000000' ? '111111' : '000000';
    expect(await harness.engine.verify(profile, subject, wrong)).toBe('wrong-code');
    expect(
      await harness.engine.verify(
        profile,
        { kind: 'user', channelId: 'webchat', userId: 'someone-else' },
        outcome.verificationCode,
      ),
    ).toBe('nothing-pending');
    expect(await harness.engine.verify(profile, subject, outcome.verificationCode)).toBe('verified');
    expect((await harness.engine.getToken(profile, subject)).ok).toBe(true);
  });

  test('too many wrong codes discard the pending connection', async () => {
    const subject = { kind: 'user' as const, channelId: 'webchat', userId: 'guesser' };
    const { outcome } = await authorize(harness, 'crm', subject, { requireVerification: true });
    if (outcome.kind !== 'pending-verification') throw new Error(`unexpected ${outcome.kind}`);
    const profile = await harness.engine.catalog.get('crm');
    const wrong = outcome.verificationCode === '999999' ? '888888' : '999999';
    const results = [];
    for (let i = 0; i < 5; i += 1) results.push(await harness.engine.verify(profile, subject, wrong));
    expect(results).toEqual(['wrong-code', 'wrong-code', 'wrong-code', 'wrong-code', 'too-many-attempts']);
    expect(await harness.store.connections.get('crm', subjectKey(subject))).toBeNull();
  });
});

describe('revocation (RFC 7009) and sign-out', () => {
  test('sign-out revokes the grant at the provider and deletes the connection', async () => {
    const subject = { kind: 'user' as const, channelId: 'webchat', userId: 'leaver' };
    await authorize(harness, 'crm', subject);
    const profile = await harness.engine.catalog.get('crm');
    const token = await harness.engine.getToken(profile, subject);
    if (!token.ok) throw new Error('no token');
    const before = (await server.stats()).revocation;
    const result = await harness.engine.signOut(profile, subject, 'user:leaver');
    expect(result).toEqual({ revokedAtProvider: true, providerError: null });
    expect((await server.stats()).revocation).toBe(before + 2);
    expect(await harness.store.connections.get('crm', subjectKey(subject))).toBeNull();
    const introspection = await introspect(token.accessToken);
    expect(introspection.active).toBe(false);
    const audit = await harness.store.audit.list({ limit: 5 });
    expect(audit.find((entry) => entry.action === 'connection.revoked')?.actor).toBe('user:leaver');
  });

  test('a provider that fails revocation still gets the connection deleted, and says so', async () => {
    const subject = { kind: 'user' as const, channelId: 'webchat', userId: 'leaver2' };
    await authorize(harness, 'crm', subject);
    const profile = await harness.engine.catalog.get('crm');
    await server.injectFault({ revocation: { status: 503, times: 10 } });
    try {
      const result = await harness.engine.signOut(profile, subject, 'user:leaver2');
      expect(result).toEqual({ revokedAtProvider: false, providerError: 'provider-unavailable' });
    } finally {
      await server.resetFaults();
    }
    expect(await harness.store.connections.get('crm', subjectKey(subject))).toBeNull();
  });
});

test('SECURITY.md #32: nothing logged during these flows contains a token, code, secret or state', async () => {
  const { callbackUrl, outcome } = await authorize(harness, 'crm', {
    kind: 'user',
    channelId: 'webchat',
    userId: 'logged',
  });
  expect(outcome.kind).toBe('connected');
  const profile = await harness.engine.catalog.get('crm');
  const token = await harness.engine.getToken(profile, {
    kind: 'user',
    channelId: 'webchat',
    userId: 'logged',
  });
  if (!token.ok) throw new Error('no token');
  const logs = harness.log.text();
  expect(harness.log.lines.length).toBeGreaterThan(0);
  for (const secret of [
    token.accessToken,
    callbackUrl.searchParams.get('code'),
    callbackUrl.searchParams.get('state'),
    BASIC.client_secret,
  ]) {
    expect(logs).not.toContain(secret as string);
  }
});
