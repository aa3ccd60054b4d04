import type { Request } from 'restify';
import type { AdminKeys, AdminPrincipal } from '../../profiles/adminKeys';
import type { AuthorizationEngine } from '../../profiles/engine';
import type { OutboundFetch } from '../../profiles/outboundRequests';
import type { Logger } from '../logger';

/** What the admin API and pages share. */
export interface AdminContext {
  engine: AuthorizationEngine;
  keys: AdminKeys;
  log: Logger;
  publicUrl: string;
  /** Secure cookies and HSTS-worthy behaviour only make sense on https. */
  secureCookies: boolean;
  /**
   * HTTP client for "test connection" (swappable in tests); by default the engine's outbound client,
   * which checks the URL and refuses internal addresses (SECURITY #41, #42).
   */
  fetch?: OutboundFetch;
}

/** The key from `Authorization: Bearer <key>`, or undefined. */
export function bearerKey(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

export type { AdminPrincipal };
