// Checks the demo/test authorization server itself, by hand with fetch, so that the suites built on
// it (the bot's OAuth flows) can trust that what it does is what a real provider does.
import { createHash, randomBytes } from 'node:crypto';

import { startAuthServer, type AuthServerClient, type RunningAuthServer } from './support/authServer';
import { completeConsent, CookieJar } from './support/browserlessConsent';

const REDIRECT_URI = 'http://127.0.0.1:3978/api/oauth/callback';
const ACCESS_TOKEN_TTL = 5;
const DEALS = 'crm.objects.deals.read';
const CONTACTS = 'crm.objects.contacts.read';

const basicClient: AuthServerClient = {
  client_id: 'basic-client',
  client_secret: 'basic-secret',
  redirect_uris: [REDIRECT_URI],
  token_endpoint_auth_method: 'client_secret_basic',
  rotateRefreshToken: true,
};
const postClient: AuthServerClient = {
  client_id: 'post-client',
  client_secret: 'post-secret',
  redirect_uris: [REDIRECT_URI],
  token_endpoint_auth_method: 'client_secret_post',
  rotateRefreshToken: false,
};
const pkceClient: AuthServerClient = {
  client_id: 'pkce-client',
  client_secret: 'pkce-secret',
  redirect_uris: [REDIRECT_URI],
  token_endpoint_auth_method: 'client_secret_basic',
  pkceRequired: true,
};

interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
  token_type?: string;
  scope?: string;
  error?: string;
}

let server: RunningAuthServer;

beforeAll(async () => {
  server = await startAuthServer({
    clients: [basicClient, postClient, pkceClient],
    accessTokenTtl: ACCESS_TOKEN_TTL,
    scopes: `${DEALS} ${CONTACTS}`,
  });
});

afterAll(async () => {
  await server?.stop();
});

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(client: AuthServerClient, params: Record<string, string>): string {
  const url = new URL(server.url('/auth'));
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    ...params,
  }).toString();
  return url.toString();
}

/** Calls an endpoint authenticating the way the client is registered to. */
async function clientPost(
  client: AuthServerClient,
  pathname: string,
  params: Record<string, string>,
): Promise<{ status: number; body: TokenResponse & Record<string, unknown> }> {
  const form = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.token_endpoint_auth_method === 'client_secret_basic') {
    // RFC 6749 §2.3.1: id and secret are form-encoded before base64.
    const credentials = `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  } else {
    form.set('client_id', client.client_id);
    form.set('client_secret', client.client_secret);
  }
  const res = await fetch(server.url(pathname), { method: 'POST', headers, body: form.toString() });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as TokenResponse & Record<string, unknown>) : {},
  };
}

/** authorize → consent → code exchange, as the bot does it. */
async function obtainTokens(
  client: AuthServerClient,
  scope: string,
  login = 'alice',
): Promise<{ status: number; body: TokenResponse }> {
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(8).toString('hex');
  const callback = await completeConsent(
    authorizeUrl(client, { scope, state, code_challenge: challenge, code_challenge_method: 'S256' }),
    { login },
  );
  const code = callback.searchParams.get('code');
  expect(callback.searchParams.get('state')).toBe(state);
  expect(code).toEqual(expect.any(String));
  return clientPost(client, '/token', {
    grant_type: 'authorization_code',
    code: code ?? '',
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
}

describe('demo authorization server', () => {
  afterEach(async () => {
    await server.resetFaults();
  });

  it('serves a discovery document for its issuer', async () => {
    const res = await fetch(server.url('/.well-known/openid-configuration'));
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(server.issuer);
    expect(server.issuer).toBe(`http://127.0.0.1:${server.port}`);
    expect(doc.authorization_endpoint).toBe(server.url('/auth'));
    expect(doc.token_endpoint).toBe(server.url('/token'));
    expect(doc.revocation_endpoint).toBe(server.url('/token/revocation'));
    expect(doc.introspection_endpoint).toBe(server.url('/token/introspection'));
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.authorization_response_iss_parameter_supported).toBe(true);
  });

  it('runs a code flow with PKCE S256 for a client_secret_basic client', async () => {
    const { verifier, challenge } = pkcePair();
    const callback = await completeConsent(
      authorizeUrl(basicClient, {
        scope: DEALS,
        state: 'state-1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
      { login: 'alice' },
    );
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('state')).toBe('state-1');
    expect(callback.searchParams.get('iss')).toBe(server.issuer);
    const code = callback.searchParams.get('code') ?? '';
    expect(code.length).toBeGreaterThan(20);

    const wrongVerifier = await clientPost(basicClient, '/token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: pkcePair().verifier,
    });
    expect(wrongVerifier.status).toBe(400);
    expect(wrongVerifier.body.error).toBe('invalid_grant');

    // A failed redemption consumes the code (single use), so run the flow again for the real exchange.
    const again = await completeConsent(
      authorizeUrl(basicClient, { scope: DEALS, code_challenge: challenge, code_challenge_method: 'S256' }),
      { login: 'alice' },
    );
    const { status, body } = await clientPost(basicClient, '/token', {
      grant_type: 'authorization_code',
      code: again.searchParams.get('code') ?? '',
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(status).toBe(200);
    expect(body.access_token).toEqual(expect.any(String));
    expect(body.refresh_token).toEqual(expect.any(String));
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(ACCESS_TOKEN_TTL);
    expect(body.scope?.split(' ')).toEqual([DEALS]);

    const introspection = await clientPost(basicClient, '/token/introspection', {
      token: body.access_token ?? '',
    });
    expect(introspection.status).toBe(200);
    expect(introspection.body).toMatchObject({
      active: true,
      client_id: basicClient.client_id,
      sub: 'alice',
      scope: DEALS,
      aud: server.url('/api'),
    });
  });

  it('grants several custom scopes and drops unknown ones', async () => {
    const { status, body } = await obtainTokens(basicClient, `${DEALS} ${CONTACTS} crm.unknown.write`);
    expect(status).toBe(200);
    expect(body.scope?.split(' ').sort()).toEqual([CONTACTS, DEALS]);
  });

  it('rejects an authorization request without code_challenge for a PKCE-required client', async () => {
    const callback = await completeConsent(authorizeUrl(pkceClient, { scope: DEALS, state: 's' }), {
      login: 'alice',
    });
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('error_description')).toMatch(/PKCE/);
    expect(callback.searchParams.get('state')).toBe('s');
    expect(callback.searchParams.get('code')).toBeNull();
  });

  it('runs the code flow for a PKCE-required client that sends a challenge', async () => {
    const { status, body } = await obtainTokens(pkceClient, DEALS);
    expect(status).toBe(200);
    expect(body.access_token).toEqual(expect.any(String));
  });

  it('runs the code flow for a client_secret_post client and refuses Basic auth for it', async () => {
    const { status, body } = await obtainTokens(postClient, CONTACTS);
    expect(status).toBe(200);
    expect(body.access_token).toEqual(expect.any(String));
    expect(body.refresh_token).toEqual(expect.any(String));
    expect(body.scope).toBe(CONTACTS);

    const asBasic = await clientPost(
      { ...postClient, token_endpoint_auth_method: 'client_secret_basic' },
      '/token',
      { grant_type: 'refresh_token', refresh_token: body.refresh_token ?? '' },
    );
    expect(asBasic.status).toBe(401);
    expect(asBasic.body.error).toBe('invalid_client');

    // And the other way round: a client_secret_basic client may not put its secret in the body.
    const asPost = await clientPost(
      { ...basicClient, token_endpoint_auth_method: 'client_secret_post' },
      '/token',
      { grant_type: 'refresh_token', refresh_token: 'whatever' },
    );
    expect(asPost.status).toBe(401);
    expect(asPost.body.error).toBe('invalid_client');
  });

  it('reports error=access_denied with state and iss when the user cancels consent', async () => {
    const callback = await completeConsent(authorizeUrl(basicClient, { scope: DEALS, state: 'deny-me' }), {
      login: 'bob',
      deny: true,
    });
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe('deny-me');
    expect(callback.searchParams.get('iss')).toBe(server.issuer);
    expect(callback.searchParams.get('code')).toBeNull();
  });

  it('reuses the session kept in a cookie jar for a second authorization', async () => {
    const jar = new CookieJar();
    await completeConsent(authorizeUrl(postClient, { scope: DEALS }), { login: 'carol', cookieJar: jar });
    // The login name is ignored now: the provider already knows the user from the session cookie.
    const second = await completeConsent(authorizeUrl(postClient, { scope: DEALS }), {
      login: 'mallory',
      cookieJar: jar,
    });
    const { body } = await clientPost(postClient, '/token', {
      grant_type: 'authorization_code',
      code: second.searchParams.get('code') ?? '',
      redirect_uri: REDIRECT_URI,
    });
    const introspection = await clientPost(postClient, '/token/introspection', {
      token: body.access_token ?? '',
    });
    expect(introspection.body).toMatchObject({ active: true, sub: 'carol' });
  });

  it('rotates refresh tokens for a rotating client and fails reuse of the old one', async () => {
    const first = await obtainTokens(basicClient, DEALS);
    const oldRefresh = first.body.refresh_token ?? '';

    const refreshed = await clientPost(basicClient, '/token', {
      grant_type: 'refresh_token',
      refresh_token: oldRefresh,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toEqual(expect.any(String));
    expect(refreshed.body.refresh_token).not.toBe(oldRefresh);
    expect(refreshed.body.access_token).not.toBe(first.body.access_token);
    expect(refreshed.body.expires_in).toBe(ACCESS_TOKEN_TTL);
    expect(refreshed.body.scope).toBe(DEALS);

    const reused = await clientPost(basicClient, '/token', {
      grant_type: 'refresh_token',
      refresh_token: oldRefresh,
    });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');

    // Reuse is treated as theft: the whole grant, including the newest refresh token, is revoked.
    const newest = await clientPost(basicClient, '/token', {
      grant_type: 'refresh_token',
      refresh_token: refreshed.body.refresh_token ?? '',
    });
    expect(newest.status).toBe(400);
    expect(newest.body.error).toBe('invalid_grant');
  });

  it('keeps the same refresh token for a non-rotating client', async () => {
    const first = await obtainTokens(postClient, DEALS);
    const refreshToken = first.body.refresh_token ?? '';
    for (let i = 0; i < 2; i += 1) {
      const refreshed = await clientPost(postClient, '/token', {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.refresh_token).toBe(refreshToken);
      expect(refreshed.body.access_token).not.toBe(first.body.access_token);
    }
  });

  it('revokes access and refresh tokens', async () => {
    const { body } = await obtainTokens(postClient, DEALS);
    const accessToken = body.access_token ?? '';
    const refreshToken = body.refresh_token ?? '';
    expect((await clientPost(postClient, '/token/introspection', { token: accessToken })).body.active).toBe(
      true,
    );

    const revokeAccess = await clientPost(postClient, '/token/revocation', {
      token: accessToken,
      token_type_hint: 'access_token',
    });
    expect(revokeAccess.status).toBe(200);
    expect((await clientPost(postClient, '/token/introspection', { token: accessToken })).body).toEqual({
      active: false,
    });

    const revokeRefresh = await clientPost(postClient, '/token/revocation', {
      token: refreshToken,
      token_type_hint: 'refresh_token',
    });
    expect(revokeRefresh.status).toBe(200);
    const refreshed = await clientPost(postClient, '/token', {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error).toBe('invalid_grant');
  });

  it('counts token, revocation and introspection requests in /_stats, failed ones included', async () => {
    await server.resetStats();
    expect(await server.stats()).toEqual({
      token: { authorization_code: 0, refresh_token: 0 },
      revocation: 0,
      introspection: 0,
    });

    const { body } = await obtainTokens(basicClient, DEALS);
    await clientPost(basicClient, '/token', {
      grant_type: 'refresh_token',
      refresh_token: body.refresh_token ?? '',
    });
    await clientPost(basicClient, '/token', { grant_type: 'refresh_token', refresh_token: 'not-a-token' });
    await clientPost(basicClient, '/token/introspection', { token: body.access_token ?? '' });
    await clientPost(basicClient, '/token/revocation', { token: body.access_token ?? '' });

    expect(await server.stats()).toEqual({
      token: { authorization_code: 1, refresh_token: 2 },
      revocation: 1,
      introspection: 1,
    });
  });

  it('injects token endpoint faults for the next N requests only', async () => {
    const { body } = await obtainTokens(postClient, DEALS);
    await server.resetStats();
    await server.injectFault({ token: { status: 503, times: 2 } });

    const refresh = { grant_type: 'refresh_token', refresh_token: body.refresh_token ?? '' };
    const first = await clientPost(postClient, '/token', refresh);
    const second = await clientPost(postClient, '/token', refresh);
    const third = await clientPost(postClient, '/token', refresh);
    expect([first.status, second.status, third.status]).toEqual([503, 503, 200]);
    expect(first.body.error).toBe('temporarily_unavailable');
    expect(third.body.access_token).toEqual(expect.any(String));
    expect((await server.stats()).token.refresh_token).toBe(3);
  });

  it('delays token requests when a fault has only delayMs', async () => {
    const { body } = await obtainTokens(postClient, DEALS);
    await server.injectFault({ token: { delayMs: 400, times: 1 } });
    const startedAt = Date.now();
    const res = await clientPost(postClient, '/token', {
      grant_type: 'refresh_token',
      refresh_token: body.refresh_token ?? '',
    });
    expect(res.status).toBe(200);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(380);
  });

  it('expires access tokens after accessTokenTtl and hides /_ endpoints without testHooks', async () => {
    const shortLived = await startAuthServer({
      clients: [postClient],
      accessTokenTtl: 1,
      scopes: [DEALS],
      testHooks: false,
    });
    try {
      expect((await fetch(shortLived.url('/_stats'))).status).toBe(404);
      const { verifier, challenge } = pkcePair();
      const url = new URL(shortLived.url('/auth'));
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: postClient.client_id,
        redirect_uri: REDIRECT_URI,
        // A request that ends with no granted scope is answered with access_denied.
        scope: DEALS,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      const callback = await completeConsent(url.toString(), { login: 'dave' });
      const introspect = async (token: string): Promise<unknown> => {
        const res = await fetch(shortLived.url('/token/introspection'), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token, client_id: postClient.client_id, client_secret: 'post-secret' }),
        });
        return ((await res.json()) as { active: boolean }).active;
      };
      const res = await fetch(shortLived.url('/token'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: callback.searchParams.get('code') ?? '',
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
          client_id: postClient.client_id,
          client_secret: postClient.client_secret,
        }),
      });
      const body = (await res.json()) as TokenResponse;
      expect(body.expires_in).toBe(1);
      expect(await introspect(body.access_token ?? '')).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      expect(await introspect(body.access_token ?? '')).toBe(false);
      expect(await introspect(body.refresh_token ?? '')).toBe(true);
    } finally {
      await shortLived.stop();
    }
  });
});
