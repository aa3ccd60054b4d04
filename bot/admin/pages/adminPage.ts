import type { Request, Response } from 'restify';
import { type Actor, AUTHORIZATION_REQUEST_ID, isProfileId, type Profile } from '../../../profiles';
import type { AdminContext } from '../adminContext';
import type { Session } from '../adminSessions';
import { PAGE_HEADERS, sendPage } from '../adminViews';

/** What every admin page renders with: the page headers of SECURITY.md #12, the nav, messages. */
export abstract class AdminPage {
  constructor(protected readonly ctx: AdminContext) {}

  protected get engine() {
    return this.ctx.engine;
  }

  protected redirect(res: Response, location: string, headers: Record<string, string | string[]> = {}): void {
    res.writeHead(303, { ...PAGE_HEADERS, ...headers, Location: location, 'Content-Length': 0 });
    res.end();
  }

  protected message(
    res: Response,
    status: number,
    title: string,
    text: string,
    session: Session | undefined,
  ): void {
    sendPage(res, status, 'admin-message', {
      title,
      message: text,
      me: session ? this.me(session) : undefined,
    });
  }

  protected me(session: Session) {
    return { name: session.name, role: session.role, isAdmin: session.role === 'admin', csrf: session.csrf };
  }

  protected forbidden(res: Response, session: Session, text: string): void {
    this.message(res, 403, 'Not allowed', text, session);
  }

  protected async profileOr404(req: Request): Promise<Profile> {
    const id = param(req, 'id');
    const profile = isProfileId(id) ? await this.engine.findProfile(id) : null;
    if (!profile) throw new HttpProblem(404, 'No such profile', `There is no profile "${id}".`);
    return profile;
  }
}

/** An answer a page handler throws: shown as a message page with this status. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

export type Form = Map<string, string>;

export const PAGE_SIZE = 50;
export { OPAQUE_ID } from '../adminContext';

export function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function queryOf(req: Request): URLSearchParams {
  const url = req.url ?? '';
  const index = url.indexOf('?');
  return new URLSearchParams(index < 0 ? '' : url.slice(index + 1));
}

export function param(req: Request, name: string): string {
  return String((req.params as Record<string, unknown> | undefined)?.[name] ?? '');
}

export function formatTime(ms: number | null): string {
  return ms === null
    ? ''
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, ' UTC');
}

/** A pre-authorization request id to continue after sign-in, when well-formed. */
export function continuation(value: string | null | undefined): string | undefined {
  return value && AUTHORIZATION_REQUEST_ID.test(value) ? value : undefined;
}

export function authorizationPath(requestId: string): string {
  return `/admin/authorizations/${encodeURIComponent(requestId)}`;
}

export function actorOf(session: Session): Actor {
  return { name: session.name, role: session.role };
}
