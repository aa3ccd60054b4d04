import { BlockList, isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import {
  keyWeakness,
  type OutboundAllowList,
  OutboundAllowListError,
  parseOutboundAllowList,
} from '../profiles';

/**
 * The environment, parsed once at start by one schema (DESIGN: public contract). A bad value
 * stops the process with a message naming the variable; nothing else reads process.env.
 */

const port = z.coerce.number().int().min(1).max(65535);
const flagList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

const APP_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The botframework.com tenant's v1 and v2 issuers: where a multi-tenant bot gets its tokens. */
export const DEFAULT_TOKEN_ISSUERS = [
  'https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/',
  'https://login.microsoftonline.com/d6d49420-f39b-4df7-a1dc-d59a935871db/v2.0',
];

const adminKeyPair = /^(admin|developer):([A-Za-z0-9._~+/=-]{16,200})$/;

/** Where dev mode listens unless HOST says otherwise. */
export const DEV_HOST = '127.0.0.1';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (also written out or IPv4-mapped) and `localhost`: only this machine reaches them. */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  if (name === 'localhost') return true;
  const family = isIP(name);
  return family !== 0 && LOOPBACK.check(name, family === 4 ? 'ipv4' : 'ipv6');
}

function devExposure(problem: string, fix: string): string {
  return (
    `${problem}: without NODE_ENV=production the service runs in dev mode (unauthenticated local Direct Line ` +
    `and /api/messages, demo provider), which may only be reachable from this machine. ` +
    `Use ${fix}, or the production settings (NODE_ENV=production with an https PUBLIC_URL, ENCRYPTION_KEYS ` +
    `and MicrosoftAppId), or set DEV_ALLOW_NETWORK=true to expose dev mode on purpose`
  );
}

const environmentSchema = z
  .object({
    NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
    PORT: port.default(3978),
    PUBLIC_URL: z.string().url().optional(),
    /** Address to listen on: 127.0.0.1 in dev mode, every interface in production. */
    HOST: z
      .string()
      .regex(/^(?:[A-Za-z0-9.-]{1,253}|[0-9A-Fa-f:.]{2,45})$/, 'must be an IP address or a host name')
      .optional(),
    /** Dev mode on a non-loopback HOST or PUBLIC_URL, on purpose (SECURITY.md #47): loud warning at start. */
    DEV_ALLOW_NETWORK: z
      .enum(['true', 'false'], { message: 'must be "true" or "false"' })
      .optional()
      .transform((value) => value === 'true'),
    DATA_DIR: z.string().min(1).default('./data'),
    PROFILES_DIR: z.string().min(1).default('./custom-profiles'),
    MONGODB_URI: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\/.+/, 'must be a mongodb:// or mongodb+srv:// URI')
      .optional(),
    MONGODB_DB: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/)
      .default('authprofiles'),
    ENCRYPTION_KEYS: z.string().optional(),
    MicrosoftAppId: z.string().default(''),
    MicrosoftAppPassword: z.string().default(''),
    MicrosoftAppType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).default('MultiTenant'),
    MicrosoftAppTenantId: z.string().default(''),
    ADMIN_API_KEYS: z
      .string()
      .optional()
      .transform((value, ctx) => {
        const keys: { role: 'admin' | 'developer'; key: string }[] = [];
        for (const [index, pair] of (value ?? '')
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean)
          .entries()) {
          const match = adminKeyPair.exec(pair);
          if (!match) {
            ctx.addIssue({
              code: 'custom',
              message: `entry ${index + 1} must be "admin:<key>" or "developer:<key>" with a key of 16+ characters`,
            });
            continue;
          }
          keys.push({ role: match[1] as 'admin' | 'developer', key: match[2] as string });
        }
        return keys;
      }),
    /**
     * Reverse proxies in front of the service that append the client's address to X-Forwarded-For;
     * only used to tell clients apart when throttling admin key guesses (SECURITY.md #46).
     */
    TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
    /**
     * The profile bare action phrases ("show my deals") use when several usable profiles know them (issue 11);
     * defaults to hubspot, or demo in dev without HubSpot credentials. "hubspot: …" names a profile outright.
     */
    CRM_PROFILE: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/)
      .optional(),
    /** Channels where the verification code is skipped (documented trade-off, SECURITY.md #9). */
    SIGNIN_VERIFICATION_OFF: flagList,
    SIGNIN_TIMEOUT_SECONDS: z.coerce.number().int().min(30).max(3600).default(600),
    /**
     * Host names (`idp.corp.example`, `*.corp.example`), addresses and CIDR networks a profile may
     * reach in production although they are loopback, private or link-local (SECURITY.md #42): for
     * providers that really are on a private network.
     */
    OUTBOUND_ALLOWLIST: z
      .string()
      .optional()
      .transform((value, ctx) => {
        try {
          return parseOutboundAllowList((value ?? '').split(','));
        } catch (error) {
          if (!(error instanceof OutboundAllowListError)) throw error;
          ctx.addIssue({ code: 'custom', message: error.message });
          return z.NEVER;
        }
      }),
    /**
     * The Bot Framework token service (bot/tokenService/): app ids of the bots allowed to call it,
     * and how their bearer tokens (from their Microsoft Entra app registration) are verified.
     * Defaults: what botbuilder's adapter sends for a multi-tenant bot (tokens from the
     * botframework.com tenant for https://api.botframework.com, as botframework-connector's
     * ToBotFromBotOrEmulatorTokenValidationParameters and ToChannelFromBotOAuthScope say).
     */
    TOKEN_SERVICE_ALLOWED_APP_IDS: z
      .string()
      .optional()
      .transform((value, ctx) => {
        const ids = (value ?? '')
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean);
        for (const [index, id] of ids.entries()) {
          if (!APP_ID.test(id)) {
            ctx.addIssue({
              code: 'custom',
              message: `entry ${index + 1} must be an app id (1-128 letters, digits, ".", "_" or "-")`,
            });
          }
        }
        return ids;
      }),
    TOKEN_SERVICE_JWT_ISSUER: z
      .string()
      .optional()
      .transform((value, ctx) => {
        const issuers = (value ?? DEFAULT_TOKEN_ISSUERS.join(','))
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean);
        for (const [index, issuer] of issuers.entries()) {
          if (!URL.canParse(issuer)) {
            ctx.addIssue({ code: 'custom', message: `entry ${index + 1} must be an issuer URL` });
          }
        }
        return issuers;
      }),
    TOKEN_SERVICE_JWKS_URL: z
      .string()
      .url()
      .default('https://login.microsoftonline.com/common/discovery/v2.0/keys'),
    TOKEN_SERVICE_JWT_AUDIENCE: z.string().min(1).max(500).default('https://api.botframework.com'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Dev only: use an already running demo provider instead of starting one (several instances, tests). */
    DEMO_PROVIDER_URL: z.string().url().optional(),
    DEMO_CLIENT_SECRET: z.string().min(16).optional(),
    DEMO_PROVIDER_PORT: port.optional(),
    /**
     * Dev only: the demo CRM's base URL when it runs in its own process (bot/dev/demoCrmServer.ts)
     * instead of under this service's /demo/crm; the demo profiles then call it there. For measuring the
     * service alone (npm run bench), as production has HubSpot outside.
     */
    DEMO_CRM_URL: z
      .string()
      .url()
      .refine((value) => /^https?:\/\//i.test(value), 'must be an http:// or https:// URL')
      .refine((value) => {
        // zod runs refinements even when .url() failed; that one already named the problem.
        if (!URL.canParse(value)) return true;
        const url = new URL(value);
        return !url.search && !url.hash && !url.username && !url.password;
      }, 'must be a plain base URL (no query, fragment or credentials)')
      .optional(),
  })
  .superRefine((env, ctx) => {
    const production = env.NODE_ENV === 'production';
    if (production && !env.PUBLIC_URL) {
      ctx.addIssue({ code: 'custom', path: ['PUBLIC_URL'], message: 'is required in production' });
    }
    if (production && env.PUBLIC_URL && !env.PUBLIC_URL.startsWith('https://')) {
      ctx.addIssue({ code: 'custom', path: ['PUBLIC_URL'], message: 'must be https in production' });
    }
    // zod runs refinements even when a field failed; only inspect a URL that parses.
    if (env.PUBLIC_URL && URL.canParse(env.PUBLIC_URL)) {
      const url = new URL(env.PUBLIC_URL);
      if (url.search || url.hash || url.username) {
        ctx.addIssue({
          code: 'custom',
          path: ['PUBLIC_URL'],
          message: 'must be a plain base URL (no query, fragment or credentials)',
        });
      }
    }
    if (!production && !env.DEV_ALLOW_NETWORK) {
      // SECURITY.md #47: dev mode serves an unauthenticated Direct Line and /api/messages (anyone who
      // reaches them can post as any user and read that user's data), so it stays on loopback.
      const host = env.HOST ?? DEV_HOST;
      if (!isLoopbackHost(host)) {
        ctx.addIssue({
          code: 'custom',
          path: ['HOST'],
          message: devExposure(`"${host}" is not a loopback address`, 'HOST=127.0.0.1'),
        });
      }
      if (
        env.PUBLIC_URL &&
        URL.canParse(env.PUBLIC_URL) &&
        !isLoopbackHost(new URL(env.PUBLIC_URL).hostname)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['PUBLIC_URL'],
          message: devExposure(
            `"${env.PUBLIC_URL}" is not a loopback URL`,
            `PUBLIC_URL=http://localhost:${env.PORT}`,
          ),
        });
      }
    }
    if (production && env.DEMO_CRM_URL) {
      // The demo CRM stands in for HubSpot in dev mode only; production has no demo profiles to use it.
      ctx.addIssue({
        code: 'custom',
        path: ['DEMO_CRM_URL'],
        message: 'is a dev-only setting (the demo CRM); unset it in production',
      });
    }
    if (production && !env.ENCRYPTION_KEYS) {
      ctx.addIssue({
        code: 'custom',
        path: ['ENCRYPTION_KEYS'],
        message: 'is required in production: "k1:<base64 of 32 random bytes>" (openssl rand -base64 32)',
      });
    }
    if (production && Array.isArray(env.ADMIN_API_KEYS)) {
      // SECURITY.md #46: a guessable key is refused at start; the message names the entry by
      // position and role, never the key.
      for (const [index, entry] of env.ADMIN_API_KEYS.entries()) {
        const weakness = keyWeakness(entry.key);
        if (weakness) {
          ctx.addIssue({
            code: 'custom',
            path: ['ADMIN_API_KEYS'],
            message: `entry ${index + 1} (${entry.role}) is too weak for production: ${weakness}. Make a random one with "openssl rand -base64 32", or create a stored key with "authprofiles keys create"`,
          });
        }
      }
    }
    if (production && !env.TOKEN_SERVICE_JWKS_URL.startsWith('https://')) {
      ctx.addIssue({
        code: 'custom',
        path: ['TOKEN_SERVICE_JWKS_URL'],
        message: 'must be https in production',
      });
    }
    if (production && !env.MicrosoftAppId) {
      // Without an app id botbuilder accepts unauthenticated activities: anyone could post as any
      // user (and make the bot call any serviceUrl).
      ctx.addIssue({
        code: 'custom',
        path: ['MicrosoftAppId'],
        message: 'is required in production (the Azure Bot registration)',
      });
    }
    if (env.MicrosoftAppId && !env.MicrosoftAppPassword && env.MicrosoftAppType !== 'UserAssignedMSI') {
      ctx.addIssue({
        code: 'custom',
        path: ['MicrosoftAppPassword'],
        message: 'is required when MicrosoftAppId is set',
      });
    }
    if (env.MicrosoftAppType === 'SingleTenant' && !env.MicrosoftAppTenantId) {
      ctx.addIssue({
        code: 'custom',
        path: ['MicrosoftAppTenantId'],
        message: 'is required for MicrosoftAppType=SingleTenant',
      });
    }
  });

export type Environment = z.output<typeof environmentSchema>;

export interface Config {
  env: Environment;
  production: boolean;
  /** Web Chat at `/`, local Direct Line, demo provider and CRM: everything but production. */
  devFeatures: boolean;
  port: number;
  /** Listen address; undefined means every interface (production without HOST). */
  host: string | undefined;
  /**
   * Set when DEV_ALLOW_NETWORK=true lets dev mode listen on or be named by a non-loopback address:
   * what is exposed, for the warning at start. Null otherwise.
   */
  devNetworkExposure: string | null;
  publicUrl: string;
  dataDir: string;
  profilesDir: string;
  /** Internal hosts and networks profiles may reach in production (OUTBOUND_ALLOWLIST). */
  outboundAllowList: OutboundAllowList;
  /** Every variable, for profiles' clientIdEnv/clientSecretEnv lookups. */
  raw: Readonly<Record<string, string | undefined>>;
}

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

export function loadConfig(raw: Readonly<Record<string, string | undefined>>): Config {
  // Empty strings mean "unset" (shell `FOO= npm start`), not an invalid value.
  const cleaned = Object.fromEntries(
    Object.entries(raw).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = environmentSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigurationError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`),
    );
  }
  const env = parsed.data;
  const production = env.NODE_ENV === 'production';
  const host = env.HOST ?? (production ? undefined : DEV_HOST);
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  const exposed = [
    ...(host !== undefined && !isLoopbackHost(host) ? [`HOST=${host}`] : []),
    ...(!isLoopbackHost(new URL(publicUrl).hostname) ? [`PUBLIC_URL=${publicUrl}`] : []),
  ];
  return {
    env,
    production,
    devFeatures: !production,
    port: env.PORT,
    host,
    devNetworkExposure: !production && exposed.length > 0 ? exposed.join(', ') : null,
    publicUrl,
    dataDir: resolve(env.DATA_DIR),
    profilesDir: resolve(env.PROFILES_DIR),
    outboundAllowList: env.OUTBOUND_ALLOWLIST,
    raw,
  };
}
