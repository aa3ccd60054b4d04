import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { bundledProfiles } from '../../profiles';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { repoRoot } from '../paths';

/**
 * Dev mode's demo authorization server: the real oidc-provider (bot/dev/authServer.mjs) in a
 * child process, plus the two profiles wired to it and to the demo CRM API. Never in production.
 */

export const DEMO_CLIENT_ID = 'authprofiles-demo';
/** Bundled in dev mode only; the CLI (which runs without the provider) keeps its hands off them. */
export const DEMO_PROFILE_IDS = ['demo', 'demo-org'] as const;
/**
 * What the demo profiles ask for: HubSpot's read scopes of the demo CRM's objects (the contacts scope
 * also reads notes, calls, meetings and tasks) and of its owners, which "my deals" needs to find the
 * signed-in user's owner id.
 */
export const DEMO_SCOPES = [
  'crm.objects.contacts.read',
  'crm.objects.companies.read',
  'crm.objects.deals.read',
  'tickets',
  'crm.objects.owners.read',
];
/**
 * What the demo provider can grant: also "sales-email-read", which the demo CRM's e-mail engagements
 * need and the demo profiles do not ask for up front, so a consent for a missing scope can be tried.
 */
export const DEMO_PROVIDER_SCOPES = [...DEMO_SCOPES, 'sales-email-read'];

export interface DemoProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  profiles: Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startDemoProvider(config: Config, log: Logger): Promise<DemoProvider> {
  const external = config.env.DEMO_PROVIDER_URL;
  if (external) {
    if (!config.env.DEMO_CLIENT_SECRET)
      throw new Error('DEMO_CLIENT_SECRET is required with DEMO_PROVIDER_URL');
    const issuer = external.replace(/\/+$/, '');
    return demo(config, issuer, config.env.DEMO_CLIENT_SECRET, async () => undefined);
  }
  const clientSecret = config.env.DEMO_CLIENT_SECRET ?? randomBytes(24).toString('base64url');
  const serverConfig = {
    port: config.env.DEMO_PROVIDER_PORT ?? config.port + 1,
    host: '127.0.0.1',
    clients: [
      {
        client_id: DEMO_CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: [
          `${config.publicUrl}/oauth/callback/demo`,
          `${config.publicUrl}/oauth/callback/demo-org`,
        ],
        // A custom profile file may use the demo client (clientId "authprofiles-demo", its secret from
        // DEMO_CLIENT_SECRET): any callback of this service is accepted, one profile id after it.
        redirect_uri_prefix: `${config.publicUrl}/oauth/callback/`,
        token_endpoint_auth_method: 'client_secret_basic',
        pkceRequired: true,
        rotateRefreshToken: true,
      },
    ],
    scopes: DEMO_PROVIDER_SCOPES,
    accessTokenTtl: 900,
    refreshTokenTtl: 14 * 86400,
  };
  const launch = () =>
    spawn(process.execPath, [join(repoRoot(), 'bot', 'dev', 'authServer.mjs')], {
      env: { ...process.env, AUTH_SERVER_CONFIG: JSON.stringify(serverConfig) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  let child = launch();
  let issuer: string;
  try {
    issuer = await waitForReady(child);
  } catch (error) {
    // PORT+1 taken (say, by a second service on this machine): any free port will do, unless the
    // operator asked for a specific one.
    if (config.env.DEMO_PROVIDER_PORT !== undefined || !String(error).includes('EADDRINUSE')) throw error;
    log.warn({ port: serverConfig.port }, 'demo provider port in use; using a free port instead');
    serverConfig.port = 0;
    child = launch();
    issuer = await waitForReady(child);
  }
  child.stderr?.on('data', () => undefined);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') log.error({ code, signal }, 'demo authorization server exited');
  });
  log.info({ issuer }, 'demo authorization server started (dev mode)');
  return demo(config, issuer, clientSecret, async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
}

/**
 * What makes the demo profiles stand in for HubSpot against the demo CRM: the bundled HubSpot profile's
 * `actions` and `currentUser` (read from the bundled catalogue, the one source), and its `identity`
 * (HubSpot's token-info endpoint) at the demo CRM, so a connection records the signed-in demo user's
 * e-mail address and "show my deals" finds that user's owner id.
 */
export function demoCrmFields(crmBaseUrl: string): Record<string, unknown> {
  const hubspot = bundledProfiles({ allowInsecureLoopback: true }).get('hubspot');
  if (!hubspot?.identity) throw new Error('the bundled catalogue has no HubSpot profile with an identity');
  return {
    actions: hubspot.actions,
    ...(hubspot.currentUser ? { currentUser: hubspot.currentUser } : {}),
    identity: { ...hubspot.identity, url: `${crmBaseUrl}/oauth/v1/access-tokens/{token}` },
  };
}

/**
 * Where the demo profiles reach the demo CRM: under this service's /demo/crm (what `npm start` serves),
 * or at DEMO_CRM_URL when it runs in its own process (bot/dev/demoCrmServer.ts).
 */
export function demoCrmBaseUrl(config: Config): string {
  return (config.env.DEMO_CRM_URL ?? `${config.publicUrl}/demo/crm`).replace(/\/+$/, '');
}

function demo(config: Config, issuer: string, clientSecret: string, stop: () => Promise<void>): DemoProvider {
  const crm = demoCrmBaseUrl(config);
  const base = {
    authorizationUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    revocationUrl: `${issuer}/token/revocation`,
    issuer,
    issuerParameterSupported: true,
    clientId: DEMO_CLIENT_ID,
    clientSecret,
    scopes: DEMO_SCOPES,
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_basic',
    apiBaseUrl: crm,
    checkUrl: `${crm}/crm/v3/objects/contacts?limit=1`,
    ...demoCrmFields(crm),
  };
  return {
    issuer,
    clientId: DEMO_CLIENT_ID,
    clientSecret,
    profiles: [
      { ...base, id: DEMO_PROFILE_IDS[0], displayName: 'Demo CRM', authorization: 'per-user' },
      {
        ...base,
        id: DEMO_PROFILE_IDS[1],
        displayName: 'Demo CRM for the organisation',
        authorization: 'pre-authorized',
      },
    ],
    stop,
  };
}

function waitForReady(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const timer = setTimeout(
      () => reject(new Error(`demo authorization server did not start:\n${stderr}`)),
      15_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo authorization server exited (${code}):\n${stderr}`));
    });
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { issuer: string }).issuer);
      } catch {
        reject(new Error(`unexpected output from the demo authorization server: ${line.slice(0, 200)}`));
      }
    });
  });
}
