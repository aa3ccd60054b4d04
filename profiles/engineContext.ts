import type { KeyRing } from './encryption';
import { newId } from './ids';
import type { HttpPolicy } from './oauth/tokenEndpoint';
import type { OutboundRequests } from './outboundRequests';
import type { ProfileCatalog } from './profileCatalog';
import type { AuditEntry, Store } from './store/types';

/** Structured logger the host passes in (pino fits). Callers never put secrets in `fields`. */
export interface EngineLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface EngineSettings {
  /** Lifetime of an authorization request (DESIGN: 10 min). */
  requestTtlMs: number;
  /** A token expiring within this window is refreshed before use. */
  refreshSkewMs: number;
  /** Lease on a connection while one caller refreshes it; must outlast the provider's retries. */
  refreshLeaseMs: number;
  /** How long a verification code may be typed in the conversation. */
  verificationTtlMs: number;
  /** Wrong codes allowed before the pending connection is discarded. */
  verificationAttempts: number;
  http: HttpPolicy;
}

/** Everything the engine's parts share; built once by the host. */
export interface EngineContext {
  store: Store;
  keyRing: KeyRing;
  catalog: ProfileCatalog;
  /** Base of redirect URIs; never derived from request headers (SECURITY.md #13). */
  publicUrl: string;
  clock: () => number;
  log: EngineLogger;
  settings: EngineSettings;
  /** Checks and makes every request to a profile's URLs (SECURITY.md #41, #42). */
  outbound: OutboundRequests;
}

export const silentLogger: EngineLogger = { info() {}, warn() {}, error() {} };

export async function recordAudit(
  context: EngineContext,
  entry: Omit<AuditEntry, 'id' | 'at'>,
): Promise<void> {
  try {
    await context.store.audit.append({ ...entry, id: newId('aud'), at: context.clock() });
  } catch (error) {
    // The audit trail must not turn a completed action into a failure the user sees.
    context.log.error(
      { action: entry.action, target: entry.target, errorCode: (error as { code?: string }).code },
      'audit write failed',
    );
  }
}

export function redirectUriFor(publicUrl: string, profileId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/oauth/callback/${encodeURIComponent(profileId)}`;
}
