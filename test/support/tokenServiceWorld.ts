// The whole service (createApp: routes, token service, OAuth routes) on a real port, with a test
// engine (real SQLite, real encryption, a clock tests move), the real oidc-provider as the profiles'
// authorization server, and the FAKE Entra that issues the calling bots' tokens.
import { join } from 'node:path';
import pino from 'pino';
import { createApp, type App } from '../../bot/app';
import { registerLocalDirectLine } from '../../bot/dev/directLine/localDirectLine';
import { tokenServiceSignInLinks } from '../../bot/dev/directLine/oauthCardLinks';
import { loadConfig } from '../../bot/config';
import { startAuthServer, type RunningAuthServer } from './authServer';
import { completeConsent, CookieJar } from './browserlessConsent';
import { freePort } from './botHarness';
import { createHarness, serverProfile, type Harness } from './engineHarness';
import { startFakeEntra, type FakeEntra, type FakeEntraApp } from './fakeEntra';

export const PROFILE_CLIENT = {
  client_id: 'token-service-client',
  client_secret: 'token-service-client-secret-123',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

/** Allowed to call the service. */
export const BOT_A: FakeEntraApp = {
  appId: '00000000-0000-4000-8000-00000000000a',
  secret: 'bot-a-secret-123456',
};
/** Also allowed: a second bot of the same organisation. */
export const BOT_C: FakeEntraApp = {
  appId: '00000000-0000-4000-8000-00000000000c',
  secret: 'bot-c-secret-123456',
};
/** Registered at Entra but not in TOKEN_SERVICE_ALLOWED_APP_IDS. */
export const BOT_B: FakeEntraApp = {
  appId: '00000000-0000-4000-8000-00000000000b',
  secret: 'bot-b-secret-123456',
};

export interface TokenServiceWorld {
  base: string;
  app: App;
  harness: Harness;
  authServer: RunningAuthServer;
  entra: FakeEntra;
  /** Every line the service logged (pino JSON), to prove no code or token reaches a log. */
  logs: string[];
  /** Plays the person who opens the sign-in link: consent at the provider, return the code page's code. */
  consent(signInLink: string, login?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTokenServiceWorld(
  options: {
    env?: Record<string, string>;
    accessTokenTtl?: number;
    /** Serve the dev surface's local Direct Line (normally wired by bot/devSurface.ts in dev mode). */
    localDirectLine?: boolean;
    /** Added to both profiles (`crm`, `crm-org`), e.g. an `apiBaseUrl`. */
    profileExtra?: Record<string, unknown>;
    /** More profiles of the same client at the same authorization server: id and fields. */
    extraProfiles?: { id: string; extra: Record<string, unknown> }[];
  } = {},
): Promise<TokenServiceWorld> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const authServer = await startAuthServer({
    clients: [
      {
        ...PROFILE_CLIENT,
        redirect_uris: ['crm', 'crm-org', ...(options.extraProfiles ?? []).map((p) => p.id)].map(
          (id) => `${base}/oauth/callback/${id}`,
        ),
        pkceRequired: true,
        rotateRefreshToken: true,
      },
    ],
    scopes: 'crm.objects.deals.read',
    ...(options.accessTokenTtl ? { accessTokenTtl: options.accessTokenTtl } : {}),
  });
  const entra = await startFakeEntra({ apps: [BOT_A, BOT_B, BOT_C] });
  const harness = await createHarness({
    profiles: [
      serverProfile(authServer, 'crm', PROFILE_CLIENT, { displayName: 'Demo CRM', ...options.profileExtra }),
      serverProfile(authServer, 'crm-org', PROFILE_CLIENT, {
        displayName: 'Demo CRM (organisation)',
        authorization: 'pre-authorized',
        ...options.profileExtra,
      }),
      ...(options.extraProfiles ?? []).map((p) => serverProfile(authServer, p.id, PROFILE_CLIENT, p.extra)),
    ],
    publicUrl: base,
  });
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    PUBLIC_URL: base,
    DATA_DIR: harness.dir,
    PROFILES_DIR: join(harness.dir, 'profiles'),
    ADMIN_API_KEYS: 'admin:token-service-test-admin-key',
    TOKEN_SERVICE_ALLOWED_APP_IDS: `${BOT_A.appId},${BOT_C.appId}`,
    TOKEN_SERVICE_JWT_ISSUER: entra.issuer,
    TOKEN_SERVICE_JWKS_URL: entra.jwksUrl,
    ...options.env,
  });
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const app = createApp(
    config,
    {
      store: harness.store,
      engine: harness.engine,
      catalog: harness.context.catalog,
      demo: null,
      close: () => harness.close(),
    },
    log,
  );
  if (options.localDirectLine) {
    registerLocalDirectLine(app.server, {
      publicUrl: base,
      botEndpoint: `${base}/api/messages`,
      log,
      signInLinks: tokenServiceSignInLinks(base),
    });
  }
  await app.listen();
  return {
    base,
    app,
    harness,
    authServer,
    entra,
    logs,
    async consent(signInLink, login = 'alice') {
      const start = await fetch(signInLink, { redirect: 'manual' });
      if (start.status !== 302) throw new Error(`sign-in link answered ${start.status}`);
      const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
      const callback = await completeConsent(start.headers.get('location') as string, {
        login,
        cookieJar: new CookieJar(),
      });
      const page = await fetch(`${base}${callback.pathname}${callback.search}`, { headers: { cookie } });
      const html = await page.text();
      const code = /data-code="(\d{6})"/.exec(html)?.[1];
      if (page.status !== 200 || !code) throw new Error(`no code on the callback page (${page.status})`);
      return code;
    },
    async close() {
      await app.close();
      await harness.close();
      await entra.close();
      await authServer.stop();
    },
  };
}
