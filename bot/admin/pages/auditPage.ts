import type { Request, Response } from 'restify';
import type { AuditEntry } from '../../../profiles';
import type { Session } from '../adminSessions';
import { sendPage } from '../adminViews';
import { AdminPage, formatTime, OPAQUE_ID, PAGE_SIZE, queryOf } from './adminPage';

/** One audit entry as the pages show it: names and codes only, never a secret. */
export function auditRow(entry: AuditEntry) {
  return {
    at: formatTime(entry.at),
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    details: Object.entries(entry.details)
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(' · '),
  };
}

/** The audit log (`/admin/audit`), newest first, for admins. */
export class AuditPage extends AdminPage {
  async auditPage(req: Request, res: Response, session: Session): Promise<void> {
    if (session.role !== 'admin') {
      this.forbidden(res, session, 'The audit log is for admins.');
      return;
    }
    const query = queryOf(req);
    const before = query.get('before') ?? '';
    const target = query.get('target') ?? '';
    const validTarget = /^[a-z-]{1,30}:[A-Za-z0-9_:.%-]{1,300}$/.test(target) ? target : undefined;
    const page = await this.engine.listAudit({
      limit: PAGE_SIZE + 1,
      ...(OPAQUE_ID.test(before) ? { before } : {}),
      ...(validTarget ? { target: validTarget } : {}),
    });
    const shown = page.slice(0, PAGE_SIZE);
    const last = page.length > PAGE_SIZE ? shown[shown.length - 1]?.id : undefined;
    const nextQuery = new URLSearchParams();
    if (validTarget) nextQuery.set('target', validTarget);
    if (last) nextQuery.set('before', last);
    sendPage(res, 200, 'admin-audit', {
      title: 'Audit log',
      me: this.me(session),
      target: validTarget,
      rows: shown.map((entry) => auditRow(entry)),
      olderHref: last ? `/admin/audit?${nextQuery.toString()}` : undefined,
      newestHref: before
        ? `/admin/audit${validTarget ? `?target=${encodeURIComponent(validTarget)}` : ''}`
        : undefined,
    });
  }
}
