import type { Request, Response } from 'restify';
import { AUTHORIZATION_REQUEST_ID, isOpen, ORGANIZATION } from '../../../profiles';
import type { Session } from '../adminSessions';
import { sendPage } from '../adminViews';
import { adminRequestContext, requestKeyHash } from '../organizationGate';
import { AdminPage, HttpProblem, param } from './adminPage';

/**
 * Pre-authorize: POST → 303 to a same-origin hand-over page whose link (followed by /static/admin.js)
 * is the engine's `/oauth/start/{id}`; a form's own redirect chain may not leave `form-action 'self'`.
 * Only an admin may, and only the key that started it may continue it (SECURITY.md #44).
 */
export class OrganizationPages extends AdminPage {
  async preAuthorize(req: Request, res: Response, session: Session): Promise<void> {
    if (session.role !== 'admin') {
      this.forbidden(res, session, 'Only an admin may connect an integration for the organisation.');
      return;
    }
    const profile = await this.profileOr404(req);
    if (profile.authorization !== 'pre-authorized') {
      this.message(
        res,
        400,
        'Per-user profile',
        `"${profile.id}" is per-user: each chat user connects it in the conversation.`,
        session,
      );
      return;
    }
    if (profile.missing.length > 0) {
      this.message(
        res,
        400,
        'Not set up yet',
        `"${profile.id}" cannot be connected before these are set: ${profile.missing.join(', ')}.`,
        session,
      );
      return;
    }
    const created = await this.engine.createAuthorizationRequest({
      profile,
      subject: ORGANIZATION,
      createdBy: session.name,
      context: adminRequestContext(session),
    });
    // The request id is the start link's secret half: not logged.
    this.ctx.log.info({ actor: session.name, profileId: profile.id }, 'pre-authorization started');
    // Not straight to the start URL: a form submission's redirect chain is held to the page's
    // `form-action 'self'`, which the provider is not. A same-origin page hands over instead.
    this.redirect(res, `/admin/authorizations/${encodeURIComponent(created.requestId)}`);
  }

  /** The hand-over to the provider: a link (followed by /static/admin.js) to `/oauth/start/{id}`. */
  async authorizationPage(req: Request, res: Response, session: Session): Promise<void> {
    const id = param(req, 'requestId');
    const request = AUTHORIZATION_REQUEST_ID.test(id) ? await this.engine.signinRequest(id) : null;
    // Only for the key that started it (SECURITY.md #44); /oauth/start checks the same again.
    if (!request || requestKeyHash(request) !== session.keyHash) {
      throw new HttpProblem(
        404,
        'No such authorization',
        'That authorization does not exist or is not yours. Start again from the profile page.',
      );
    }
    if (session.role !== 'admin') {
      this.forbidden(res, session, 'Only an admin may connect an integration for the organisation.');
      return;
    }
    const profile = await this.engine.findProfile(request.profileId);
    const open = isOpen(request.state) && request.expiresAt > Date.now();
    if (!open) {
      throw new HttpProblem(
        410,
        'Authorization finished',
        'This authorization is finished or expired. Start again from the profile page.',
      );
    }
    sendPage(res, 200, 'admin-continue', {
      title: 'Connecting',
      heading: `Connecting ${profile?.displayName ?? request.profileId} for the organisation`,
      text: "You are being taken to the provider's consent page; you come back here when it is done.",
      linkText: 'Continue to the provider',
      href: this.engine.startUrl(request.id),
    });
  }
}
