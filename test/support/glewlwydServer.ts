// Runs Glewlwyd 2.7.5 (Debian package `glewlwyd`, a C OAuth 2 / OpenID Connect server nobody here
// wrote) as a child process: a second, independent authorization server for interop tests.
//
// Each start() gets its own temporary directory with a libconfig file written here, a SQLite database
// created from the package's own schema, and a free port on 127.0.0.1. It is then provisioned through
// Glewlwyd's admin REST API (the way its admin web app does it), logged in as the `admin` user that
// the schema creates: an OpenID Connect plugin instance, a custom scope, a confidential client and a
// user with a password. Start-up plus provisioning takes well under a second.
import { spawn } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { CookieJar } from './browserlessConsent';
import { signInAtGlewlwyd, type GlewlwydSignInOptions } from './glewlwydConsent';
import { freePort } from './serviceProcess';

export const GLEWLWYD_BINARY = process.env.GLEWLWYD_BINARY ?? '/usr/bin/glewlwyd';
/** The package's SQLite schema: dbconfig-common's copy first (docs may be stripped from an image). */
export const GLEWLWYD_SCHEMAS = [
  '/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3',
  '/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz',
];
const MODULE_DIR = '/usr/lib/glewlwyd';
/** Created by the schema with this password (Glewlwyd's documented default). */
const SCHEMA_ADMIN = { username: 'admin', password: 'password' };
/** The OIDC plugin instance's name: its endpoints live under /api/<name>/. */
const PLUGIN_NAME = 'oidc';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 3;

/** Why Glewlwyd cannot run here, or null when it can. */
export function glewlwydUnavailableReason(): string | null {
  try {
    accessSync(GLEWLWYD_BINARY, constants.X_OK);
  } catch {
    return (
      `${GLEWLWYD_BINARY} is not installed (Debian: echo "glewlwyd glewlwyd/database-type select sqlite3" | ` +
      'debconf-set-selections; apt-get install -y --no-install-recommends glewlwyd dbconfig-sqlite3)'
    );
  }
  if (!GLEWLWYD_SCHEMAS.some((file) => existsSync(file))) {
    return `Glewlwyd's SQLite schema was not found (looked for ${GLEWLWYD_SCHEMAS.join(', ')})`;
  }
  if (!existsSync(path.join(MODULE_DIR, 'plugin', 'libprotocol_oidc.so'))) {
    return `Glewlwyd's OpenID Connect plugin is missing from ${MODULE_DIR}/plugin`;
  }
  return null;
}

export interface GlewlwydOptions {
  /** Redirect URIs registered for the client, e.g. `${PUBLIC_URL}/oauth/callback/<profileId>`. */
  redirectUris: string[];
  /** Custom scopes besides `openid` (default: `crm.read`); the user may grant all of them. */
  scopes?: string[];
  accessTokenTtl?: number;
  refreshTokenTtl?: number;
  /** Whether userinfo and ID tokens carry `name` / `email`: never, when asked for, always (default: on-demand, no). */
  claims?: { name?: ClaimMode; email?: ClaimMode };
}

export type ClaimMode = 'no' | 'on-demand' | 'mandatory';

export interface RunningGlewlwyd {
  /** `http://127.0.0.1:<port>/api/oidc`, sent as `iss` on the callback and in tokens. */
  issuer: string;
  authorizationUrl: string;
  tokenUrl: string;
  revocationUrl: string;
  introspectionUrl: string;
  userinfoUrl: string;
  jwksUrl: string;
  /** `http://127.0.0.1:<port>/api`: the core API (login, grants, admin). */
  apiUrl: string;
  port: number;
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  scopes: string[];
  /**
   * Plays Glewlwyd's login page for `username` (see glewlwydConsent.ts) and returns the redirect to
   * the client's redirect URI, which is not requested.
   */
  signIn(authorizationUrl: string, options?: Partial<GlewlwydSignInOptions>): Promise<URL>;
  /** Glewlwyd's own log (stdout and stderr), for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

function readSchema(): string {
  const file = GLEWLWYD_SCHEMAS.find((candidate) => existsSync(candidate));
  if (!file) throw new Error(glewlwydUnavailableReason() ?? 'no Glewlwyd schema');
  const raw = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

/**
 * libconfig syntax. Notes from running 2.7.5:
 * - `use_secure_connection` is left out: when present at all (even `false`) Glewlwyd wants TLS files.
 * - no `static_files_path`: the web app is not served; the login page is played over the API.
 * - INFO goes to stdout (the "started on port" line is the ready signal), warnings to stderr.
 */
function configFile(port: number, database: string): string {
  return `port=${port}
bind_address="127.0.0.1"
external_url="http://127.0.0.1:${port}"
login_url="login.html"
api_prefix="api"
allow_origin="*"
log_mode="console"
log_level="INFO"
cookie_secure=0
cookie_same_site="empty"
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=false
login_api_enabled=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="${MODULE_DIR}/user"
client_module_path="${MODULE_DIR}/client"
user_auth_scheme_module_path="${MODULE_DIR}/scheme"
plugin_module_path="${MODULE_DIR}/plugin"
hash_algorithm="SHA512"
database =
{
  type = "sqlite3"
  path = "${database}"
};
`;
}

/** The OIDC plugin's parameters (names as in Glewlwyd's admin web app, webapp/admin.js). */
function oidcParameters(issuer: string, scopes: string[], options: GlewlwydOptions, keys: SigningKeys) {
  return {
    iss: issuer,
    'jwt-type': 'rsa',
    'jwt-key-size': '256',
    key: keys.key,
    cert: keys.cert,
    'access-token-duration': options.accessTokenTtl ?? 3600,
    'refresh-token-duration': options.refreshTokenTtl ?? 1_209_600,
    'code-duration': 600,
    // Non-rotating refresh tokens: "always" one-use mode broke refresh when tried (FACTS).
    'refresh-token-rolling': false,
    'refresh-token-one-use': 'never',
    // Scopes without `openid` are plain OAuth 2 requests; allowed so both kinds of profile work.
    'allow-non-oidc': true,
    'auth-type-code-enabled': true,
    'auth-type-code-revoke-replayed': true,
    'auth-type-token-enabled': false,
    'auth-type-id-token-enabled': false,
    'auth-type-none-enabled': false,
    'auth-type-password-enabled': false,
    'auth-type-client-enabled': false,
    'auth-type-device-enabled': false,
    'auth-type-refresh-enabled': true,
    scope: [],
    'additional-parameters': [],
    claims: [],
    'jwks-show': true,
    'secret-type': 'pairwise',
    'address-claim': { type: 'no' },
    'name-claim': options.claims?.name ?? 'on-demand',
    'email-claim': options.claims?.email ?? 'no',
    'scope-claim': 'no',
    'allowed-scope': ['openid', ...scopes],
    'pkce-allowed': true,
    'pkce-method-plain-allowed': false,
    'introspection-revocation-allowed': true,
    'introspection-revocation-auth-scope': [],
    'introspection-revocation-allow-target-client': true,
    // `iss` on the authorization response (RFC 9207); off by default. Its discovery document does not
    // advertise `authorization_response_iss_parameter_supported` either way.
    'oauth-as-iss-id': true,
    'session-management-allowed': false,
  };
}

/** A session on Glewlwyd's core API with its own cookie. */
class ApiSession {
  private readonly jar = new CookieJar();
  constructor(private readonly apiUrl: string) {}

  async call(method: string, pathname: string, body?: unknown): Promise<Response> {
    const url = new URL(`${this.apiUrl}${pathname}`);
    const headers: Record<string, string> = {};
    const cookie = this.jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    this.jar.store(url, res);
    return res;
  }

  /** Fails with Glewlwyd's answer (never a password: bodies sent are not echoed). */
  async expectOk(method: string, pathname: string, body?: unknown): Promise<void> {
    const res = await this.call(method, pathname, body);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`Glewlwyd ${method} ${pathname} answered ${res.status}: ${text}`);
  }
}

interface SigningKeys {
  key: string;
  cert: string;
}

/** RS256 signing keys for ID tokens and JWT access tokens (PEM, as the plugin's `key`/`cert` take them). */
async function signingKeys(): Promise<SigningKeys> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

async function provision(apiUrl: string, issuer: string, options: GlewlwydOptions, keys: SigningKeys) {
  const scopes = options.scopes ?? ['crm.read'];
  const clientId = 'authprofiles-test';
  const clientSecret = randomBytes(24).toString('base64url');
  const username = 'alice';
  const password = randomBytes(18).toString('base64url');

  const admin = new ApiSession(apiUrl);
  await admin.expectOk('POST', '/auth/', SCHEMA_ADMIN);
  await admin.expectOk('POST', '/mod/plugin/', {
    module: 'oidc',
    name: PLUGIN_NAME,
    display_name: 'OpenID Connect (authprofiles tests)',
    parameters: oidcParameters(issuer, scopes, options, keys),
    order_rank: 0,
  });
  for (const scope of scopes) {
    // password_max_age 0 would ask for the password again on every authorization.
    await admin.expectOk('POST', '/scope/', {
      name: scope,
      display_name: scope,
      description: `Test scope ${scope}`,
      password_required: true,
      password_max_age: 3600,
      scheme: {},
    });
  }
  await admin.expectOk('POST', '/client/', {
    client_id: clientId,
    name: 'authprofiles tests',
    confidential: true,
    password: clientSecret,
    redirect_uri: options.redirectUris,
    authorization_type: ['code', 'refresh_token'],
    token_endpoint_auth_method: ['client_secret_basic', 'client_secret_post'],
    scope: [],
    enabled: true,
  });
  await admin.expectOk('POST', '/user/', {
    username,
    name: 'Alice Example',
    email: 'alice@example.test',
    password,
    // The scopes this user may grant; no g_profile needed for the grant API.
    scope: ['openid', ...scopes],
    enabled: true,
  });
  return { scopes, clientId, clientSecret, username, password };
}

interface Spawned {
  stop(): Promise<void>;
  logs(): string;
}

/** Glewlwyd's public /config answer: proves it is Glewlwyd (not whoever took the port) serving. */
async function answersAsGlewlwyd(origin: string): Promise<boolean> {
  try {
    const res = await fetch(`${origin}/config`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { api_prefix?: unknown; admin_scope?: unknown };
    return res.status === 200 && body.api_prefix === 'api' && body.admin_scope === 'g_admin';
  } catch {
    return false;
  }
}

/**
 * Spawns Glewlwyd and polls until it answers; rejects if it exits first. Its "Glewlwyd started on
 * port N" line is no ready signal: 2.7.5 prints it BEFORE binding, then exits (code 2) when the
 * port is taken.
 */
async function spawnGlewlwyd(configPath: string, port: number): Promise<Spawned> {
  const child = spawn(GLEWLWYD_BINARY, ['--config-file', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (line: string): void => {
    log = `${log}${line}\n`.slice(-20_000);
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stdout }).on('line', keep);
  createInterface({ input: child.stderr }).on('line', keep);
  const failure = (reason: string): Error => new Error(`Glewlwyd ${reason}\n--- its log ---\n${log}`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw failure(`exited before answering (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (await answersAsGlewlwyd(`http://127.0.0.1:${port}`)) {
      // Another suite's Glewlwyd on the same port would answer too, and ours would exit right after
      // its failed bind: give that exit a moment to show before trusting the answer.
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (child.exitCode === null && child.signalCode === null) break;
      continue;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw failure(`did not answer within ${READY_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    logs: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function startGlewlwyd(options: GlewlwydOptions): Promise<RunningGlewlwyd> {
  const unavailable = glewlwydUnavailableReason();
  if (unavailable) throw new Error(unavailable);
  const dir = mkdtempSync(path.join(tmpdir(), 'glewlwyd-'));
  const database = path.join(dir, 'glewlwyd.sqlite3');
  // Generated (off the event loop) while Glewlwyd starts.
  const keys = signingKeys();
  keys.catch(() => undefined); // awaited (and reported) in provision; not unhandled if start fails first
  const db = new Database(database);
  // One transaction: statement by statement, with a sync each, the schema takes over a second.
  db.transaction(() => db.exec(readSchema()))();
  db.close();

  let spawned: Spawned | undefined;
  let port = 0;
  const failures: string[] = [];
  // A port found free can be taken before Glewlwyd binds it: try another one.
  for (let attempt = 1; attempt <= PORT_ATTEMPTS && !spawned; attempt += 1) {
    port = await freePort();
    const configPath = path.join(dir, 'glewlwyd.conf');
    writeFileSync(configPath, configFile(port, database));
    try {
      spawned = await spawnGlewlwyd(configPath, port);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  if (!spawned) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`Glewlwyd did not start:\n${failures.join('\n')}`);
  }
  const running = spawned;
  const origin = `http://127.0.0.1:${port}`;
  const apiUrl = `${origin}/api`;
  const issuer = `${apiUrl}/${PLUGIN_NAME}`;
  const stop = async (): Promise<void> => {
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  let provisioned: Awaited<ReturnType<typeof provision>>;
  try {
    provisioned = await provision(apiUrl, issuer, options, await keys);
  } catch (error) {
    const logs = running.logs();
    await stop();
    throw new Error(`${(error as Error).message}\n--- Glewlwyd's log ---\n${logs}`);
  }
  const { username, password } = provisioned;
  return {
    issuer,
    authorizationUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    revocationUrl: `${issuer}/revoke`,
    introspectionUrl: `${issuer}/introspect`,
    userinfoUrl: `${issuer}/userinfo`,
    jwksUrl: `${issuer}/jwks`,
    apiUrl,
    port,
    ...provisioned,
    signIn: (authorizationUrl, signInOptions = {}) =>
      signInAtGlewlwyd(authorizationUrl, { apiUrl, username, password, ...signInOptions }),
    logs: () => running.logs(),
    stop,
  };
}
