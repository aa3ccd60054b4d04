// Starts bot/dev/authServer.mjs (a real oidc-provider authorization server) as a child process.
// A child process because oidc-provider is ESM-only and keeps global state; one per suite keeps
// suites independent and lets jest run them in parallel.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface AuthServerClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post';
  /** Reject authorization requests without an S256 code_challenge. */
  pkceRequired?: boolean;
  /** Also accept `<prefix><profile id>` as a redirect URI (one path segment; the dev demo client's). */
  redirect_uri_prefix?: string;
  /** Issue a new refresh token on every refresh; reusing an old one revokes the grant. */
  rotateRefreshToken?: boolean;
}

export interface AuthServerConfig {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  issuer?: string;
  clients: AuthServerClient[];
  accessTokenTtl?: number;
  refreshTokenTtl?: number;
  /** Custom scopes the API resource knows, e.g. 'crm.objects.deals.read crm.objects.contacts.read'. */
  scopes?: string | string[];
  /** Extra claims per login name (any login name is accepted). */
  users?: Record<string, Record<string, unknown>>;
  /** /_stats and /_faults endpoints; the helper turns them on unless set to false. */
  testHooks?: boolean;
  cookieKeys?: string[];
}

export interface AuthServerStats {
  token: { authorization_code: number; refresh_token: number; [grantType: string]: number };
  revocation: number;
  introspection: number;
}

/** Fault injection: answer `status` (or just wait `delayMs`) for the next `times` requests. */
export interface AuthServerFault {
  status?: number;
  times?: number;
  delayMs?: number;
  /** Sent as the Retry-After header (seconds) with the faulted `status`. */
  retryAfter?: number;
}

export type AuthServerFaults = Partial<Record<'token' | 'revocation' | 'introspection', AuthServerFault>>;

export interface RunningAuthServer {
  issuer: string;
  port: number;
  url(pathname: string): string;
  stats(): Promise<AuthServerStats>;
  resetStats(): Promise<void>;
  injectFault(faults: AuthServerFaults): Promise<void>;
  resetFaults(): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/** Walks up to package.json, so this works from test/support and from dist/test/support alike. */
export function findRepoRoot(start: string = __dirname): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  // dist/ may hold a copied package.json; the script lives next to the sources.
  return path.basename(dir) === 'dist' ? path.dirname(dir) : dir;
}

export const AUTH_SERVER_SCRIPT = path.join(findRepoRoot(), 'bot', 'dev', 'authServer.mjs');

export async function startAuthServer(config: AuthServerConfig): Promise<RunningAuthServer> {
  const child = spawn(process.execPath, [AUTH_SERVER_SCRIPT], {
    env: { ...process.env, AUTH_SERVER_CONFIG: JSON.stringify({ testHooks: true, ...config }) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });

  // Keep the tail of stderr for error messages; the provider's warnings are not interesting otherwise.
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const ready = await new Promise<{ port: number; issuer: string }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const fail = (reason: string): void => {
      clearTimeout(timer);
      lines.close();
      child.kill('SIGKILL');
      reject(new Error(`auth server ${reason}\n--- stderr ---\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`exited before ready (code ${code}, signal ${signal})`);
    child.once('exit', onExit);
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      try {
        const parsed = JSON.parse(line) as { ready?: boolean; port: number; issuer: string };
        if (parsed.ready !== true) throw new Error('not a ready line');
        resolve(parsed);
      } catch {
        fail(`printed an unexpected first line: ${line}`);
      }
    });
  });

  const url = (pathname: string): string => new URL(pathname, `${ready.issuer}/`).toString();

  const hook = async (pathname: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(url(pathname), {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${pathname} answered ${res.status}: ${await res.text()}`);
    return res.json();
  };

  return {
    issuer: ready.issuer,
    port: ready.port,
    url,
    stats: async () => (await hook('/_stats')) as AuthServerStats,
    resetStats: async () => {
      await hook('/_stats/reset', {});
    },
    injectFault: async (faults) => {
      await hook('/_faults', faults);
    },
    resetFaults: async () => {
      await hook('/_faults/reset', {});
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
