import type { Request, Response } from 'restify';
import { isAuthProfilesError } from '../../../profiles';
import type { Session } from '../adminSessions';
import { sendPage } from '../adminViews';
import { AdminPage, type Form } from './adminPage';

/**
 * "Start a consent" on a profile page (issue 10 point 6): the admin API's
 * `POST /profiles/{id}/consents` for an admin in a browser. The page shows the consent URL to hand
 * to the other system's user; the redirect URL must be allowed by the profile's consentRedirectUrls.
 */
export class ConsentPages extends AdminPage {
  async startConsent(req: Request, res: Response, session: Session, form: Form): Promise<void> {
    if (session.role !== 'admin') {
      this.forbidden(res, session, 'Only an admin may start a consent for another system.');
      return;
    }
    const profile = await this.profileOr404(req);
    const externalUserId = (form.get('externalUserId') ?? '').trim();
    const redirectUrl = (form.get('redirectUrl') ?? '').trim();
    let created;
    try {
      created = await this.engine.startExternalConsent(
        profile,
        { externalUserId, redirectUrl },
        session.name,
      );
    } catch (error) {
      if (!isAuthProfilesError(error) || error.status !== 400) throw error;
      const named = error.issues.map((issue) => `${issue.path} ${issue.message}`).join('; ');
      this.message(res, 400, 'Consent not started', named || error.message, session);
      return;
    }
    // The request id is the start link's secret half: not logged (as for pre-authorization).
    this.ctx.log.info({ actor: session.name, profileId: profile.id }, 'external consent started');
    sendPage(res, 200, 'admin-consent', {
      title: `Consent for ${profile.displayName}`,
      me: this.me(session),
      profile: { id: profile.id, displayName: profile.displayName },
      externalUserId,
      redirectUrl,
      consentUrl: created.startUrl,
    });
  }
}
