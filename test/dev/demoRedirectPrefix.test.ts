// The dev demo provider (bot/dev/authServer.mjs, real oidc-provider) lets the demo client sign in for
// any profile of this service: `redirect_uri_prefix` accepts `<PUBLIC_URL>/oauth/callback/<one id>`,
// so a custom profile file can use the demo provider without registering its callback. Anything that
// would leave that one path segment is refused as an unregistered redirect URI.
import { createHash, randomBytes } from 'node:crypto';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent } from '../support/browserlessConsent';

const PREFIX = 'http://127.0.0.1:39998/oauth/callback/';
const CLIENT = {
  client_id: 'authprofiles-demo',
  client_secret: 'demo-prefix-secret-value',
  redirect_uris: [`${PREFIX}demo`],
  token_endpoint_auth_method: 'client_secret_basic' as const,
  redirect_uri_prefix: PREFIX,
};

let server: RunningAuthServer;

beforeAll(async () => {
  server = await startAuthServer({ clients: [CLIENT], scopes: 'crm.objects.contacts.read' });
});

afterAll(async () => {
  await server?.stop();
});

function authorizationUrl(redirectUri: string, verifier: string): string {
  const url = new URL(server.url('/auth'));
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT.client_id,
    redirect_uri: redirectUri,
    scope: 'crm.objects.contacts.read',
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

async function exchange(code: string, redirectUri: string, verifier: string): Promise<Response> {
  const basic = Buffer.from(`${CLIENT.client_id}:${CLIENT.client_secret}`).toString('base64');
  return fetch(server.url('/token'), {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
}

test('a callback of another profile id under the prefix signs in, and its code is exchanged with it', async () => {
  const verifier = randomBytes(32).toString('base64url');
  const redirectUri = `${PREFIX}mini-crm`;
  const callback = await completeConsent(authorizationUrl(redirectUri, verifier), { login: 'alice' });
  expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri);
  const code = callback.searchParams.get('code') ?? '';
  expect(code).not.toBe('');
  // The code is bound to the redirect URI it was issued for (another id under the prefix is refused).
  const wrong = await exchange(code, `${PREFIX}demo`, verifier);
  expect(wrong.status).toBe(400);
  expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
  const verifier2 = randomBytes(32).toString('base64url');
  const again = await completeConsent(authorizationUrl(redirectUri, verifier2), { login: 'alice' });
  const token = await exchange(again.searchParams.get('code') ?? '', redirectUri, verifier2);
  expect(token.status).toBe(200);
  expect(await token.json()).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
});

test.each([
  ['a second path segment', `${PREFIX}mini-crm/extra`],
  ['a dot-dot segment', `${PREFIX}../admin`],
  ['an encoded slash', `${PREFIX}mini%2Fcrm`],
  ['a query', `${PREFIX}mini-crm?next=1`],
  ['a fragment', `${PREFIX}mini-crm#x`],
  ['an upper-case id', `${PREFIX}Mini`],
  ['nothing after the prefix', PREFIX],
  ['another port', 'http://127.0.0.1:39997/oauth/callback/mini-crm'],
  ['another path', 'http://127.0.0.1:39998/oauth/mini-crm'],
])('%s is refused as an unregistered redirect URI', async (_name, redirectUri) => {
  const res = await fetch(authorizationUrl(redirectUri, randomBytes(32).toString('base64url')), {
    redirect: 'manual',
  });
  // oidc-provider shows its error page instead of redirecting anywhere.
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(await res.text()).toContain('redirect_uri did not match any of the client');
});
