import type { Request, Response } from 'restify';
import { isAuthProfilesError, safeEqual, sha256 } from '../../../profiles';
import { readBodyText } from '../../http/requestBody';
import type { AdminContext } from '../adminContext';
import { AdminSessions, type Session } from '../adminSessions';
import { sendPage } from '../adminViews';
import { AdminPage, header, HttpProblem, type Form } from './adminPage';

// A profile form carries its actions as JSON (issue 11), up to the admin API's 64 KiB body, which
// URL-encoding can make three times longer; past this a form is refused and its text lost.
export const MAX_FORM_BYTES = 192 * 1024;
const DRAIN_LIMIT_BYTES = 1024 * 1024;

export type PageHandler = (req: Request, res: Response, session: Session) => Promise<void>;
export type ActionHandler = (req: Request, res: Response, session: Session, form: Form) => Promise<void>;

/**
 * What stands between a request and a page: errors become message pages, a page needs a session, and
 * an action (every POST) also needs this origin, a form this size and the session's CSRF token.
 */
export class PageRequests extends AdminPage {
  protected readonly secure: boolean;
  protected readonly sessions: AdminSessions;
  private readonly allowedOrigin: string;

  constructor(ctx: AdminContext) {
    super(ctx);
    this.secure = ctx.secureCookies;
    this.sessions = new AdminSessions(ctx);
    this.allowedOrigin = new URL(ctx.publicUrl).origin;
  }

  guard(handler: (req: Request, res: Response) => Promise<void>) {
    return async (req: Request, res: Response): Promise<void> => {
      try {
        await handler(req, res);
      } catch (error) {
        if (error instanceof HttpProblem) {
          this.message(res, error.status, error.title, error.message, undefined);
          return;
        }
        this.ctx.log.error(
          { err: error, path: (req.url ?? '').split('?')[0], errorCode: (error as { code?: string }).code },
          'admin page failed',
        );
        if (!res.headersSent) {
          const status = isAuthProfilesError(error, 'store-unavailable') ? 503 : 500;
          this.message(
            res,
            status,
            'Something went wrong',
            'The page could not be shown. Reload to try again.',
            undefined,
          );
        }
      }
    };
  }

  async withSession(req: Request, res: Response, handler: PageHandler): Promise<void> {
    const session = await this.loadSession(req);
    if (!session) {
      this.toLogin(req, res);
      return;
    }
    await handler(req, res, session);
  }

  async withAction(req: Request, res: Response, handler: ActionHandler): Promise<void> {
    const session = await this.loadSession(req);
    if (!session) {
      this.redirect(res, '/admin/login');
      return;
    }
    if (!this.sameOrigin(req)) {
      this.forbidden(res, session, 'This form did not come from the admin pages. Nothing was changed.');
      return;
    }
    const form = await this.readForm(req, res, session);
    if (!form) return;
    const token = form.get('_csrf') ?? '';
    if (!safeEqual(sha256(token), sha256(session.csrf))) {
      this.forbidden(
        res,
        session,
        'This form has expired or is not from this session. Reload the page and try again; nothing was changed.',
      );
      return;
    }
    await handler(req, res, session, form);
  }

  /**
   * A browser arriving from another site (the provider's redirect after a pre-authorization) does
   * not send the SameSite=Strict cookie; a same-origin hop (a link that our script follows) does.
   */
  private toLogin(req: Request, res: Response): void {
    const path = req.url ?? '/admin';
    if (
      req.method === 'GET' &&
      header(req, 'sec-fetch-site') === 'cross-site' &&
      /^\/admin(?:[/?]|$)/.test(path)
    ) {
      sendPage(res, 200, 'admin-continue', {
        title: 'Continue',
        heading: 'Back to the admin pages',
        linkText: 'Continue',
        href: path,
      });
      return;
    }
    this.redirect(res, '/admin/login');
  }

  /**
   * `Sec-Fetch-Site` and `Origin`, when the browser sends them, must say "this site". Under
   * `Referrer-Policy: no-referrer` (PAGE_HEADERS) browsers send `Origin: null` on form posts, so a
   * null origin carries no information and the verdict rests on `Sec-Fetch-Site` and the token.
   */
  protected sameOrigin(req: Request): boolean {
    const site = header(req, 'sec-fetch-site');
    if (site !== undefined && site !== 'same-origin') return false;
    const origin = header(req, 'origin');
    if (origin === undefined || origin === 'null') return true;
    if (origin === this.allowedOrigin) return true;
    const host = header(req, 'host');
    return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
  }

  protected async readForm(
    req: Request,
    res: Response,
    session: Session | undefined,
  ): Promise<Form | undefined> {
    const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      this.message(
        res,
        415,
        'Unsupported form',
        'Forms must be sent as application/x-www-form-urlencoded.',
        session,
      );
      return undefined;
    }
    const body = await readBodyText(req, { maxBytes: MAX_FORM_BYTES, drainLimitBytes: DRAIN_LIMIT_BYTES });
    if (!body.ok && body.problem === 'too-large') {
      res.setHeader('Connection', 'close');
      this.message(
        res,
        413,
        'Form too large',
        `A form may hold at most ${MAX_FORM_BYTES / 1024} KiB.`,
        session,
      );
      return undefined;
    }
    if (!body.ok) {
      this.message(res, 400, 'Invalid form', 'The form is not valid UTF-8.', session);
      return undefined;
    }
    const text = body.value;
    const form: Form = new Map();
    for (const [name, value] of new URLSearchParams(text)) {
      if (form.has(name)) {
        this.message(res, 400, 'Invalid form', `The field "${name}" was sent twice.`, session);
        return undefined;
      }
      form.set(name, value);
    }
    return form;
  }

  protected loadSession(req: Request): Promise<Session | null> {
    return this.sessions.load(req);
  }
}
