import type { Request, Response } from 'restify';
import {
  CONNECTION_STATUSES,
  type ConnectionFilter,
  type ConnectionStatus,
  describeUnreadable,
  isProfileId,
} from '../../../profiles';
import type { AdminContext } from '../adminContext';
import type { Session } from '../adminSessions';
import { sendPage } from '../adminViews';
import {
  AdminPage,
  formatTime,
  HttpProblem,
  OPAQUE_ID,
  PAGE_SIZE,
  param,
  queryOf,
  type Form,
} from './adminPage';
import { describeCheck } from './connectionTexts';
import { notices } from './pageNotices';
import type { ProfilePages } from './profilePages';

/** The connections list, and testing or revoking one connection. */
export class ConnectionPages extends AdminPage {
  constructor(
    ctx: AdminContext,
    /** A test's verdict is shown on its profile's page. */
    private readonly profiles: ProfilePages,
  ) {
    super(ctx);
  }

  private async connectionOr404(req: Request) {
    const id = param(req, 'id');
    const connection = OPAQUE_ID.test(id) ? await this.engine.connectionById(id) : null;
    if (!connection)
      throw new HttpProblem(404, 'No such connection', 'That connection does not exist (any more).');
    return connection;
  }

  async testConnection(req: Request, res: Response, session: Session): Promise<void> {
    if (session.role !== 'admin') {
      this.forbidden(res, session, 'Only an admin may test connections.');
      return;
    }
    const connection = await this.connectionOr404(req);
    const check = await this.engine.checkConnection(connection.id, this.ctx.fetch);
    if (!check)
      throw new HttpProblem(404, 'No such connection', 'That connection does not exist (any more).');
    const profile = await this.engine.findProfile(connection.profileId);
    if (!profile) {
      this.message(res, 200, 'Test connection', describeCheck(check), session);
      return;
    }
    await this.profiles.renderProfile(res, session, profile, new URLSearchParams(), check);
  }

  async revokeConnection(req: Request, res: Response, session: Session, form: Form): Promise<void> {
    const connection = await this.connectionOr404(req);
    if (
      session.role !== 'admin' &&
      (connection.subjectKey === 'org' || this.engine.isBundledProfile(connection.profileId))
    ) {
      this.forbidden(res, session, 'A developer may revoke user connections of custom profiles only.');
      return;
    }
    const outcome = await this.engine.revokeById(connection.id, session.name);
    const done = `revoked=1&provider=${outcome.revokedAtProvider ? 1 : 0}`;
    this.redirect(
      res,
      form.get('back') === 'profile'
        ? `/admin/profiles/${encodeURIComponent(connection.profileId)}?${done}`
        : `/admin/connections?${done}`,
    );
  }

  async connectionsPage(req: Request, res: Response, session: Session): Promise<void> {
    const isAdmin = session.role === 'admin';
    const query = queryOf(req);
    const profileId = query.get('profile') ?? '';
    const status = query.get('status') ?? '';
    const subject = query.get('subject') ?? '';
    const after = query.get('after') ?? '';
    const filter: ConnectionFilter = {};
    if (isProfileId(profileId)) filter.profileId = profileId;
    if ((CONNECTION_STATUSES as readonly string[]).includes(status))
      filter.status = status as ConnectionStatus;
    if (!isAdmin) filter.subjectKind = 'user';
    else if (subject === 'org' || subject === 'user') filter.subjectKind = subject;
    const page = await this.engine.listConnections(filter, {
      limit: PAGE_SIZE + 1,
      ...(OPAQUE_ID.test(after) ? { after } : {}),
    });
    const shown = page.slice(0, PAGE_SIZE);
    const next = page.length > PAGE_SIZE ? shown[shown.length - 1]?.id : undefined;
    const profiles = await this.engine.listProfiles();
    const names = new Map(profiles.map((profile) => [profile.id, profile.displayName]));
    const nextQuery = new URLSearchParams();
    if (filter.profileId) nextQuery.set('profile', filter.profileId);
    if (filter.status) nextQuery.set('status', filter.status);
    if (isAdmin && filter.subjectKind) nextQuery.set('subject', filter.subjectKind);
    if (next) nextQuery.set('after', next);
    sendPage(res, 200, 'admin-connections', {
      title: 'Connections',
      me: this.me(session),
      notices: notices(query),
      filters: {
        profiles: profiles.map((profile) => ({
          value: profile.id,
          label: profile.displayName,
          selected: profile.id === filter.profileId,
        })),
        statuses: CONNECTION_STATUSES.map((value) => ({
          value,
          label: value,
          selected: value === filter.status,
        })),
        subjects: isAdmin
          ? [
              { value: 'org', label: 'organisation', selected: filter.subjectKind === 'org' },
              { value: 'user', label: 'users', selected: filter.subjectKind === 'user' },
            ]
          : undefined,
      },
      rows: shown.map((connection) => {
        const system = this.engine.isBundledProfile(connection.profileId);
        return {
          ...connection,
          profileName: names.get(connection.profileId) ?? connection.profileId,
          // A named connection (issue 10 point 3) shows its name: `organisation (ops)`.
          subject: `${connection.subjectKey === 'org' ? 'organisation' : connection.subjectKey}${
            connection.name ? ` (${connection.name})` : ''
          }`,
          statusText: `${
            connection.status === 'needs-reauthorization' && connection.subjectKey === 'org'
              ? 'needs an admin to reconnect'
              : connection.status
          }${connection.unreadable ? ` (${describeUnreadable(connection.unreadable)})` : ''}`,
          scopes: connection.scopes.join(' '),
          expires: `${formatTime(connection.expiresAt)}${connection.expiresAtEstimated ? ' (estimated)' : ''}`,
          updated: formatTime(connection.updatedAt),
          canRevoke: isAdmin || (connection.subjectKey !== 'org' && !system),
          canTest: isAdmin,
        };
      }),
      nextHref: next ? `/admin/connections?${nextQuery.toString()}` : undefined,
      firstHref: after ? '/admin/connections' : undefined,
    });
  }
}
