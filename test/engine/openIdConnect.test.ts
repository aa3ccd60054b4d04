// SECURITY.md #50 and issue 7 point 10: OpenID Connect sign-ins against the REAL oidc-provider, which
// signs ID tokens with its own key and puts the nonce it was sent into them. Tampered and replayed ID
// tokens come from FAKE proxies in front of it (test/support/fakeTokenEndpoints.ts), since a real
// provider never sends one. The checks jose makes on claims we cannot get the real server to break
// (iss, aud, azp, alg) run against tokens signed here and a JWKS served over real HTTP.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type KeyLike } from 'jose';
import { summarize } from '../../profiles/connections';
import { isAuthProfilesError } from '../../profiles/errors';
import { sha256 } from '../../profiles/ids';
import { verifyIdToken, type IdTokenExpectations } from '../../profiles/oauth/idToken';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { authorize, createHarness, PUBLIC_URL, serverProfile, type Harness } from '../support/engineHarness';
import { closedPort, startFakeTokenEndpoints, type FakeTokenEndpoints } from '../support/fakeTokenEndpoints';

const CLIENT = {
  client_id: 'oidc-client',
  client_secret: 'oidc-client-secret-value',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const STRICT = {
  client_id: 'pkce-strict',
  client_secret: 'pkce-strict-secret-value',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const OIDC_SCOPES = ['openid', 'email', 'profile', 'crm.objects.deals.read'];
const PROFILE_IDS = ['oidc', 'oidc-tampered', 'oidc-replayed', 'oidc-missing', 'plain'];

let server: RunningAuthServer;
let fakes: FakeTokenEndpoints;
let harness: Harness;
/** Its clock is moved past the ID token's expiry between consent and callback. */
let late: Harness;

beforeAll(async () => {
  server = await startAuthServer({
    clients: [
      { ...CLIENT, redirect_uris: PROFILE_IDS.map((id) => `${PUBLIC_URL}/oauth/callback/${id}`) },
      { ...STRICT, redirect_uris: [`${PUBLIC_URL}/oauth/callback/no-pkce`], pkceRequired: true },
    ],
    scopes: 'crm.objects.deals.read',
    users: { alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Example' } },
  });
  fakes = await startFakeTokenEndpoints({ upstream: server.url('/token') });
  const oidc = (id: string, extra: Record<string, unknown> = {}) =>
    serverProfile(server, id, CLIENT, { scopes: OIDC_SCOPES, jwksUrl: server.url('/jwks'), ...extra });
  const profiles = [
    oidc('oidc'),
    oidc('oidc-tampered', { tokenUrl: fakes.url('idTokenTampered') }),
    oidc('oidc-replayed', { tokenUrl: fakes.url('idTokenFromAnotherSignIn') }),
    oidc('oidc-missing', { tokenUrl: fakes.url('idTokenMissing') }),
    serverProfile(server, 'plain', CLIENT),
    // The provider requires PKCE of this client: it refuses the request with an error_description.
    serverProfile(server, 'no-pkce', STRICT, { pkce: false }),
  ];
  harness = await createHarness({ profiles });
  late = await createHarness({ profiles, settings: { requestTtlMs: 24 * 3_600_000 } });
});

afterAll(async () => {
  await late?.close();
  await harness?.close();
  await fakes?.close();
  await server?.stop();
});

let users = 0;
function newSubject(): Subject {
  users += 1;
  return { kind: 'user', channelId: 'webchat', userId: `oidc-user-${users}` };
}

describe('the nonce (OpenID Connect Core §3.1.2.1)', () => {
  test('with scope openid a fresh nonce is sent; only its hash is stored, and it is never logged', async () => {
    const profile = await harness.engine.catalog.get('oidc');
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject: newSubject(),
      createdBy: 'user:test',
    });
    const first = await harness.engine.startAuthorization(created.requestId, undefined);
    const nonce = new URL(first.redirectUrl).searchParams.get('nonce');
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new URL(first.redirectUrl).searchParams.get('scope')).toBe(OIDC_SCOPES.join(' '));
    const stored = await harness.store.authorizationRequests.get(created.requestId);
    expect(stored?.nonceHash).toBe(sha256(nonce as string));
    expect(JSON.stringify(stored)).not.toContain(nonce as string);
    // Each opening of the link sends a new one; the earlier nonce no longer counts.
    const again = await harness.engine.startAuthorization(created.requestId, first.binding);
    const second = new URL(again.redirectUrl).searchParams.get('nonce') as string;
    expect(second).not.toBe(nonce);
    expect((await harness.store.authorizationRequests.get(created.requestId))?.nonceHash).toBe(
      sha256(second),
    );
    expect(harness.log.text()).not.toContain(nonce as string);
  });

  test('without openid no nonce is sent', async () => {
    const profile = await harness.engine.catalog.get('plain');
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject: newSubject(),
      createdBy: 'user:test',
    });
    const started = await harness.engine.startAuthorization(created.requestId, undefined);
    expect(new URL(started.redirectUrl).searchParams.has('nonce')).toBe(false);
    expect(started.request.nonceHash).toBeNull();
  });
});

describe('the ID token from the real provider', () => {
  test('a valid ID token: connected, and who signed in is kept on the connection and in its summary', async () => {
    const subject = newSubject();
    const { outcome } = await authorize(harness, 'oidc', subject, { login: 'alice' });
    expect(outcome.kind).toBe('connected');
    const stored = await harness.store.connections.get('oidc', subjectKey(subject));
    const account = { sub: 'alice', email: 'alice@example.com', name: 'Alice Example' };
    expect(stored?.account).toEqual(account);
    expect(stored && summarize(stored, harness.engine.context.keyRing).account).toEqual(account);
    if (outcome.kind === 'connected') expect(outcome.connection.account).toEqual(account);
    // The ID token itself is not kept: only the account it names.
    expect(JSON.stringify(stored)).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
  });

  test.each([
    ['oidc-tampered', 'idTokenTampered', "its signature does not match the issuer's keys"],
    ['oidc-replayed', 'idTokenFromAnotherSignIn', 'its nonce is not the one this sign-in sent'],
    ['oidc-missing', 'idTokenMissing', 'the provider sent no ID token although the sign-in asked for openid'],
  ] as const)(
    '%s (%s): the sign-in fails with a clear error and nothing is stored',
    async (id, behaviour, reason) => {
      if (behaviour === 'idTokenFromAnotherSignIn') {
        // The proxy remembers the first ID token it passes on: a genuine one, of this earlier sign-in.
        const { outcome } = await authorize(harness, id, newSubject());
        expect(outcome.kind).toBe('connected');
      }
      const subject = newSubject();
      const { outcome } = await authorize(harness, id, subject);
      expect(outcome.kind).toBe('failed');
      if (outcome.kind !== 'failed') return;
      expect(outcome.error.code).toBe('id-token-invalid');
      expect(outcome.error.message).toContain(reason);
      expect(fakes.calls(behaviour, 'authorization_code')).toBeGreaterThanOrEqual(1);
      expect(await harness.store.connections.get(id, subjectKey(subject))).toBeNull();
      const failure = [...harness.log.lines]
        .reverse()
        .find((line) => line.message === 'authorization failed');
      expect(failure?.fields).toMatchObject({ profileId: id, errorCode: 'id-token-invalid' });
    },
  );

  test('an ID token that has expired by the time it is checked is refused', async () => {
    const profile = await late.engine.catalog.get('oidc');
    const subject = newSubject();
    const created = await late.engine.createAuthorizationRequest({
      profile,
      subject,
      createdBy: 'user:test',
    });
    const started = await late.engine.startAuthorization(created.requestId, undefined);
    const callbackUrl = await completeConsent(started.redirectUrl, {
      login: 'alice',
      cookieJar: new CookieJar(),
    });
    // oidc-provider's ID tokens live an hour; our clock says two hours have passed.
    late.clock.advance(2 * 3_600_000);
    const outcome = await late.engine.completeCallback({
      profileId: 'oidc',
      query: callbackUrl.search.slice(1),
      browserBinding: started.binding,
    });
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.code).toBe('id-token-invalid');
    expect(outcome.error.message).toBe('the ID token was refused: it has expired');
    expect(await late.store.connections.get('oidc', subjectKey(subject))).toBeNull();
  });
});

describe("the provider's error_description", () => {
  test('reaches the error outcome and the log, cleaned; the code alone was all there was before', async () => {
    const { outcome } = await authorize(harness, 'no-pkce', newSubject());
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.code).toBe('provider-error');
    expect(outcome.error.message).toBe('the provider reported "invalid_request"');
    expect(outcome.error.provider).toEqual({
      error: 'invalid_request',
      description: 'Authorization Server policy requires PKCE to be used for this request',
    });
    const line = [...harness.log.lines]
      .reverse()
      .find((entry) => entry.message === 'the provider refused the authorization');
    expect(line?.fields).toMatchObject({
      profileId: 'no-pkce',
      providerError: 'invalid_request',
      description: 'Authorization Server policy requires PKCE to be used for this request',
    });
  });
});

describe('verifyIdToken: the checks on tokens the real server will not break', () => {
  const ISSUER = 'https://issuer.example';
  let keys: { privateKey: KeyLike; publicKey: KeyLike };
  let jwks: http.Server;
  let jwksUrl: string;

  beforeAll(async () => {
    keys = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', () => resolve()));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
  });

  afterAll(async () => {
    jwks.closeAllConnections();
    await new Promise<void>((resolve) => jwks.close(() => resolve()));
  });

  const NONCE = 'nonce-of-this-sign-in';
  const KEY_AGENT = new http.Agent();
  const expected = (overrides: Partial<IdTokenExpectations> = {}): IdTokenExpectations => ({
    issuer: ISSUER,
    clientId: 'client-1',
    jwksUrl,
    agent: KEY_AGENT,
    nonceHash: sha256(NONCE),
    now: Date.now(),
    timeoutMs: 2000,
    ...overrides,
  });
  // Claims first, so a test can replace any of them (the setters would overwrite iss, aud, sub).
  const sign = (
    claims: Record<string, unknown>,
    key: KeyLike | Uint8Array = keys.privateKey,
    alg = 'RS256',
  ) =>
    new SignJWT({
      iss: ISSUER,
      aud: 'client-1',
      sub: 'bob',
      nonce: NONCE,
      email: 'bob@example.com',
      name: 'Bob',
      ...claims,
    })
      .setProtectedHeader({ alg, kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);

  async function refusal(token: string, overrides: Partial<IdTokenExpectations> = {}): Promise<string> {
    const error = await verifyIdToken(token, expected(overrides)).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!isAuthProfilesError(error, 'id-token-invalid')) throw new Error(`not refused: ${String(error)}`);
    return error.message;
  }

  test('a valid token yields the account, with control characters stripped from what the provider wrote', async () => {
    expect(await verifyIdToken(await sign({ name: 'Bob\u202e\nBobson' }), expected())).toEqual({
      sub: 'bob',
      email: 'bob@example.com',
      name: 'Bob Bobson',
    });
  });

  test.each([
    ['another issuer', { iss: 'https://evil.example' }, "it was issued by another issuer than the profile's"],
    ['another audience', { aud: 'client-2' }, 'it was issued for another client'],
    ['an azp naming another client', { aud: ['client-1', 'client-2'], azp: 'client-2' }, '(azp)'],
    ['several audiences and no azp', { aud: ['client-1', 'client-2'] }, '(azp)'],
    ['another nonce', { nonce: 'from-another-sign-in' }, 'its nonce is not the one this sign-in sent'],
    ['no nonce', { nonce: undefined }, 'its nonce is not the one this sign-in sent'],
  ])('%s is refused', async (_what, claims, reason) => {
    expect(await refusal(await sign(claims))).toContain(reason);
  });

  test('an expired token is refused against the engine clock, with a minute of tolerance', async () => {
    const token = await sign({});
    expect(await refusal(token, { now: Date.now() + 12 * 60_000 })).toBe(
      'the ID token was refused: it has expired',
    );
    expect((await verifyIdToken(token, expected({ now: Date.now() + 10 * 60_000 + 30_000 }))).sub).toBe(
      'bob',
    );
  });

  test('a token signed with another key, with a shared secret, or not at all is refused', async () => {
    const other = await generateKeyPair('RS256');
    expect(await refusal(await sign({}, other.privateKey))).toContain(
      "its signature does not match the issuer's keys",
    );
    expect(await refusal(await sign({}, new TextEncoder().encode('x'.repeat(32)), 'HS256'))).toContain(
      'an algorithm that is not allowed',
    );
    const unsigned = new UnsecuredJWT({ nonce: NONCE, sub: 'bob' })
      .setIssuer(ISSUER)
      .setAudience('client-1')
      .setIssuedAt()
      .setExpirationTime('10m')
      .encode();
    expect(await refusal(unsigned)).toBe(
      'the ID token was refused: it is signed with an algorithm that is not allowed',
    );
  });

  test('an issuer whose keys cannot be fetched: refused, saying so', async () => {
    const unreachable = `http://127.0.0.1:${await closedPort()}/jwks`;
    expect(await refusal(await sign({}), { jwksUrl: unreachable })).toBe(
      "the ID token was refused: the issuer's signing keys (jwksUrl) could not be fetched",
    );
  });
});
