// A real OAuth 2.0 authorization server (panva's oidc-provider) run as a child process.
// The test suite uses it to exercise genuine authorization-code flows, and the product's dev mode uses
// it as the "demo provider" so that a bot can be tried without registering an app at a third party.
//
// Run with: AUTH_SERVER_CONFIG='{"port":0,"clients":[...]}' node bot/dev/authServer.mjs
// Prints exactly one line on stdout once listening: {"ready":true,"port":<n>,"issuer":"..."}.
// Everything else goes to stderr, so a parent process can read stdout as a protocol.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import Provider, { errors } from 'oidc-provider';

// oidc-provider prints notices with console.info (stdout); keep stdout for the ready line only.
console.log = console.info = (...args) => console.error(...args);

const TOKEN_ENDPOINTS = new Map([
  ['/token', 'token'],
  ['/token/revocation', 'revocation'],
  ['/token/introspection', 'introspection'],
]);

function readConfig() {
  const raw = process.env.AUTH_SERVER_CONFIG;
  const config = raw ? JSON.parse(raw) : {};
  const scopes = Array.isArray(config.scopes) ? config.scopes.join(' ') : (config.scopes ?? '');
  return {
    port: config.port ?? 0,
    host: config.host ?? '127.0.0.1',
    issuer: config.issuer,
    clients: config.clients ?? [],
    accessTokenTtl: config.accessTokenTtl ?? 3600,
    refreshTokenTtl: config.refreshTokenTtl ?? 24 * 3600,
    scopes: scopes.split(/\s+/).filter(Boolean),
    users: config.users ?? {},
    testHooks: config.testHooks === true,
    cookieKeys: config.cookieKeys ?? [randomBytes(32).toString('base64url')],
  };
}

function defaultIssuer(host, port) {
  // A wildcard bind address is not something a browser can be sent to.
  const name = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

/**
 * A signing key made for this process: ID tokens (OpenID Connect, scope `openid`) are signed with it
 * and published at /jwks. Without one, oidc-provider signs with a development key that ships inside
 * the package, i.e. one anybody could sign with.
 */
function signingKeys() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' }] };
}

function buildProvider(config, issuer) {
  const clientOptions = new Map(config.clients.map((c) => [c.client_id, c]));
  // Custom scopes (e.g. crm.objects.deals.read) only exist on a resource server in oidc-provider;
  // every authorization is bound to this one API so clients need not send a `resource` parameter.
  const apiResource = `${issuer}/api`;

  const provider = new Provider(issuer, {
    clients: config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    cookies: { keys: config.cookieKeys },
    jwks: signingKeys(),
    // Any login name is an account; `users` only adds claims (email, name) for that login.
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, ...(config.users[id] ?? {}) }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      // Any registered client that authenticates may introspect: the tests and the demo are the only callers.
      introspection: { enabled: true, allowedPolicy: async () => true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) =>
          oneOf ? (oneOf.includes(apiResource) ? apiResource : oneOf[0]) : apiResource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== apiResource) throw new errors.InvalidTarget();
          return {
            scope: config.scopes.join(' '),
            accessTokenFormat: 'opaque',
            accessTokenTTL: config.accessTokenTtl,
          };
        },
      },
    },
    pkce: {
      methods: ['S256'],
      required: (_ctx, client) => clientOptions.get(client.clientId)?.pkceRequired === true,
    },
    // The default only issues refresh tokens with offline_access + prompt=consent; real SaaS providers
    // issue them on every code exchange, which is what the bot has to cope with.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Per client, so one server can play both a rotating and a non-rotating provider.
    rotateRefreshToken: (ctx) => clientOptions.get(ctx.oidc.client?.clientId)?.rotateRefreshToken === true,
    ttl: {
      AccessToken: config.accessTokenTtl,
      RefreshToken: config.refreshTokenTtl,
      // Explicit values also silence the provider's "default ttl function called" notices.
      AuthorizationCode: 60,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: Math.max(config.refreshTokenTtl, 14 * 24 * 3600),
    },
  });
  allowRedirectUriPrefixes(provider, clientOptions);
  return provider;
}

/**
 * A client's `redirect_uri_prefix` (this server's own option, dev demo only): besides its registered
 * redirect URIs it accepts `<prefix><one profile id>`, so a bot developer's custom profile file can sign
 * in at the demo provider without registering its callback first. One path segment of profile-id
 * characters only: nothing can be appended that leaves the prefix (no `/`, `?`, `#`, `..`, `%`).
 * The code exchange still requires the same redirect_uri as the authorization request.
 */
function allowRedirectUriPrefixes(provider, clientOptions) {
  const registeredOnly = provider.Client.prototype.redirectUriAllowed;
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
    if (registeredOnly.call(this, value)) return true;
    const prefix = clientOptions.get(this.clientId)?.redirect_uri_prefix;
    if (typeof prefix !== 'string' || typeof value !== 'string' || !value.startsWith(prefix)) return false;
    return /^[a-z0-9][a-z0-9-]{0,63}$/.test(value.slice(prefix.length));
  };
}

/** The token, revocation or introspection endpoint a request is for, if any. */
function endpointOf(ctx) {
  return ctx.method === 'POST' ? TOKEN_ENDPOINTS.get(ctx.path) : undefined;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Reads the form of a token-endpoint request once, before oidc-provider does, and hands the bytes on as
 * req.body (which oidc-provider accepts in place of the stream; it warns once on stderr about it).
 */
async function formOf(ctx) {
  if (!ctx.state.form) {
    const body = await readBody(ctx.req);
    ctx.req.body = body;
    ctx.state.form = new URLSearchParams(body.toString('utf8'));
  }
  return ctx.state.form;
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

function basicAuthClientId(header) {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // RFC 6749 §2.3.1: the id is form-urlencoded inside the Basic credentials.
  return decodeURIComponent((colon < 0 ? decoded : decoded.slice(0, colon)).replace(/\+/g, ' '));
}

/**
 * oidc-provider accepts client_secret_basic and client_secret_post interchangeably. Real providers
 * often accept only the registered one, so reject the other: a bot that sends the wrong one fails here too.
 */
function registeredClientAuth(config) {
  const methods = new Map(
    config.clients.map((c) => [c.client_id, c.token_endpoint_auth_method ?? 'client_secret_basic']),
  );
  return async function registeredClientAuthMiddleware(ctx, next) {
    if (!endpointOf(ctx)) return next();
    const form = await formOf(ctx);
    const basicId = basicAuthClientId(ctx.get('authorization'));
    const used =
      basicId !== undefined
        ? 'client_secret_basic'
        : form.has('client_secret')
          ? 'client_secret_post'
          : undefined;
    const registered = methods.get(basicId ?? form.get('client_id') ?? '');
    if (used && registered && used !== registered) {
      return json(ctx, 401, {
        error: 'invalid_client',
        error_description: `client authentication must use ${registered}`,
      });
    }
    return next();
  };
}

/**
 * TESTS ONLY: a consent that grants some of the requested scopes and rejects the others (`decline`, a
 * space-separated list), as a user unticking permissions on a consent page would. It does what
 * devInteractions' consent does (lib/actions/interaction.js) with oidc-provider's own Grant API, so the
 * provider issues a token with the granted scopes only and says so in the token response's `scope`.
 * Posted to `/interaction/:uid/partial`, under the interaction cookie's path.
 */
async function partialConsent(provider, ctx) {
  const form = new URLSearchParams((await readBody(ctx.req)).toString('utf8'));
  const declined = new Set((form.get('decline') ?? '').split(/\s+/).filter(Boolean));
  const { prompt, grantId, session, params } = await provider.interactionDetails(ctx.req, ctx.res);
  if (prompt.name !== 'consent') return json(ctx, 400, { error: 'not a consent prompt' });
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
  const granted = (scopes) => scopes.filter((scope) => !declined.has(scope)).join(' ');
  const rejected = (scopes) => scopes.filter((scope) => declined.has(scope)).join(' ');
  if (missingOIDCScope) {
    grant.addOIDCScope(granted(missingOIDCScope));
    if (rejected(missingOIDCScope)) grant.rejectOIDCScope(rejected(missingOIDCScope));
  }
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, granted(scopes));
    if (rejected(scopes)) grant.rejectResourceScope(indicator, rejected(scopes));
  }
  const result = { consent: { grantId: await grant.save() } };
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true }));
}

/** Counters and fault injection for tests; mounted only when config.testHooks is true. */
function testHooks(provider) {
  const zeroStats = () => ({
    token: { authorization_code: 0, refresh_token: 0 },
    revocation: 0,
    introspection: 0,
  });
  let stats = zeroStats();
  // FAULT INJECTION (tests only): endpoint name -> { status?, times, delayMs?, retryAfter? }.
  let faults = {};

  const takeFault = (endpoint) => {
    const fault = faults[endpoint];
    if (!fault || fault.times <= 0) return undefined;
    fault.times -= 1;
    return fault;
  };

  const count = (endpoint, grantType) => {
    if (endpoint !== 'token') stats[endpoint] += 1;
    else {
      const key = grantType ?? 'unknown';
      stats.token[key] = (stats.token[key] ?? 0) + 1;
    }
  };

  return async function testHooksMiddleware(ctx, next) {
    if (ctx.path === '/_stats' && ctx.method === 'GET') return json(ctx, 200, stats);
    if (ctx.path === '/_stats/reset' && ctx.method === 'POST') {
      stats = zeroStats();
      return json(ctx, 200, stats);
    }
    if (ctx.path === '/_faults' && ctx.method === 'POST') {
      const requested = JSON.parse((await readBody(ctx.req)).toString('utf8') || '{}');
      for (const [endpoint, f] of Object.entries(requested)) {
        faults[endpoint] = {
          status: f.status,
          delayMs: f.delayMs ?? 0,
          times: f.times ?? 1,
          retryAfter: f.retryAfter,
        };
      }
      return json(ctx, 200, faults);
    }
    if (ctx.path === '/_faults/reset' && ctx.method === 'POST') {
      faults = {};
      return json(ctx, 200, faults);
    }
    if (ctx.method === 'POST' && /^\/interaction\/[^/]+\/partial$/.test(ctx.path)) {
      return partialConsent(provider, ctx);
    }

    const endpoint = endpointOf(ctx);
    if (!endpoint) return next();

    // Counted at the HTTP level, before the provider answers, so failed and faulted requests count too.
    count(endpoint, (await formOf(ctx)).get('grant_type'));
    const fault = takeFault(endpoint);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.status) {
      if (fault.retryAfter !== undefined) ctx.set('Retry-After', String(fault.retryAfter));
      return json(ctx, fault.status, {
        error: 'temporarily_unavailable',
        error_description: 'injected fault',
      });
    }
    return next();
  };
}

async function main() {
  const config = readConfig();
  let handler = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const { port } = server.address();
  const issuer = (config.issuer ?? defaultIssuer(config.host, port)).replace(/\/$/, '');

  const provider = buildProvider(config, issuer);
  if (config.testHooks) provider.use(testHooks(provider));
  provider.use(registeredClientAuth(config));
  provider.on('server_error', (_ctx, err) => console.error('auth server error:', err));
  handler = provider.callback();

  const shutdown = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  // Started with a stdin pipe, the server goes when its parent goes, even if the parent crashed.
  if (!process.stdin.isTTY) {
    process.stdin.on('end', shutdown);
    process.stdin.on('error', shutdown);
    process.stdin.resume();
  }

  process.stdout.write(`${JSON.stringify({ ready: true, port, issuer })}\n`);
}

main().catch((err) => {
  console.error('auth server failed to start:', err);
  process.exit(1);
});
