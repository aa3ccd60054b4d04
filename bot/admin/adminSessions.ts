import { serialize as serializeCookie } from 'cookie';
import type { Request } from 'restify';
import { randomToken, sha256 } from '../../profiles';
import type { AdminContext, AdminPrincipal } from './adminContext';

/**
 * Admin page sessions: an opaque random id in an HttpOnly, SameSite=Strict cookie (Secure and
 * `__Host-` on https); the session lives in the store under `admin-session:<sha256(id)>`, so every
 * instance accepts it and a database dump holds no usable session id.
 *
 * A session belongs to its key (SECURITY.md #43): it stores the key's sha256 (`keyHash`, never the
 * key) and every request asks `AdminKeys` what that key may do now. A key removed from
 * `ADMIN_API_KEYS` (at the next start) or revoked with the CLI/API ends its sessions; a key whose role
 * changed gives its sessions the new role. Name and role are never taken from the stored session.
 *
 * The cookie's path is `/`, also on http: `/oauth/start` must see it to let only the admin who
 * started an organisation authorization continue it (SECURITY.md #44, bot/admin/organizationGate.ts).
 */

export const SESSION_TTL_MS = 8 * 3600_000;
export const SESSION_KEY_PREFIX = 'admin-session:';
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface Session {
  /** The store key of the session document. */
  key: string;
  role: AdminPrincipal['role'];
  name: string;
  keyId: string;
  keyHash: string;
  csrf: string;
  expiresAt: number;
}

export class AdminSessions {
  readonly cookieName: string;
  private readonly secure: boolean;

  constructor(private readonly ctx: AdminContext) {
    this.secure = ctx.secureCookies;
    // `__Host-` pins the cookie to this exact host and path / (no subdomain can set or shadow it).
    this.cookieName = this.secure ? '__Host-authprofiles_admin' : 'authprofiles_admin';
  }

  /** The session of this browser as its key allows it now, or null (none, expired, key gone). */
  async load(req: Request): Promise<Session | null> {
    // Every cookie of that name, not only the first: on http an older cookie scoped to `/admin`
    // (before the path became `/`) is sent first and must not hide the current one.
    for (const id of this.sessionIds(req).slice(0, 3)) {
      const session = await this.loadById(id);
      if (session) return session;
    }
    return null;
  }

  private sessionIds(req: Request): string[] {
    const header = req.headers.cookie;
    if (typeof header !== 'string') return [];
    const ids: string[] = [];
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== this.cookieName) continue;
      const value = part.slice(eq + 1).trim();
      if (SESSION_ID.test(value)) ids.push(value);
    }
    return ids;
  }

  private async loadById(id: string): Promise<Session | null> {
    const key = `${SESSION_KEY_PREFIX}${sha256(id)}`;
    const store = this.ctx.engine.hostDocuments();
    const document = (await store.read([key])).get(key)?.value;
    if (!document) return null;
    const { keyHash, csrf, expiresAt } = document;
    if (typeof keyHash !== 'string' || typeof csrf !== 'string' || typeof expiresAt !== 'number') {
      // Also sessions from before keys were recorded by hash: sign in again.
      await store.delete([key]);
      return null;
    }
    if (expiresAt <= Date.now()) {
      await store.delete([key]);
      return null;
    }
    const principal = await this.ctx.keys.principalForKeyHash(keyHash);
    if (!principal) {
      await store.delete([key]);
      this.ctx.log.info(
        {
          event: 'admin-session-ended',
          actor: typeof document.name === 'string' ? document.name : undefined,
        },
        'admin session ended: its key was removed or revoked',
      );
      return null;
    }
    return {
      key,
      role: principal.role,
      name: principal.name,
      keyId: principal.keyId,
      keyHash,
      csrf,
      expiresAt,
    };
  }

  /** Stores a new session for `principal`; returns the Set-Cookie lines that hand it to the browser. */
  async create(principal: AdminPrincipal): Promise<string[]> {
    const sessionId = randomToken(32);
    const now = Date.now();
    await this.ctx.engine.hostDocuments().write(
      `${SESSION_KEY_PREFIX}${sha256(sessionId)}`,
      {
        kind: 'admin-session',
        keyHash: principal.keyHash,
        // For reading the store only; each request takes role and name from the key itself.
        role: principal.role,
        name: principal.name,
        csrf: randomToken(32),
        createdAt: now,
        expiresAt: now + SESSION_TTL_MS,
      },
      undefined,
    );
    return [this.cookie(sessionId, SESSION_TTL_MS / 1000)];
  }

  async end(session: Session): Promise<string[]> {
    await this.ctx.engine.hostDocuments().delete([session.key]);
    return [this.cookie('', 0)];
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    return serializeCookie(this.cookieName, value, {
      httpOnly: true,
      secure: this.secure,
      sameSite: 'strict',
      path: '/',
      maxAge: maxAgeSeconds,
    });
  }
}
