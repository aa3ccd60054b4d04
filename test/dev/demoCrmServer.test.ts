// The demo CRM in its own process (bot/dev/demoCrmServer.ts, what DEMO_CRM_URL points at): the same
// routes as the mounted one, accepting only access tokens the demo provider (real oidc-provider child)
// vouches for by introspection with the demo client's credentials.
import { createHash, randomBytes } from 'node:crypto';
import { startDemoCrmServer, type DemoCrmServer } from '../../bot/dev/demoCrmServer';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent } from '../support/browserlessConsent';

const REDIRECT = 'http://127.0.0.1:39997/oauth/callback/demo';
const SECRET = 'demo-crm-server-secret-123';
const SCOPE = 'crm.objects.owners.read';

let provider: RunningAuthServer;
let crm: DemoCrmServer;

beforeAll(async () => {
  provider = await startAuthServer({
    clients: [
      {
        client_id: 'authprofiles-demo',
        client_secret: SECRET,
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    scopes: SCOPE,
  });
  crm = await startDemoCrmServer({ DEMO_PROVIDER_URL: provider.issuer, DEMO_CLIENT_SECRET: SECRET });
});

afterAll(async () => {
  await crm?.close();
  await provider?.stop();
});

async function accessToken(login: string): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(provider.url('/auth'));
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: 'authprofiles-demo',
    redirect_uri: REDIRECT,
    scope: SCOPE,
    resource: `${provider.issuer}/api`,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const callback = await completeConsent(url.toString(), { login });
  const res = await fetch(provider.url('/token'), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`authprofiles-demo:${SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code') ?? '',
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no access token: ${JSON.stringify(body)}`);
  return body.access_token;
}

test('serves the demo CRM under /demo/crm on loopback, for the demo provider’s access tokens only', async () => {
  expect(crm.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/demo\/crm$/);
  const token = await accessToken('alice');
  const owners = await fetch(`${crm.url}/crm/v3/owners?email=alice@demo-crm.example`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(owners.status).toBe(200);
  expect(((await owners.json()) as { results: { id: string }[] }).results.map((o) => o.id)).toEqual([
    '71001',
  ]);
  const info = await fetch(`${crm.url}/oauth/v1/access-tokens/${token}`);
  expect(info.status).toBe(200);
  expect(await info.json()).toMatchObject({ user: 'alice@demo-crm.example', hub_id: 9000001 });

  const forged = await fetch(`${crm.url}/crm/v3/owners`, {
    headers: { authorization: `Bearer ${randomBytes(32).toString('base64url')}` },
  });
  expect(forged.status).toBe(401);
  await forged.arrayBuffer();
});

test('bad settings are named; only a loopback HOST is accepted', async () => {
  await expect(startDemoCrmServer({ DEMO_PROVIDER_URL: provider.issuer })).rejects.toThrow(
    /DEMO_CLIENT_SECRET: /,
  );
  await expect(
    startDemoCrmServer({ DEMO_PROVIDER_URL: provider.issuer, DEMO_CLIENT_SECRET: SECRET, HOST: '0.0.0.0' }),
  ).rejects.toThrow('HOST: must be a loopback address (the demo CRM is for this machine only)');
});
