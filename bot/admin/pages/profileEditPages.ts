import type { Request, Response } from 'restify';
import { type FieldIssue, isAuthProfilesError, isProfileId, type Profile } from '../../../profiles';
import type { Session } from '../adminSessions';
import { sendPage } from '../adminViews';
import { actorOf, AdminPage, type Form } from './adminPage';
import { ACTIONS_JSON_FIELD, applyActionsJson } from './actionFormFields';
import {
  CUSTOM_FIELDS,
  documentFromValues,
  fieldViews,
  overrideFields,
  placeIssues,
  valuesFromDocument,
  valuesFromForm,
  type FieldSpec,
  type FormValues,
} from './profileFormFields';

/**
 * Creating and editing profiles: the custom profile form, and the settings form of a bundled profile
 * (its override). `developer` manages custom profiles; bundled ones are for `admin` only.
 */
export class ProfileEditPages extends AdminPage {
  async newProfilePage(_req: Request, res: Response, session: Session): Promise<void> {
    const values = valuesFromDocument(CUSTOM_FIELDS, {
      pkce: true,
      tokenEndpointAuthMethod: 'client_secret_basic',
      authorization: 'per-user',
    });
    this.renderCustomForm(res, 200, session, { values, creating: true });
  }

  private renderCustomForm(
    res: Response,
    status: number,
    session: Session,
    options: {
      values: FormValues;
      creating: boolean;
      profile?: Profile;
      issues?: readonly FieldIssue[];
      general?: string[];
    },
  ): void {
    const fields = options.creating ? CUSTOM_FIELDS : CUSTOM_FIELDS.filter((field) => field.name !== 'id');
    const placed = placeIssues(fields, options.values, options.issues ?? []);
    sendPage(res, status, 'admin-profile-form', {
      title: options.creating ? 'New custom profile' : `Edit ${options.profile?.displayName ?? ''}`,
      me: this.me(session),
      heading: options.creating ? 'New custom profile' : `Edit ${options.profile?.displayName ?? ''}`,
      action: options.creating ? '/admin/profiles/new' : `/admin/profiles/${options.profile?.id ?? ''}/edit`,
      profile: options.profile && {
        id: options.profile.id,
        displayName: options.profile.displayName,
        version: options.profile.storedVersion,
      },
      override: false,
      hasSecret: Boolean(options.profile?.clientSecret),
      fields: fieldViews(fields, options.values, placed.byField),
      errors: [...(options.general ?? []), ...placed.general],
      hasErrors: (options.issues?.length ?? 0) > 0 || (options.general?.length ?? 0) > 0,
    });
  }

  private rejectUnknownFields(form: Form, fields: readonly FieldSpec[]): string | undefined {
    for (const name of form.keys()) {
      if (name === '_csrf' || name === 'version') continue;
      if (!fields.some((field) => field.name === name)) return `"${name}" is not a field of this form`;
    }
    return undefined;
  }

  async createProfile(_req: Request, res: Response, session: Session, form: Form): Promise<void> {
    const values = valuesFromForm(CUSTOM_FIELDS, form);
    const unknown = this.rejectUnknownFields(form, CUSTOM_FIELDS);
    if (unknown) {
      this.renderCustomForm(res, 400, session, { values, creating: true, general: [unknown] });
      return;
    }
    const id = (values.id ?? '').trim();
    values.id = id;
    const issues: FieldIssue[] = [];
    if (id === '') issues.push({ path: 'id', message: 'is required' });
    else if (!isProfileId(id))
      issues.push({ path: 'id', message: 'must be 1-64 lowercase letters, digits or dashes' });
    else if (id === 'new') issues.push({ path: 'id', message: 'is reserved by the admin pages' });
    else if (await this.engine.findProfile(id))
      issues.push({ path: 'id', message: 'a profile with this id exists already' });
    if (issues.length > 0) {
      this.renderCustomForm(res, 400, session, { values, creating: true, issues });
      return;
    }
    const document = documentFromValues(CUSTOM_FIELDS, values, { kind: 'custom' });
    const jsonIssues = applyActionsJson(document, values[ACTIONS_JSON_FIELD.name] ?? '');
    if (jsonIssues.length > 0) {
      this.renderCustomForm(res, 400, session, { values, creating: true, issues: jsonIssues });
      return;
    }
    try {
      await this.engine.saveProfile(id, document, actorOf(session), { expectedVersion: 0 });
    } catch (error) {
      if (isAuthProfilesError(error, 'invalid-profile')) {
        this.renderCustomForm(res, 400, session, { values, creating: true, issues: error.issues });
        return;
      }
      if (isAuthProfilesError(error, 'conflict')) {
        this.renderCustomForm(res, 409, session, {
          values,
          creating: true,
          issues: [{ path: 'id', message: 'a profile with this id exists already' }],
        });
        return;
      }
      throw error;
    }
    this.redirect(res, `/admin/profiles/${encodeURIComponent(id)}?saved=created`);
  }

  /** Edit rules shared by the form and its submission. */
  private async editable(req: Request, res: Response, session: Session): Promise<Profile | undefined> {
    const profile = await this.profileOr404(req);
    if (this.engine.isBundledProfile(profile.id)) {
      if (session.role !== 'admin') {
        this.forbidden(
          res,
          session,
          `"${profile.id}" is a bundled profile: only an admin may change its credentials and settings.`,
        );
        return undefined;
      }
    } else if (profile.source === 'file') {
      this.message(
        res,
        409,
        'Defined in a file',
        `"${profile.id}" is defined in a profile file: change the file and restart the service.`,
        session,
      );
      return undefined;
    }
    return profile;
  }

  /** What applies without the stored override, where it is known (no stored value for the field). */
  private async systemBaseline(
    profile: Profile,
  ): Promise<{ clientId?: string; scopes?: string; authorization?: string }> {
    const stored = await this.engine.storedProfile(profile.id);
    const overridden = stored?.document ?? {};
    return {
      ...(overridden.clientId === undefined ? { clientId: profile.clientId ?? '' } : {}),
      ...(overridden.scopes === undefined ? { scopes: profile.scopes.join(' ') } : {}),
      ...(overridden.authorization === undefined ? { authorization: profile.authorization } : {}),
    };
  }

  async editProfilePage(req: Request, res: Response, session: Session): Promise<void> {
    const profile = await this.editable(req, res, session);
    if (!profile) return;
    const stored = await this.engine.storedProfile(profile.id);
    if (this.engine.isBundledProfile(profile.id)) {
      const fields = overrideFields(await this.systemBaseline(profile));
      this.renderOverrideForm(
        res,
        200,
        session,
        profile,
        fields,
        valuesFromDocument(fields, stored?.document ?? {}),
        [],
      );
      return;
    }
    this.renderCustomForm(res, 200, session, {
      values: valuesFromDocument(CUSTOM_FIELDS, stored?.document ?? {}),
      creating: false,
      profile,
    });
  }

  private renderOverrideForm(
    res: Response,
    status: number,
    session: Session,
    profile: Profile,
    fields: FieldSpec[],
    values: FormValues,
    issues: readonly FieldIssue[],
    general: string[] = [],
  ): void {
    const placed = placeIssues(fields, values, issues);
    sendPage(res, status, 'admin-profile-form', {
      title: `Settings of ${profile.displayName}`,
      me: this.me(session),
      heading: `Settings of ${profile.displayName}`,
      action: `/admin/profiles/${profile.id}/edit`,
      profile: { id: profile.id, displayName: profile.displayName, version: profile.storedVersion },
      override: true,
      hasSecret: Boolean(profile.clientSecret),
      fields: fieldViews(fields, values, placed.byField),
      errors: [...general, ...placed.general],
      hasErrors: issues.length > 0 || general.length > 0,
    });
  }

  async updateProfile(req: Request, res: Response, session: Session, form: Form): Promise<void> {
    const profile = await this.editable(req, res, session);
    if (!profile) return;
    const system = this.engine.isBundledProfile(profile.id);
    const stored = await this.engine.storedProfile(profile.id);
    const versionText = form.get('version') ?? '';
    const expectedVersion = /^\d{1,9}$/.test(versionText) ? Number(versionText) : undefined;
    const fields = system
      ? overrideFields(await this.systemBaseline(profile))
      : CUSTOM_FIELDS.filter((field) => field.name !== 'id');
    const values = valuesFromForm(fields, form);
    const rerender = (status: number, issues: readonly FieldIssue[], general: string[] = []) =>
      system
        ? this.renderOverrideForm(res, status, session, profile, fields, values, issues, general)
        : this.renderCustomForm(res, status, session, { values, creating: false, profile, issues, general });
    const unknown = this.rejectUnknownFields(form, fields);
    if (unknown) {
      rerender(400, [], [unknown]);
      return;
    }
    const document = documentFromValues(fields, values, (stored?.document ?? {}) as Record<string, unknown>);
    if (!system) {
      const jsonIssues = applyActionsJson(document, values[ACTIONS_JSON_FIELD.name] ?? '');
      if (jsonIssues.length > 0) {
        rerender(400, jsonIssues);
        return;
      }
    }
    let result;
    try {
      result = await this.engine.saveProfile(profile.id, document, actorOf(session), {
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
      });
    } catch (error) {
      if (isAuthProfilesError(error, 'invalid-profile')) {
        rerender(400, error.issues);
        return;
      }
      if (isAuthProfilesError(error, 'conflict')) {
        rerender(
          409,
          [],
          [
            'Someone changed this profile meanwhile. Reload the page to see the current version, then make your change again.',
          ],
        );
        return;
      }
      throw error;
    }
    this.redirect(
      res,
      `/admin/profiles/${encodeURIComponent(profile.id)}?saved=updated&marked=${result.connectionsMarked}`,
    );
  }
}
