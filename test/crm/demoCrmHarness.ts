// The demo CRM API on a real restify server, protected by tokens from the real demo authorization server
// (oidc-provider in a child process), checked by real introspection. Shared by the test/crm suites.
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

import restify from 'restify';

import { oauthIntrospector, registerDemoCrm } from '../../bot/dev/demoCrm/demoCrm';
import { startAuthServer, type AuthServerClient, type RunningAuthServer } from '../support/authServer';
import { completeConsent } from '../support/browserlessConsent';

export const CONTACTS = 'crm.objects.contacts.read';
export const COMPANIES = 'crm.objects.companies.read';
export const DEALS = 'crm.objects.deals.read';
export const TICKETS = 'tickets';
export const OWNERS = 'crm.objects.owners.read';
export const SALES_EMAIL = 'sales-email-read';
export const ALL_CRM_SCOPES = `${CONTACTS} ${COMPANIES} ${DEALS} ${TICKETS} ${OWNERS} ${SALES_EMAIL}`;

const BASE_PATH = '/demo/crm';
const REDIRECT_URI = 'http://127.0.0.1:3978/oauth/callback/demo';

const crmClient: AuthServerClient = {
  client_id: 'demo-crm-tests',
  client_secret: 'demo-crm-tests-secret',
  redirect_uris: [REDIRECT_URI],
  token_endpoint_auth_method: 'client_secret_basic',
};

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  scope: string;
}

export interface DemoCrmHarness {
  authServer: RunningAuthServer;
  /** e.g. http://127.0.0.1:PORT/demo/crm — the HubSpot client's baseUrl. */
  crmBaseUrl: string;
  /** Runs authorization request → consent → code exchange and returns what the token endpoint issued. */
  issueTokens(scope: string, login?: string): Promise<IssuedTokens>;
  close(): Promise<void>;
}

export async function startDemoCrmHarness(
  options: { accessTokenTtl?: number } = {},
): Promise<DemoCrmHarness> {
  const authServer = await startAuthServer({
    clients: [crmClient],
    scopes: ALL_CRM_SCOPES,
    accessTokenTtl: options.accessTokenTtl ?? 600,
  });
  const server = restify.createServer();
  registerDemoCrm(server, {
    basePath: BASE_PATH,
    introspect: oauthIntrospector({
      introspectionUrl: authServer.url('/token/introspection'),
      clientId: crmClient.client_id,
      clientSecret: crmClient.client_secret,
      audience: authServer.url('/api'),
    }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;

  const issueTokens = async (scope: string, login = 'alice'): Promise<IssuedTokens> => {
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(authServer.url('/auth'));
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: crmClient.client_id,
      redirect_uri: REDIRECT_URI,
      scope,
      state: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const callback = await completeConsent(authorize.toString(), { login });
    const code = callback.searchParams.get('code');
    if (!code) throw new Error(`consent ended without a code: ${callback.search}`);
    const res = await fetch(authServer.url('/token'), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${crmClient.client_id}:${crmClient.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }).toString(),
    });
    const body = (await res.json()) as { access_token?: string; refresh_token?: string; scope?: string };
    if (res.status !== 200 || !body.access_token || !body.refresh_token) {
      throw new Error(`token endpoint answered ${res.status}`);
    }
    return { accessToken: body.access_token, refreshToken: body.refresh_token, scope: body.scope ?? '' };
  };

  return {
    authServer,
    crmBaseUrl: `http://127.0.0.1:${port}${BASE_PATH}`,
    issueTokens,
    close: async () => {
      server.server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await authServer.stop();
    },
  };
}
