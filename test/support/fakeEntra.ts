// FAKE Microsoft Entra ID, for bots' client-credential tokens only. Entra cannot run here, and a bot's
// adapter (botframework-connector → MSAL) signs every token-service call with a token from it. The
// fake answers what MSAL asks for — OpenID configuration and the v2.0 token endpoint, over https
// (MSAL refuses http authorities), with a self-signed certificate the bot's MSAL client is told to
// trust — and issues RS256 JWTs shaped like Entra's v1 access tokens (iss sts.windows.net/<tenant>/,
// aud, appid, ver 1.0). Its key set is served over plain http too, for the service under test.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { selfSignedCertificate } from './selfSignedCertificate';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';

export const FAKE_ENTRA_TENANT = 'fake-botframework-tenant';

export interface FakeEntraApp {
  appId: string;
  secret: string;
}

export interface FakeEntra {
  /** `https://127.0.0.1:<port>/<tenant>`: the MSAL authority. */
  authority: string;
  /** `127.0.0.1:<port>`, for MSAL's knownAuthorities (no cloud instance discovery offline). */
  authorityHost: string;
  /** The self-signed certificate of the https listener, for MSAL's customAgentOptions.ca. */
  certificate: string;
  /** The issuer of its tokens, `https://sts.windows.net/<tenant>/` as Entra v1 tokens say. */
  issuer: string;
  /** The key set over plain http: the service's TOKEN_SERVICE_JWKS_URL. */
  jwksUrl: string;
  /** Tokens issued through the token endpoint, by app id. */
  issued(appId: string): number;
  /** Signs a token directly (for HTTP-level tests), with claims overridden or removed (undefined). */
  mint(appId: string, overrides?: Record<string, unknown>, options?: { key?: 'other' }): Promise<string>;
  close(): Promise<void>;
}

export async function startFakeEntra(options: {
  apps: FakeEntraApp[];
  audience?: string;
}): Promise<FakeEntra> {
  const audience = options.audience ?? 'https://api.botframework.com';
  const issuer = `https://sts.windows.net/${FAKE_ENTRA_TENANT}/`;
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'fake-entra-key-1', use: 'sig', alg: 'RS256' };
  const keySet = JSON.stringify({ keys: [jwk] });
  const counts = new Map<string, number>();

  const { certificate, key } = selfSignedCertificate('127.0.0.1', 'IP:127.0.0.1');

  const sign = async (
    appId: string,
    overrides: Record<string, unknown> = {},
    signingKey: KeyLike = privateKey,
  ): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      aud: audience,
      iss: issuer,
      iat: now,
      nbf: now,
      exp: now + 3600,
      appid: appId,
      appidacr: '1',
      tid: FAKE_ENTRA_TENANT,
      ver: '1.0',
      ...overrides,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'fake-entra-key-1', typ: 'JWT' })
      .sign(signingKey);
  };

  let base = '';
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname.endsWith('/.well-known/openid-configuration')) {
      json(200, {
        issuer: `${base}/${FAKE_ENTRA_TENANT}/v2.0`,
        authorization_endpoint: `${base}/${FAKE_ENTRA_TENANT}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/${FAKE_ENTRA_TENANT}/oauth2/v2.0/token`,
        end_session_endpoint: `${base}/${FAKE_ENTRA_TENANT}/oauth2/v2.0/logout`,
        jwks_uri: `${base}/keys`,
        response_types_supported: ['code', 'token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
      return;
    }
    // `/keys` for the service under test; `<authority>/discovery/v2.0/keys` is where the Agents SDK
    // looks for the keys of an Entra-issued token sent to an agent (jwt-middleware.js buildJwksUri).
    if (req.method === 'GET' && (url.pathname === '/keys' || url.pathname.endsWith('/discovery/v2.0/keys'))) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(keySet);
      return;
    }
    if (req.method === 'POST' && url.pathname === `/${FAKE_ENTRA_TENANT}/oauth2/v2.0/token`) {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const app = options.apps.find((candidate) => candidate.appId === form.get('client_id'));
        if (
          form.get('grant_type') !== 'client_credentials' ||
          !app ||
          form.get('client_secret') !== app.secret
        ) {
          json(401, {
            error: 'invalid_client',
            error_description: 'AADSTS7000215: Invalid client secret provided.',
          });
          return;
        }
        if (form.get('scope') !== `${audience}/.default`) {
          json(400, { error: 'invalid_scope', error_description: `unknown scope ${form.get('scope')}` });
          return;
        }
        counts.set(app.appId, (counts.get(app.appId) ?? 0) + 1);
        void sign(app.appId).then((token) =>
          json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token }),
        );
      });
      return;
    }
    json(404, { error: 'not_found' });
  };
  const secure = https.createServer({ cert: certificate, key }, handler);
  const plain = http.createServer(handler);
  await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', () => resolve()));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', () => resolve()));
  const securePort = (secure.address() as AddressInfo).port;
  base = `https://127.0.0.1:${securePort}`;
  return {
    authority: `${base}/${FAKE_ENTRA_TENANT}`,
    authorityHost: `127.0.0.1:${securePort}`,
    certificate,
    issuer,
    jwksUrl: `http://127.0.0.1:${(plain.address() as AddressInfo).port}/keys`,
    issued: (appId) => counts.get(appId) ?? 0,
    mint: (appId, overrides, mintOptions) =>
      sign(appId, overrides, mintOptions?.key === 'other' ? other.privateKey : privateKey),
    async close() {
      for (const server of [secure, plain]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
