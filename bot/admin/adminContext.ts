import { isIP } from 'node:net';
import type { Request } from 'restify';
import type { AdminKeys, AdminPrincipal, AuthorizationEngine, OutboundFetch } from '../../profiles';
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
   * which checks the URL and refuses internal addresses (SECURITY.md #41, #42).
   */
  fetch?: OutboundFetch;
  /**
   * Reverse proxies in front of the service whose `X-Forwarded-For` entries are believed
   * (`TRUSTED_PROXY_HOPS`, default 0: the TCP peer is the client). Only used to tell clients apart
   * when throttling key guesses (SECURITY.md #46), never for URLs (SECURITY.md #13).
   */
  trustedProxyHops?: number;
}

/** Ids of connections, keys and audit entries as the admin surfaces accept them in paths and queries. */
export const OPAQUE_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** The key from `Authorization: Bearer <key>`, or undefined. */
export function bearerKey(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

/**
 * Who is knocking, for throttling: the TCP peer, or with `hops` trusted proxies the address that
 * many entries from the right of `X-Forwarded-For` (the entries further left are the client's own
 * say and could be anything). IPv4-mapped IPv6 is unwrapped; other IPv6 addresses count by their
 * /64, which one subscriber usually holds whole.
 */
export function clientAddress(req: Request, hops = 0): string {
  let address = req.socket?.remoteAddress ?? 'unknown';
  if (hops > 0) {
    const raw = req.headers['x-forwarded-for'];
    const chain = (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    const candidate = chain[chain.length - hops];
    if (candidate !== undefined && isIP(candidate) !== 0) address = candidate;
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (isIP(address) === 6) return `${ipv6Prefix64(address)}::/64`;
  return address;
}

function ipv6Prefix64(address: string): string {
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return groups
    .slice(0, 4)
    .map((group) => (Number.parseInt(group || '0', 16) || 0).toString(16))
    .join(':');
}

export type { AdminPrincipal };
