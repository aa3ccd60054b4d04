import type { Request, Response } from 'restify';
import { type AdminActionView, isAuthProfilesError } from '../../../profiles';
import type { Session } from '../adminSessions';
import { actorOf, AdminPage, HttpProblem, param, type Form } from './adminPage';

/** `entity.action`, as profiles/actions/actionSchema.ts names actions. */
export const ACTION_KEY = /^[a-z][a-z0-9-]{0,39}\.[a-z][a-z0-9-]{0,39}$/;

/** One row of the profile page's action table; every value is rendered escaped ({{ }}). */
export function actionRow(action: AdminActionView) {
  return {
    key: action.key,
    title: action.title,
    description: action.description ?? '',
    access: action.access,
    isWrite: action.access === 'write',
    method: action.method,
    path: action.path,
    scopes: action.scopes.join(' '),
    enabled: action.enabled,
    // The button says what it does; the hidden field carries the opposite of the current state.
    next: action.enabled ? 'false' : 'true',
    setting: action.setting === 'admin' ? 'set by an admin' : 'default',
  };
}

/**
 * The Enable/Disable buttons of the profile page (issue 11 point 3): a POST per action, behind the
 * session and its CSRF token like every other admin form (pageRequests.ts, SECURITY.md #43); the rules
 * are the engine's (`setActionEnabled`): bundled profiles for admins only, file profiles not at all.
 */
export class ProfileActionPages extends AdminPage {
  async switchAction(req: Request, res: Response, session: Session, form: Form): Promise<void> {
    const profile = await this.profileOr404(req);
    const key = param(req, 'key');
    for (const name of form.keys()) {
      if (name !== '_csrf' && name !== 'enabled' && name !== 'version') {
        this.message(res, 400, 'Invalid form', `"${name}" is not a field of this form.`, session);
        return;
      }
    }
    const enabledText = form.get('enabled');
    if (enabledText !== 'true' && enabledText !== 'false') {
      this.message(res, 400, 'Invalid form', 'The field "enabled" must be true or false.', session);
      return;
    }
    if (
      !ACTION_KEY.test(key) ||
      !profile.actions.some((action) => `${action.entity}.${action.action}` === key)
    )
      throw new HttpProblem(404, 'No such action', `Profile "${profile.id}" has no action "${key}".`);
    if (this.engine.isBundledProfile(profile.id) && session.role !== 'admin') {
      this.forbidden(
        res,
        session,
        `"${profile.id}" is a bundled profile: only an admin may switch its actions.`,
      );
      return;
    }
    const versionText = form.get('version') ?? '';
    const expectedVersion = /^\d{1,9}$/.test(versionText) ? Number(versionText) : undefined;
    try {
      await this.engine.setActionEnabled(profile.id, key, enabledText === 'true', actorOf(session), {
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
      });
    } catch (error) {
      if (isAuthProfilesError(error, 'profile-read-only')) {
        this.message(res, 409, 'Defined in a file', `${error.message}.`, session);
        return;
      }
      if (isAuthProfilesError(error, 'conflict')) {
        this.message(
          res,
          409,
          'Changed meanwhile',
          'Someone changed this profile meanwhile. Reload its page and try again; nothing was changed.',
          session,
        );
        return;
      }
      throw error;
    }
    const switched = enabledText === 'true' ? 'on' : 'off';
    this.redirect(
      res,
      `/admin/profiles/${encodeURIComponent(profile.id)}?action=${encodeURIComponent(key)}&switched=${switched}#actions`,
    );
  }
}
