// The two browser routes a bot that embeds the engine serves: the sign-in link (`/oauth/start/{id}`, which
// binds the browser with a cookie and redirects to the provider) and the provider's redirect
// (`/oauth/callback/{profileId}`, which completes the sign-in, shows a page and resumes the dialog).
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import type { CloudAdapter } from 'botbuilder';
import type { Request, Response, Server } from 'restify';
import {
  AUTHORIZATION_REQUEST_ID,
  type AuthorizationEngine,
  isAuthProfilesError,
  isProfileId,
  signinPageSentence,
  signinPageTitle,
} from 'authprofiles';
import { resumeSignin } from 'authprofiles/dialogs';
import type { ProfileBot } from './profileBot';

const COOKIE = 'example_signin_binding';

export function registerSigninRoutes(
  server: Server,
  options: { engine: AuthorizationEngine; adapter: CloudAdapter; appId: string; bot: ProfileBot },
): void {
  const { engine } = options;

  server.get('/oauth/start/:requestId', async (req: Request, res: Response) => {
    const requestId = String(req.params.requestId ?? '');
    try {
      if (!AUTHORIZATION_REQUEST_ID.test(requestId)) return page(res, 400, 'This sign-in link is not valid.');
      // Organisation connections are made by an admin, not from a chat link.
      if ((await engine.signinRequest(requestId))?.subjectKey === 'org') {
        return page(res, 403, 'Organisation connections are made by an admin.');
      }
      const started = await engine.startAuthorization(requestId, binding(req));
      res.writeHead(302, {
        location: started.redirectUrl,
        'set-cookie': serializeCookie(COOKIE, started.binding, {
          httpOnly: true,
          sameSite: 'lax',
          path: '/oauth/',
        }),
      });
      res.end();
    } catch (error) {
      failed(res, error);
    }
  });

  server.get('/oauth/callback/:profileId', async (req: Request, res: Response) => {
    const profileId = String(req.params.profileId ?? '');
    if (!isProfileId(profileId)) return page(res, 400, 'This sign-in callback is not valid.');
    const url = req.url ?? '';
    let outcome;
    try {
      outcome = await engine.completeCallback({
        profileId,
        query: url.includes('?') ? url.slice(url.indexOf('?') + 1) : '',
        browserBinding: binding(req),
      });
    } catch (error) {
      return failed(res, error);
    }
    const name = outcome.profile.displayName;
    if (outcome.kind === 'pending-verification') {
      // The code the user types in the chat (SECURITY.md #9): the link alone connects nobody.
      page(
        res,
        200,
        `Type this code in the chat to finish signing in to ${name}: ${outcome.verificationCode}`,
      );
    } else if (outcome.kind === 'connected') {
      page(res, 200, `You are signed in to ${name}. You can close this page.`);
    } else {
      page(res, 200, `The sign-in to ${name} did not complete.`);
    }
    // Resume the waiting dialog in its conversation (the reference travelled with the request).
    await resumeSignin(options.adapter, options.appId, outcome, (context) => options.bot.run(context));
  });
}

function binding(req: Request): string | undefined {
  return parseCookies(req.headers.cookie ?? '')[COOKIE];
}

function failed(res: Response, error: unknown): void {
  if (!isAuthProfilesError(error)) {
    page(res, 500, 'Something went wrong.');
    return;
  }
  // Titles and sentences from the engine's catalogue: they never carry a code, token or secret.
  page(
    res,
    error.status >= 500 ? 502 : error.status,
    `${signinPageTitle(error.code)}. ${signinPageSentence(error.code) ?? ''}`,
  );
}

function page(res: Response, status: number, text: string): void {
  const escaped = text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><title>Sign-in</title><p id="message">${escaped}</p>`);
}
