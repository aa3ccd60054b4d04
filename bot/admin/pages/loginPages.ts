import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import type { Request, Response } from 'restify';
import { randomToken, safeEqual, sha256, TooManyAttemptsError } from '../../../profiles';
import { clientAddress } from '../adminContext';
import type { Session } from '../adminSessions';
import { sendPage } from '../adminViews';
import { authorizationPath, continuation, header, queryOf } from './adminPage';
import { PageRequests } from './pageRequests';

const LOGIN_COOKIE = 'authprofiles_admin_login';
const LOGIN_TOKEN_TTL_S = 3600;

/**
 * Sign-in with an admin key (a form POST covered by a double-submit token, cookie + field, and the same
 * origin checks as every action) starts a session; failed sign-ins are throttled (SECURITY.md #46).
 */
export class LoginPages extends PageRequests {
  private loginCookieHeader(value: string, maxAgeSeconds: number): string {
    return serializeCookie(LOGIN_COOKIE, value, {
      httpOnly: true,
      secure: this.secure,
      sameSite: 'strict',
      path: '/admin/login',
      maxAge: maxAgeSeconds,
    });
  }

  async loginPage(req: Request, res: Response): Promise<void> {
    const authorization = continuation(queryOf(req).get('authorization'));
    if (await this.loadSession(req)) {
      this.redirect(res, authorization ? authorizationPath(authorization) : '/admin/profiles');
      return;
    }
    this.renderLogin(res, 200, undefined, authorization);
  }

  private renderLogin(
    res: Response,
    status: number,
    error: string | undefined,
    authorization?: string,
    headers: Record<string, string> = {},
  ): void {
    const token = randomToken(32);
    sendPage(
      res,
      status,
      'admin-login',
      {
        title: 'Admin sign-in',
        loginToken: token,
        error,
        authorization,
        forAuthorization: authorization !== undefined,
      },
      {
        ...headers,
        'Set-Cookie': this.loginCookieHeader(token, LOGIN_TOKEN_TTL_S),
      },
    );
  }

  async login(req: Request, res: Response): Promise<void> {
    if (!this.sameOrigin(req)) {
      this.renderLogin(res, 403, 'This sign-in did not come from this site. Please sign in here.');
      return;
    }
    const form = await this.readForm(req, res, undefined);
    if (!form) return;
    const authorization = continuation(form.get('authorization'));
    const cookieToken = parseCookies(header(req, 'cookie') ?? '')[LOGIN_COOKIE] ?? '';
    const formToken = form.get('_login') ?? '';
    if (cookieToken === '' || !safeEqual(sha256(cookieToken), sha256(formToken))) {
      this.renderLogin(res, 403, 'The sign-in form expired. Please try again.', authorization);
      return;
    }
    let principal;
    try {
      principal = await this.ctx.keys.authenticate(
        (form.get('key') ?? '').trim(),
        clientAddress(req, this.ctx.trustedProxyHops),
      );
    } catch (error) {
      if (!(error instanceof TooManyAttemptsError)) throw error;
      this.renderLogin(
        res,
        429,
        `Too many keys were refused. Try again in ${error.retryAfterSeconds} second${error.retryAfterSeconds === 1 ? '' : 's'}.`,
        authorization,
        { 'Retry-After': String(error.retryAfterSeconds) },
      );
      return;
    }
    if (!principal) {
      // No fixed delay: the throttle (per client and overall, with backoff) is what slows guessing.
      this.ctx.log.warn({ event: 'admin-login-failed' }, 'admin sign-in refused');
      this.renderLogin(res, 401, 'That key was not accepted.', authorization);
      return;
    }
    // A fresh id at every sign-in (no fixation); an earlier session of this browser ends.
    const previous = await this.loadSession(req);
    if (previous) await this.sessions.end(previous);
    const cookies = await this.sessions.create(principal);
    this.ctx.log.info({ actor: principal.name, event: 'admin-login' }, 'admin signed in');
    // On to a pre-authorization this browser was sent to sign in for (its page checks the key).
    this.redirect(res, authorization ? authorizationPath(authorization) : '/admin/profiles', {
      'Set-Cookie': [...cookies, this.loginCookieHeader('', 0)],
    });
  }

  async logout(_req: Request, res: Response, session: Session): Promise<void> {
    const cookies = await this.sessions.end(session);
    this.redirect(res, '/admin/login', { 'Set-Cookie': cookies });
  }
}
