import type { Request, Response } from 'restify';
import type { SigninRequest } from '../../profiles';
import { PAGE_HEADERS, sendPage } from './adminViews';
import type { AdminContext, AdminPrincipal } from './adminContext';
import { AdminSessions } from './adminSessions';

/**
 * SECURITY.md #44: an organisation authorization completes only for the admin who started it.
 *
 * `/oauth/start/{id}` of an organisation request goes to the provider only for a browser holding an
 * admin page session of the *same key* that created the request (admin page or API), with the
 * `admin` role now. Without a session the browser gets the admin sign-in page, and after signing in
 * continues to the provider; with another key's session it gets a 403. The browser-binding cookie set
 * at that moment is what the callback demands, so the tokens can only come back to that browser.
 *
 * Why this and not "store the connection as pending until the admin confirms it": the provider
 * account that gets bound is then the one of a person proven to hold the admin key, before anything is
 * stored. A confirmation step would store a stranger's tokens first and rely on the admin noticing
 * whose account it was (nothing on the page can show that reliably) before pressing "confirm"; it would
 * also let a stranger replace a working organisation connection by a pending one, and add a step to
 * every pre-authorization. Here an admin on the admin page sees no extra step at all, and one using
 * the API signs in once in the browser that opens the link. No organisation connection exists in a
 * state a chat user could use before the admin's own consent, so none can be "not yet confirmed".
 */

/** What the admin surfaces keep in an organisation request's context. */
export function adminRequestContext(principal: AdminPrincipal): Record<string, unknown> {
  return { kind: 'admin', actor: principal.name, adminKeyHash: principal.keyHash };
}

/** The key (by hash) that created an admin request, or undefined. */
export function requestKeyHash(request: SigninRequest): string | undefined {
  const value = request.context.adminKeyHash;
  return request.context.kind === 'admin' && typeof value === 'string' ? value : undefined;
}

/**
 * The gate the OAuth routes ask before `/oauth/start` of an organisation request goes on
 * (bot/web/oauthRoutes.ts `OrganizationGate`); when it says no, it has answered.
 */
export function createOrganizationGate(
  ctx: AdminContext,
): (req: Request, res: Response, request: SigninRequest) => Promise<boolean> {
  const sessions = new AdminSessions(ctx);
  return async (req, res, request) => {
    const startedBy = requestKeyHash(request);
    if (!startedBy) {
      sendPage(res, 403, 'admin-message', {
        title: 'Not an admin authorization',
        message:
          'This organisation authorization was not started from the admin pages or API. Start it again from the profile page.',
      });
      return false;
    }
    const session = await sessions.load(req);
    if (!session) {
      const path = req.url ?? '';
      if (req.headers['sec-fetch-site'] === 'cross-site' && /^\/oauth\/start\/[A-Za-z0-9_-]+$/.test(path)) {
        // A link followed from another site carries no SameSite=Strict cookie: one same-origin hop
        // (followed by /static/admin.js) fetches the same URL with it, or ends at the sign-in page.
        sendPage(res, 200, 'admin-continue', {
          title: 'Continue',
          heading: 'Connecting for the organisation',
          text: 'Checking your admin session before going to the provider.',
          linkText: 'Continue',
          href: path,
        });
        return false;
      }
      ctx.log.warn(
        {
          event: 'organization-authorization-refused',
          reason: 'no-admin-session',
          profileId: request.profileId,
        },
        'organisation authorization opened without an admin session: sign-in asked',
      );
      res.writeHead(303, {
        ...PAGE_HEADERS,
        Location: `/admin/login?authorization=${encodeURIComponent(request.id)}`,
        'Content-Length': 0,
      });
      res.end();
      return false;
    }
    if (session.keyHash !== startedBy || session.role !== 'admin') {
      ctx.log.warn(
        {
          event: 'organization-authorization-refused',
          reason: session.keyHash !== startedBy ? 'other-key' : 'not-admin',
          actor: session.name,
          requestedBy: request.createdBy,
          profileId: request.profileId,
        },
        'organisation authorization opened by another key: refused',
      );
      sendPage(res, 403, 'admin-message', {
        title: 'Not your authorization',
        message:
          session.keyHash !== startedBy
            ? 'This organisation authorization was started with another admin key than the one you are signed in with. Sign out and sign in with the key that started it, or start a new one from the profile page.'
            : 'Only an admin may connect an integration for the organisation; your key no longer has the admin role.',
        me: { name: session.name, role: session.role, isAdmin: session.role === 'admin', csrf: session.csrf },
      });
      return false;
    }
    await ctx.engine.audit({
      actor: session.name,
      action: 'authorization.started',
      target: `profile:${request.profileId}`,
      details: { subject: request.subjectKey, requestedBy: request.createdBy },
    });
    return true;
  };
}
