import { accountDetails } from './accountFormFields';
import type { Request, Response } from 'restify';
import {
  CONNECTION_STATUSES,
  type ConnectionCheck,
  describeUnreadable,
  ORGANIZATION,
  type Profile,
  publicProfile,
} from '../../../profiles';
import type { Session } from '../adminSessions';
import { sendPage } from '../adminViews';
import { AdminPage, formatTime, queryOf } from './adminPage';
import { auditRow } from './auditPage';
import { describeCheck, orgStatus } from './connectionTexts';
import { notices } from './pageNotices';
import { actionRow } from './profileActionPages';

/** The profile list (`/admin/profiles`) and one profile's page, with its connections and recent audit. */
export class ProfilePages extends AdminPage {
  private async userCounts(profileId: string): Promise<{ status: string; label: string; count: number }[]> {
    const counts = [];
    for (const status of CONNECTION_STATUSES) {
      const count = await this.engine.countConnections({ profileId, subjectKind: 'user', status });
      counts.push({
        status,
        label: status === 'needs-reauthorization' ? 'needs re-authorization' : status,
        count,
      });
    }
    return counts;
  }

  async profilesPage(req: Request, res: Response, session: Session): Promise<void> {
    const isAdmin = session.role === 'admin';
    const profiles = await this.engine.listProfiles();
    const rows = [];
    const broken = [];
    for (const profile of profiles) {
      const system = this.engine.isBundledProfile(profile.id);
      const preAuthorized = profile.authorization === 'pre-authorized';
      let org;
      if (isAdmin && preAuthorized) {
        org = orgStatus(await this.engine.connectionOf(profile, ORGANIZATION));
        if (org.broken) broken.push({ id: profile.id, displayName: profile.displayName, text: org.text });
      }
      rows.push({
        id: profile.id,
        displayName: profile.displayName,
        kind: system ? 'system' : 'custom',
        fromFile: profile.source === 'file',
        authorization: profile.authorization,
        preAuthorized,
        usable: profile.missing.length === 0,
        missing: profile.missing.join(', '),
        org,
        users: (await this.userCounts(profile.id)).filter((entry) => entry.count > 0),
      });
    }
    sendPage(res, 200, 'admin-profiles', {
      title: 'Profiles',
      me: this.me(session),
      notices: notices(queryOf(req)),
      broken,
      rows,
    });
  }

  async profilePage(req: Request, res: Response, session: Session, check?: ConnectionCheck): Promise<void> {
    const profile = await this.profileOr404(req);
    await this.renderProfile(res, session, profile, queryOf(req), check);
  }

  async renderProfile(
    res: Response,
    session: Session,
    profile: Profile,
    query: URLSearchParams,
    check?: ConnectionCheck,
  ): Promise<void> {
    const isAdmin = session.role === 'admin';
    const system = this.engine.isBundledProfile(profile.id);
    const shown = publicProfile(profile);
    const preAuthorized = profile.authorization === 'pre-authorized';
    let org;
    if (isAdmin && preAuthorized) {
      const connection = await this.engine.connectionOf(profile, ORGANIZATION);
      org = {
        ...orgStatus(connection),
        connection: connection && {
          ...connection,
          expires: formatTime(connection.expiresAt),
          updated: formatTime(connection.updatedAt),
          scopes: connection.scopes.join(' '),
        },
        canStart: profile.missing.length === 0,
      };
    }
    const stored = await this.engine.storedProfile(profile.id);
    const details: { label: string; value: string }[] = [
      { label: 'Id', value: shown.id },
      { label: 'Kind', value: system ? 'system (bundled)' : 'custom' },
      {
        label: 'Defined in',
        value: { system: 'the bundled catalog', file: 'a profile file', store: 'the admin API / pages' }[
          shown.source
        ],
      },
      { label: 'Authorization', value: shown.authorization },
      { label: 'Authorization URL', value: shown.authorizationUrl },
      { label: 'Token URL', value: shown.tokenUrl },
      { label: 'Refresh URL', value: shown.refreshUrl ?? shown.tokenUrl },
      { label: 'Revocation URL', value: shown.revocationUrl ?? '' },
      { label: 'Issuer', value: shown.issuer ?? '' },
      { label: 'Client id', value: shown.clientId ?? '' },
      {
        label: 'Client secret',
        value: shown.unreadableSecret
          ? `set, but ${describeUnreadable(shown.unreadableSecret)}`
          : shown.hasClientSecret
            ? 'set (never shown)'
            : 'not set',
      },
      { label: 'Scopes', value: shown.scopes.join(' ') },
      { label: 'PKCE', value: shown.pkce ? 'yes (S256)' : 'no' },
      { label: 'Token endpoint authentication', value: shown.tokenEndpointAuthMethod },
      { label: 'API base URL', value: shown.apiBaseUrl ?? '' },
      { label: 'API base URL from the token response', value: shown.apiBaseUrlFrom ?? '' },
      { label: 'Check URL', value: shown.checkUrl ?? '' },
      { label: 'Response success field', value: shown.responseSuccessField ?? '' },
      { label: 'JWKS URL', value: shown.jwksUrl ?? '' },
      ...accountDetails(profile),
    ].map((row) => ({ ...row, value: row.value || '—' }));
    const editable = system ? isAdmin : profile.source !== 'file';
    const deletable = system ? isAdmin && stored !== null : stored !== null;
    let audit: ReturnType<typeof auditRow>[] = [];
    if (isAdmin)
      audit = (await this.engine.listAudit({ limit: 10, target: `profile:${profile.id}` })).map((entry) =>
        auditRow(entry),
      );
    sendPage(res, 200, 'admin-profile', {
      title: profile.displayName,
      me: this.me(session),
      notices: notices(query),
      profile: {
        id: profile.id,
        displayName: profile.displayName,
        missing: profile.missing.join(', '),
        usable: profile.missing.length === 0,
      },
      details,
      // "Start a consent" (consentPages.ts): admins, on a per-user profile with consent redirect URLs.
      consents:
        isAdmin && !preAuthorized && (profile.consentRedirectUrls ?? []).length > 0
          ? { redirectUrl: profile.consentRedirectUrls?.[0] ?? '' }
          : undefined,
      system,
      preAuthorized,
      org,
      check: check && { ok: check.ok, reason: check.reason, text: describeCheck(check) },
      users: await this.userCounts(profile.id),
      editable,
      deletable,
      fileDefined: !system && profile.source === 'file',
      // Issue 11 point 3: who may switch actions is who may edit the profile (file profiles: nobody).
      actions: this.engine.listAdminActions(profile).map(actionRow),
      canSwitchActions: editable && (system || stored !== null),
      version: profile.storedVersion,
      audit,
    });
  }
}
