// Interop with a second, independent authorization server: Glewlwyd 2.7.5 (Debian package, written
// in C by people who never saw this project), run as a child process by test/support/glewlwydServer.
// The engine is the same harness the flow tests use; only the provider differs from oidc-provider.
// Glewlwyd's own answers are read back with its introspection and userinfo endpoints.
import { openTokens } from '../../profiles/connections';
import type { StoredConnection } from '../../profiles/store/types';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { createHarness, PUBLIC_URL, type Harness } from '../support/engineHarness';
import { glewlwydUnavailableReason, startGlewlwyd, type RunningGlewlwyd } from '../support/glewlwydServer';

const unavailable = glewlwydUnavailableReason();
if (unavailable) {
  console.warn(
    `\n!!! Glewlwyd interop tests SKIPPED: ${unavailable}\n` +
      '!!! CI installs it (.ci/run); without it nothing here was checked against a second real server.\n',
  );
}
const describeWithGlewlwyd = unavailable ? describe.skip : describe;

const OAUTH = 'glew';
const OIDC = 'glew-oidc';
const CUSTOM_SCOPE = 'crm.read';

describeWithGlewlwyd('Glewlwyd 2.7.5 as the authorization server', () => {
  let glew: RunningGlewlwyd;
  let harness: Harness;

  beforeAll(async () => {
    glew = await startGlewlwyd({
      redirectUris: [OAUTH, OIDC].map((id) => `${PUBLIC_URL}/oauth/callback/${id}`),
      scopes: [CUSTOM_SCOPE],
    });
    const profile = (id: string, scopes: string[]) => ({
      id,
      displayName: `Glewlwyd ${id}`,
      authorizationUrl: glew.authorizationUrl,
      tokenUrl: glew.tokenUrl,
      revocationUrl: glew.revocationUrl,
      issuer: glew.issuer,
      jwksUrl: glew.jwksUrl,
      issuerParameterSupported: true,
      clientId: glew.clientId,
      clientSecret: glew.clientSecret,
      tokenEndpointAuthMethod: 'client_secret_basic',
      pkce: true,
      scopes,
    });
    harness = await createHarness({
      profiles: [profile(OAUTH, [CUSTOM_SCOPE]), profile(OIDC, ['openid', CUSTOM_SCOPE])],
    });
  });

  afterAll(async () => {
    await harness?.close();
    await glew?.stop();
  });

  let users = 0;
  function newUser(): Subject {
    users += 1;
    return { kind: 'user', channelId: 'webchat', userId: `glew-user-${users}` };
  }

  /** Request → Glewlwyd's login and consent (over HTTP) → callback, through the engine. */
  async function signIn(profileId: string, subject: Subject) {
    const profile = await harness.engine.catalog.get(profileId);
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject,
      createdBy: 'user:test',
    });
    const started = await harness.engine.startAuthorization(created.requestId, undefined);
    const authorizationUrl = new URL(started.redirectUrl);
    const callbackUrl = await glew.signIn(started.redirectUrl);
    const outcome = await harness.engine.completeCallback({
      profileId,
      query: callbackUrl.search.slice(1),
      browserBinding: started.binding,
    });
    return { profile, outcome, authorizationUrl, callbackUrl };
  }

  async function stored(profileId: string, subject: Subject): Promise<StoredConnection> {
    const connection = await harness.store.connections.get(profileId, subjectKey(subject));
    if (!connection) throw new Error(`no connection for ${subjectKey(subject)}`);
    return connection;
  }

  function clientAuth(): string {
    return `Basic ${Buffer.from(`${glew.clientId}:${glew.clientSecret}`).toString('base64')}`;
  }

  async function postForm(url: string, form: Record<string, string>): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      headers: { authorization: clientAuth(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
  }

  async function introspect(token: string): Promise<Record<string, unknown>> {
    const response = await postForm(glew.introspectionUrl, { token });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  }

  async function userinfo(accessToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(glew.userinfoUrl, { headers: { authorization: `Bearer ${accessToken}` } });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** Glewlwyd's raw answer to a refresh with this token (status and body text). */
  async function refreshAtGlewlwyd(refreshToken: string): Promise<{ status: number; body: string }> {
    const response = await postForm(glew.tokenUrl, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    return { status: response.status, body: await response.text() };
  }

  /**
   * Marks the stored access token as expired, so the next getToken must refresh. The engine's clock
   * stays with Glewlwyd's: a clock moved ahead would make its later ID tokens look expired.
   */
  async function expire(profileId: string, subject: Subject): Promise<void> {
    const connection = await stored(profileId, subject);
    await harness.engine.store.connections.update(connection.id, connection.version, {
      expiresAt: harness.clock() - 1,
    });
  }

  test('authorization code with PKCE S256 and iss gives an active connection whose token Glewlwyd accepts', async () => {
    const subject = newUser();
    const { profile, outcome, authorizationUrl, callbackUrl } = await signIn(OAUTH, subject);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(callbackUrl.searchParams.get('iss')).toBe(glew.issuer);
    expect(callbackUrl.searchParams.get('code')).toBeTruthy();
    expect(outcome.kind).toBe('connected');

    const connection = await stored(OAUTH, subject);
    expect(connection.status).toBe('active');
    expect(connection.scopes).toEqual([CUSTOM_SCOPE]);
    expect(connection.refreshToken).toMatch(/^v1\.test1\./);
    const token = await harness.engine.getToken(profile, subject);
    if (!token.ok) throw new Error(`getToken: ${token.reason}`);
    expect(connection.accessToken).not.toContain(token.accessToken);

    const introspection = await introspect(token.accessToken);
    expect(introspection).toMatchObject({
      active: true,
      client_id: glew.clientId,
      username: glew.username,
      scope: CUSTOM_SCOPE,
    });
    const info = await userinfo(token.accessToken);
    expect(info.status).toBe(200);
    expect(info.body.sub).toBe(introspection.sub);
  });

  test('a callback whose iss is not Glewlwyd is refused (RFC 9207 with a real server)', async () => {
    const subject = newUser();
    const profile = await harness.engine.catalog.get(OAUTH);
    const created = await harness.engine.createAuthorizationRequest({
      profile,
      subject,
      createdBy: 'user:test',
    });
    const started = await harness.engine.startAuthorization(created.requestId, undefined);
    const callbackUrl = await glew.signIn(started.redirectUrl);
    callbackUrl.searchParams.set('iss', 'http://127.0.0.1:1/api/oidc');
    await expect(
      harness.engine.completeCallback({
        profileId: OAUTH,
        query: callbackUrl.search.slice(1),
        browserBinding: started.binding,
      }),
    ).rejects.toMatchObject({ code: 'issuer-mismatch' });
    expect(await harness.store.connections.get(OAUTH, subjectKey(subject))).toBeNull();
  });

  test('refresh (non-rotating): Glewlwyd issues a new access token and the refresh token is kept and still works', async () => {
    const subject = newUser();
    const { profile, outcome } = await signIn(OAUTH, subject);
    expect(outcome.kind).toBe('connected');
    const before = openTokens(harness.context, await stored(OAUTH, subject));

    for (let round = 1; round <= 2; round += 1) {
      await expire(OAUTH, subject);
      const refreshStarted = harness.clock();
      const token = await harness.engine.getToken(profile, subject);
      if (!token.ok) throw new Error(`refresh round ${round}: ${token.reason}`);
      expect(token.accessToken).not.toBe(before.accessToken);
      expect(await introspect(token.accessToken)).toMatchObject({ active: true, scope: CUSTOM_SCOPE });

      const after = await stored(OAUTH, subject);
      expect(after.status).toBe('active');
      expect(after.refreshedAt).toBeGreaterThanOrEqual(refreshStarted);
      expect(after.lastError).toBeNull();
      // Glewlwyd's refresh answer has no refresh_token: the one we hold stays (SECURITY.md #17),
      // and the second round proves Glewlwyd still honours it.
      expect(openTokens(harness.context, after).refreshToken).toBe(before.refreshToken);
    }
  });

  test('sign-out revokes at Glewlwyd: the access token turns inactive and the refresh token is refused', async () => {
    const subject = newUser();
    const { profile } = await signIn(OAUTH, subject);
    const tokens = openTokens(harness.context, await stored(OAUTH, subject));
    expect(await introspect(tokens.accessToken)).toMatchObject({ active: true });

    const result = await harness.engine.signOut(profile, subject, 'user:test');
    expect(result).toEqual({ revokedAtProvider: true, providerError: null });
    expect(await harness.store.connections.get(OAUTH, subjectKey(subject))).toBeNull();

    expect(await introspect(tokens.accessToken)).toEqual({ active: false });
    expect((await userinfo(tokens.accessToken)).status).toBe(401);
    expect((await refreshAtGlewlwyd(tokens.refreshToken ?? '')).status).toBe(400);
  });

  test('a revoked refresh token (Glewlwyd: HTTP 400, empty body) makes the connection needs-reauthorization naming the 400', async () => {
    const subject = newUser();
    const { profile } = await signIn(OAUTH, subject);
    const tokens = openTokens(harness.context, await stored(OAUTH, subject));
    // The grant dies at Glewlwyd behind our back (as when the user or an admin revokes it there).
    const revoked = await postForm(glew.revocationUrl, {
      token: tokens.refreshToken ?? '',
      token_type_hint: 'refresh_token',
    });
    expect(revoked.status).toBe(200);
    // What Glewlwyd answers for a dead refresh token: 400 with no body at all (no `error` code).
    expect(await refreshAtGlewlwyd(tokens.refreshToken ?? '')).toEqual({ status: 400, body: '' });

    await expire(OAUTH, subject);
    const token = await harness.engine.getToken(profile, subject);
    expect(token).toMatchObject({ ok: false, reason: 'needs-reauthorization' });
    const connection = await stored(OAUTH, subject);
    expect(connection.status).toBe('needs-reauthorization');
    expect(connection.lastError).toMatch(/400/);
  });

  test('with openid in the scopes the engine sends a nonce, the sign-in succeeds and the ID token sub is kept', async () => {
    const subject = newUser();
    const { profile, outcome, authorizationUrl, callbackUrl } = await signIn(OIDC, subject);
    // Glewlwyd refuses an OpenID Connect request without a nonce (error_description "nonce required").
    expect(authorizationUrl.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(callbackUrl.searchParams.get('error_description')).toBeNull();
    expect(outcome.kind).toBe('connected');

    const token = await harness.engine.getToken(profile, subject);
    if (!token.ok) throw new Error(`getToken: ${token.reason}`);
    expect(token.scopes).toEqual(expect.arrayContaining(['openid', CUSTOM_SCOPE]));
    // OpenID Connect Core §5.3.2: userinfo's sub is the ID token's sub.
    const info = await userinfo(token.accessToken);
    expect(info.status).toBe(200);
    expect(typeof info.body.sub).toBe('string');
    expect(signedInSubs(await stored(OIDC, subject))).toContain(info.body.sub);
  });
});

/**
 * Every `sub` the stored connection keeps about who signed in, wherever the engine puts it: a
 * top-level `sub`-named field, or a `sub` inside an object field (e.g. `identity: { sub, email }`).
 */
function signedInSubs(connection: StoredConnection): string[] {
  const subs: string[] = [];
  for (const [key, value] of Object.entries(connection as unknown as Record<string, unknown>)) {
    if (typeof value === 'string' && /sub$/i.test(key)) subs.push(value);
    if (value && typeof value === 'object' && typeof (value as { sub?: unknown }).sub === 'string') {
      subs.push((value as { sub: string }).sub);
    }
  }
  return subs;
}
