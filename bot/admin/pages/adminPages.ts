import type { Server } from 'restify';
import type { AdminContext } from '../adminContext';
import { AuditPage } from './auditPage';
import { ConnectionPages } from './connectionPages';
import { ConsentPages } from './consentPages';
import { LoginPages } from './loginPages';
import { OrganizationPages } from './organizationPages';
import { PageRequests, type ActionHandler, type PageHandler } from './pageRequests';
import { ProfileActionPages } from './profileActionPages';
import { ProfileDeletePages } from './profileDeletePages';
import { ProfileEditPages } from './profileEditPages';
import { ProfilePages } from './profilePages';

export { SESSION_KEY_PREFIX, SESSION_TTL_MS } from '../adminSessions';
export { MAX_FORM_BYTES } from './pageRequests';

/**
 * The admin pages at `/admin` (issue 4 point 3): server-rendered Handlebars, no external assets,
 * the same engine functions as the REST API (bot/admin/api/adminApi.ts).
 *
 * - Sign-in with an admin key (form POST) starts a session (bot/admin/adminSessions.ts): an opaque
 *   random id in an HttpOnly, SameSite=Strict cookie; the session lives in the store and belongs to
 *   its key: removed, revoked or re-roled keys end or change their sessions (SECURITY.md #43).
 *   Failed sign-ins are throttled per client and overall with backoff (SECURITY.md #46).
 * - Every POST carries the session's synchronizer token (`_csrf`, compared in constant time) and
 *   must come from this origin (`Origin` / `Sec-Fetch-Site` when the browser sends them); anything
 *   else is a 403 and nothing changes. GET never changes state. The sign-in form itself is covered
 *   by a double-submit token (cookie + field) and the same origin checks.
 * - Pre-authorize: POST → 303 to a same-origin hand-over page whose link (followed by
 *   /static/admin.js) is the engine's `/oauth/start/{id}`; a form's own redirect chain may not leave
 *   `form-action 'self'`. The provider's redirect back is cross-site and carries no Strict cookie, so
 *   a session-less cross-site GET gets a "continue" page that re-requests the same path same-origin.
 *   `/oauth/start` of an organisation request needs a session of the key that started it
 *   (bot/admin/organizationGate.ts, SECURITY.md #44); the sign-in page then continues to it
 *   (`/admin/login?authorization=<request id>`).
 * - Roles as in the API: `developer` manages custom profiles and sees user connections; everything
 *   touching the organisation (pre-authorization, org connections, tests), bundled profiles and the
 *   audit log is for `admin` only, enforced here whatever the page shows.
 */

export function registerAdminPages(server: Server, ctx: AdminContext): void {
  const pages = new PageRequests(ctx);
  const login = new LoginPages(ctx);
  const profiles = new ProfilePages(ctx);
  const edit = new ProfileEditPages(ctx);
  const remove = new ProfileDeletePages(ctx);
  const organization = new OrganizationPages(ctx);
  const connections = new ConnectionPages(ctx, profiles);
  const audit = new AuditPage(ctx);
  const get = (path: string, handler: PageHandler) =>
    server.get(
      path,
      pages.guard((req, res) => pages.withSession(req, res, handler)),
    );
  const post = (path: string, handler: ActionHandler) =>
    server.post(
      path,
      pages.guard((req, res) => pages.withAction(req, res, handler)),
    );

  server.get(
    '/admin/login',
    pages.guard((req, res) => login.loginPage(req, res)),
  );
  server.post(
    '/admin/login',
    pages.guard((req, res) => login.login(req, res)),
  );
  post('/admin/logout', (req, res, session) => login.logout(req, res, session));

  get('/admin', (req, res, session) => profiles.profilesPage(req, res, session));
  get('/admin/profiles', (req, res, session) => profiles.profilesPage(req, res, session));
  get('/admin/profiles/new', (req, res, session) => edit.newProfilePage(req, res, session));
  post('/admin/profiles/new', (req, res, session, form) => edit.createProfile(req, res, session, form));
  get('/admin/profiles/:id', (req, res, session) => profiles.profilePage(req, res, session));
  get('/admin/profiles/:id/edit', (req, res, session) => edit.editProfilePage(req, res, session));
  post('/admin/profiles/:id/edit', (req, res, session, form) => edit.updateProfile(req, res, session, form));
  get('/admin/profiles/:id/delete', (req, res, session) => remove.deleteProfilePage(req, res, session));
  post('/admin/profiles/:id/delete', (req, res, session) => remove.deleteProfile(req, res, session));
  const actions = new ProfileActionPages(ctx);
  post('/admin/profiles/:id/actions/:key', (req, res, session, form) =>
    actions.switchAction(req, res, session, form),
  );
  post('/admin/profiles/:id/authorize', (req, res, session) => organization.preAuthorize(req, res, session));
  const consents = new ConsentPages(ctx);
  post('/admin/profiles/:id/consents', (req, res, session, form) =>
    consents.startConsent(req, res, session, form),
  );
  get('/admin/authorizations/:requestId', (req, res, session) =>
    organization.authorizationPage(req, res, session),
  );
  get('/admin/connections', (req, res, session) => connections.connectionsPage(req, res, session));
  post('/admin/connections/:id/test', (req, res, session) => connections.testConnection(req, res, session));
  post('/admin/connections/:id/revoke', (req, res, session, form) =>
    connections.revokeConnection(req, res, session, form),
  );
  get('/admin/audit', (req, res, session) => audit.auditPage(req, res, session));
}
