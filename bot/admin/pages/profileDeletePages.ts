import type { Request, Response } from 'restify';
import type { Profile } from '../../../profiles';
import type { Session } from '../adminSessions';
import { sendPage } from '../adminViews';
import { actorOf, AdminPage } from './adminPage';

/** Deleting a stored profile (a bundled one: its stored override), after a confirmation page. */
export class ProfileDeletePages extends AdminPage {
  /** Delete rules shared by the confirmation page and the deletion. */
  private async deletable(req: Request, res: Response, session: Session): Promise<Profile | undefined> {
    const profile = await this.profileOr404(req);
    const system = this.engine.isBundledProfile(profile.id);
    if (system && session.role !== 'admin') {
      this.forbidden(res, session, `"${profile.id}" is a bundled profile: only an admin may change it.`);
      return undefined;
    }
    const stored = await this.engine.storedProfile(profile.id);
    if (!stored) {
      this.message(
        res,
        409,
        'Nothing to delete',
        system
          ? `"${profile.id}" is a bundled profile without stored changes: there is nothing to delete.`
          : `"${profile.id}" is defined in a profile file: remove the file to delete it.`,
        session,
      );
      return undefined;
    }
    return profile;
  }

  async deleteProfilePage(req: Request, res: Response, session: Session): Promise<void> {
    const profile = await this.deletable(req, res, session);
    if (!profile) return;
    const system = this.engine.isBundledProfile(profile.id);
    const total = await this.engine.countConnections({ profileId: profile.id });
    const org = await this.engine.countConnections({ profileId: profile.id, subjectKind: 'org' });
    sendPage(res, 200, 'admin-delete', {
      title: `Delete ${profile.displayName}`,
      me: this.me(session),
      profile: { id: profile.id, displayName: profile.displayName },
      system,
      total,
      totalLabel: `${total} connection${total === 1 ? '' : 's'}`,
      org,
      users: total - org,
    });
  }

  async deleteProfile(req: Request, res: Response, session: Session): Promise<void> {
    const profile = await this.deletable(req, res, session);
    if (!profile) return;
    const result = await this.engine.deleteProfile(profile.id, actorOf(session));
    if (result.removedOverride) {
      this.redirect(
        res,
        `/admin/profiles/${encodeURIComponent(profile.id)}?deleted=${encodeURIComponent(profile.id)}&removed=${result.connectionsRemoved}`,
      );
      return;
    }
    this.redirect(
      res,
      `/admin/profiles?deleted=${encodeURIComponent(profile.id)}&removed=${result.connectionsRemoved}`,
    );
  }
}
