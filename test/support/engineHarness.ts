// Builds a real engine for tests: a real SQLite file, real encryption, profiles loaded from real
// files, and (usually) the real oidc-provider authorization server from ./authServer.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySpec, KeyRing, parseEncryptionKeys } from '../../profiles/encryption';
import { AuthorizationEngine } from '../../profiles/engine';
import type { EngineContext, EngineLogger, EngineSettings } from '../../profiles/engineContext';
import { DEFAULT_HTTP_POLICY } from '../../profiles/oauth/tokenEndpoint';
import { OutboundRequests, type Resolver } from '../../profiles/outboundRequests';
import { ProfileCatalog } from '../../profiles/profileCatalog';
import type { ProfileValidationOptions } from '../../profiles/profileSchema';
import { SqliteStore } from '../../profiles/store/sqliteStore';
import type { Store } from '../../profiles/store/types';
import { completeConsent, CookieJar } from './browserlessConsent';
import type { RunningAuthServer } from './authServer';
import type { Subject } from '../../profiles/subjects';

export const PUBLIC_URL = 'http://127.0.0.1:39999';

/** A clock tests can move forward. */
export interface TestClock {
  (): number;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  const clock = (() => Date.now() + offset) as TestClock;
  clock.advance = (ms: number) => {
    offset += ms;
  };
  return clock;
}

/** Collects every log line so tests can assert that no secret was logged (SECURITY.md #32). */
export class CapturingLogger implements EngineLogger {
  readonly lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  info(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'error', fields, message });
  }
  text(): string {
    return this.lines
      .map((line) => `${line.level} ${line.message} ${JSON.stringify(line.fields)}`)
      .join('\n');
  }
}

export interface Harness {
  engine: AuthorizationEngine;
  context: EngineContext;
  store: Store;
  clock: TestClock;
  log: CapturingLogger;
  dir: string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  profiles: Record<string, unknown>[];
  store?: Store;
  dir?: string;
  encryptionKeys?: string;
  settings?: Partial<EngineSettings>;
  publicUrl?: string;
  /** The address rule; dev mode (loopback allowed) unless a test says otherwise. */
  validation?: ProfileValidationOptions;
  /** Name resolution for outbound requests (a FAKE resolver in the SSRF tests); the system's by default. */
  resolve?: Resolver;
  /** Test-only bundled profiles (as the dev-mode demo provider adds its own). */
  extraSystemProfiles?: readonly unknown[];
}

export const FAST_SETTINGS: EngineSettings = {
  requestTtlMs: 10 * 60_000,
  refreshSkewMs: 60_000,
  refreshLeaseMs: 5_000,
  verificationTtlMs: 10 * 60_000,
  verificationAttempts: 5,
  http: { ...DEFAULT_HTTP_POLICY, timeoutMs: 3000, backoffMs: 20 },
};

export async function createHarness(options: HarnessOptions): Promise<Harness> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'authprofiles-'));
  const profilesDir = join(dir, 'profiles');
  mkdirSync(profilesDir, { recursive: true });
  for (const profile of options.profiles) {
    writeFileSync(join(profilesDir, `${String(profile.id)}.json`), JSON.stringify(profile, null, 2));
  }
  const store = options.store ?? new SqliteStore(join(dir, 'authprofiles.db'));
  const validation = options.validation ?? { allowInsecureLoopback: true };
  const keyRing = new KeyRing(parseEncryptionKeys(options.encryptionKeys ?? generateKeySpec('test1')));
  const catalog = new ProfileCatalog({
    store,
    keyRing,
    env: {},
    validation,
    profilesDir,
    extraSystemProfiles: options.extraSystemProfiles ?? [],
  });
  catalog.loadFiles();
  const clock = testClock();
  const log = new CapturingLogger();
  const context: EngineContext = {
    store,
    keyRing,
    catalog,
    publicUrl: options.publicUrl ?? PUBLIC_URL,
    clock,
    log,
    settings: { ...FAST_SETTINGS, ...options.settings },
    outbound: new OutboundRequests(validation, options.resolve ? { resolve: options.resolve } : {}),
  };
  return {
    engine: new AuthorizationEngine(context),
    context,
    store,
    clock,
    log,
    dir,
    async close() {
      await store.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A profile for a client registered at the test authorization server. */
export function serverProfile(
  server: RunningAuthServer,
  id: string,
  client: { client_id: string; client_secret: string; token_endpoint_auth_method: string },
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    displayName: `Test ${id}`,
    authorizationUrl: server.url('/auth'),
    tokenUrl: server.url('/token'),
    revocationUrl: server.url('/token/revocation'),
    issuer: server.issuer,
    issuerParameterSupported: true,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    tokenEndpointAuthMethod: client.token_endpoint_auth_method,
    scopes: ['crm.objects.deals.read'],
    ...extra,
  };
}

export const USER: Subject = { kind: 'user', channelId: 'webchat', userId: 'alice' };

/** Runs the browser side of a consent: open the start link, log in and consent, return the callback. */
export async function consentInBrowser(
  harness: Harness,
  requestId: string,
  options: { login?: string; deny?: boolean; binding?: string; declineScopes?: string[] } = {},
): Promise<{ callbackUrl: URL; binding: string; redirectUrl: URL }> {
  const started = await harness.engine.startAuthorization(requestId, options.binding);
  const callbackUrl = await completeConsent(started.redirectUrl, {
    login: options.login ?? 'alice',
    cookieJar: new CookieJar(),
    ...(options.deny ? { deny: true } : {}),
    ...(options.declineScopes ? { declineScopes: options.declineScopes } : {}),
  });
  return { callbackUrl, binding: started.binding, redirectUrl: new URL(started.redirectUrl) };
}

/** Request → browser → callback, as one call. */
export async function authorize(
  harness: Harness,
  profileId: string,
  subject: Subject = USER,
  options: {
    requireVerification?: boolean;
    login?: string;
    connectionName?: string;
    /** Scopes on demand: asked for beyond the profile's (issue 11 point 5). */
    additionalScopes?: string[];
    /** Scopes the user unticks at the consent (see completeConsent). */
    declineScopes?: string[];
  } = {},
) {
  const profile = await harness.engine.catalog.get(profileId);
  const created = await harness.engine.createAuthorizationRequest({
    profile,
    subject,
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
    ...(options.additionalScopes === undefined ? {} : { additionalScopes: options.additionalScopes }),
    createdBy: 'user:test',
    requireVerification: options.requireVerification ?? false,
  });
  const { callbackUrl, binding, redirectUrl } = await consentInBrowser(harness, created.requestId, options);
  const outcome = await harness.engine.completeCallback({
    profileId,
    query: callbackUrl.search.slice(1),
    browserBinding: binding,
  });
  return { outcome, callbackUrl, binding, created, redirectUrl };
}
