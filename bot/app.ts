import { CloudAdapter, ConversationState, type TurnContext } from 'botbuilder';
import { hostname } from 'node:os';
import restify, { type Request, type Response, type Server } from 'restify';
import { MainDialog } from '../dialogs/mainDialog';
import { devAdminKey, newId } from '../profiles';
import type { AdminContext } from './admin/adminContext';
import { registerAdminApi } from './admin/api/adminApi';
import { registerAdminPages } from './admin/pages/adminPages';
import { createOrganizationGate } from './admin/organizationGate';
import type { DialogServices } from '../dialogs/dialogServices';
import { authorizationDialogServices } from '../dialogs';
import { AuthProfilesBot } from './web/authProfilesBot';
import { ClientCachingAuthentication } from './web/clientCachingAuthentication';
import type { Config } from './config';
import { AdminAlerts, startAdminAlerts } from './web/adminAlerts';
import { startExpirySweeper } from './web/expirySweeper';
import type { Logger } from './logger';
import { registerOAuthRoutes } from './web/oauthRoutes';
import { registerStaticRoutes } from './web/staticRoutes';
import type { Services } from './services';
import { SigninResumer } from './web/signinResumer';
import { StorageConflictError, StoreStorage } from './web/storeStorage';
import { createCallerAuthenticator } from './tokenService/callerAuthentication';
import { registerTokenService } from './tokenService/routes';
import { keepRawTarget, registerActionsApi } from './actionsApi/actionsApi';

/** The restify server with every route, built from configuration and services. */
export interface App {
  server: Server;
  adapter: CloudAdapter;
  bot: AuthProfilesBot;
  resumer: SigninResumer;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export function createApp(config: Config, services: Services, log: Logger): App {
  const server = restify.createServer({ name: 'authprofiles', handleUncaughtExceptions: false });
  // Before dedupeSlashes, which rewrites `//` in paths and queries: the proxy checks the target as sent.
  server.pre(keepRawTarget);
  server.pre(restify.plugins.pre.dedupeSlashes());

  const env = config.env;
  const adapter = new CloudAdapter(
    new ClientCachingAuthentication({
      MicrosoftAppId: env.MicrosoftAppId,
      MicrosoftAppPassword: env.MicrosoftAppPassword,
      MicrosoftAppType: env.MicrosoftAppType,
      MicrosoftAppTenantId: env.MicrosoftAppTenantId,
    }),
  );
  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    log.error(
      { err: error, channelId: context.activity.channelId, activityType: context.activity.type },
      'turn failed',
    );
    if (context.activity.type === 'invoke') return;
    await context
      .sendActivity(
        error instanceof StorageConflictError
          ? 'Something else changed this conversation at the same moment. Please repeat your last message.'
          : 'Sorry, something went wrong on my side. Please try again.',
      )
      .catch(() => undefined);
  };

  const conversationState = new ConversationState(new StoreStorage(services.engine.hostDocuments()));
  const crmProfileId =
    env.CRM_PROFILE ?? (config.devFeatures && !config.raw.HUBSPOT_CLIENT_ID ? 'demo' : 'hubspot');
  const dialogServices: DialogServices = {
    ...authorizationDialogServices(services.engine, {
      verificationOffChannels: env.SIGNIN_VERIFICATION_OFF,
      signinTimeoutMs: env.SIGNIN_TIMEOUT_SECONDS * 1000,
    }),
    crmProfileId,
    botAppId: env.MicrosoftAppId,
  };
  const bot = new AuthProfilesBot(conversationState, new MainDialog(dialogServices));
  const resumer = new SigninResumer(adapter, env.MicrosoftAppId, bot, log);
  // Issue 10 point 7: broken organisation connections reach the profile's admins in chat.
  const adminAlerts = new AdminAlerts({
    engine: services.engine,
    documents: services.engine.hostDocuments(),
    adapter,
    botAppId: env.MicrosoftAppId,
    publicUrl: config.publicUrl,
    log,
  });
  adapter.use(async (context, next) => {
    await adminAlerts.recordContact(context.activity).catch((error: unknown) => {
      log.warn({ err: error }, 'admin contact not recorded');
    });
    await next();
  });

  server.post(
    '/api/messages',
    restify.plugins.bodyParser({ maxBodySize: 512 * 1024, mapParams: false }),
    async (req: Request, res: Response) => {
      await adapter.process(req, res, (context) => bot.run(context));
    },
  );

  // Reads and a small write, bounded (SECURITY.md #53): a locked or read-only store answers 503.
  const storeHealth = services.engine.storeHealthCheck({ timeoutMs: 1_000 });
  server.get('/healthz', async (_req: Request, res: Response) => {
    const { status, ...store } = await storeHealth.check();
    if (status === 'ok') res.send(200, { status: 'ok', store: { kind: store.kind, status, ms: store.ms } });
    else res.send(503, { status: 'unavailable', store: { ...store, status } });
  });

  registerStaticRoutes(server);
  registerOAuthRoutes(server, {
    engine: services.engine,
    resumer,
    publicUrl: config.publicUrl,
    log,
    adminResultUrl: (profileId, outcome) =>
      `/admin/profiles/${encodeURIComponent(profileId)}?authorization=${encodeURIComponent(outcome)}`,
    // Organisation links go to the provider only for the admin who started them (SECURITY.md #44);
    // `admin` is built below, before the server takes any request.
    organizationGate: (req, res, request) => organizationGate(req, res, request),
  });

  // The Bot Framework token service for other bots (OAuthUrl pointing here), DESIGN flow 4.
  const bots = createCallerAuthenticator({
    allowedAppIds: env.TOKEN_SERVICE_ALLOWED_APP_IDS,
    issuers: env.TOKEN_SERVICE_JWT_ISSUER,
    audience: env.TOKEN_SERVICE_JWT_AUDIENCE,
    jwksUrl: env.TOKEN_SERVICE_JWKS_URL,
    allowAnonymousLoopback: config.devFeatures,
  });
  registerTokenService(server, { engine: services.engine, log, authenticate: bots });

  // Dev mode only: Web Chat at `/`, the local Direct Line and the demo CRM (bot/devSurface.ts).
  services.demo?.registerRoutes(server, {
    botEndpoint: `http://${localAddress(config.host)}:${config.port}/api/messages`,
  });

  const configuredKeys = [...env.ADMIN_API_KEYS];
  if (configuredKeys.length === 0 && config.devFeatures) {
    // Issue contract: dev mode with no keys prints a generated admin key at start (kept under DATA_DIR).
    const dev = devAdminKey(config.dataDir);
    configuredKeys.push({ role: 'admin', key: dev.key });
    process.stdout.write(`\nDev admin key (no ADMIN_API_KEYS set; stored in ${dev.file}):\n  ${dev.key}\n\n`);
  }
  const admin: AdminContext = {
    engine: services.engine,
    keys: services.engine.adminKeys(configuredKeys),
    log,
    publicUrl: config.publicUrl,
    secureCookies: config.publicUrl.startsWith('https://'),
    trustedProxyHops: env.TRUSTED_PROXY_HOPS,
  };
  const organizationGate = createOrganizationGate(admin);
  // The admin surface: REST API (bot/admin/api/) and pages (bot/admin/pages/).
  registerAdminApi(server, admin);
  registerAdminPages(server, admin);
  // The execute API and the token-injecting proxy (issue 11): bots as above, admin keys as the admin API
  // checks them (the same key set, so failed attempts are throttled together, SECURITY.md #46).
  registerActionsApi(server, {
    engine: services.engine,
    bots,
    keys: admin.keys,
    trustedProxyHops: env.TRUSTED_PROXY_HOPS,
    log,
  });

  // The key ids this instance holds, for `authprofiles encryption rotate` to respect (SECURITY.md #52).
  const keyHolder = services.engine.startKeyHolderHeartbeat({
    instanceId: newId('inst'),
    where: `${hostname()} pid ${process.pid}`,
  });

  const sweeper = startExpirySweeper({ engine: services.engine, resumer, log, intervalMs: 15_000 });
  const alertSweeper = startAdminAlerts(adminAlerts, log, 60_000);

  return {
    server,
    adapter,
    bot,
    resumer,
    listen: () =>
      new Promise((resolve, reject) => {
        server.server.once('error', reject);
        const ready = () => {
          server.server.off('error', reject);
          resolve(server.url);
        };
        // Dev mode listens on loopback only (config: HOST, SECURITY.md #47); production on HOST or everywhere.
        if (config.host === undefined) server.listen(config.port, ready);
        else server.listen(config.port, config.host, ready);
      }),
    async close() {
      sweeper.stop();
      alertSweeper.stop();
      await keyHolder.stop();
      server.server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** How this process reaches its own listener (the local Direct Line posts activities to it). */
function localAddress(host: string | undefined): string {
  if (host === undefined || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
