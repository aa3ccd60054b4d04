import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import type { Request, Response, Server } from 'restify';
import type { SigninEventValue } from '../../dialogs/dialogServices';
import {
  AUTHORIZATION_REQUEST_ID,
  type AuthorizationEngine,
  AuthProfilesError,
  type CallbackOutcome,
  isAuthProfilesError,
  isProfileId,
  signinPageAdvice,
  signinPageSentence,
  signinPageTitle,
  type SigninRequest,
  UNEXPECTED_FAILURE_PAGE,
} from '../../profiles';
import type { Logger } from '../logger';
import { PAGE_HEADERS, sendErrorPage, sendPage, type ErrorPage } from './pages';
import type { SigninResumer } from './signinResumer';

/**
 * `GET /oauth/start/:requestId` binds the browser and redirects to the provider (an organisation
 * request only for a browser signed in to the admin pages with the key that started it, SECURITY.md #44);
 * `GET /oauth/callback/:profileId` completes the flow, shows a page, resumes the conversation.
 * Only the path parameter and the raw query are read: no `returnUrl` or forwarded host is ever
 * used (SECURITY.md #11, #13), and no page echoes the code or state (SECURITY.md #12).
 */

export const BINDING_COOKIE = 'authprofiles_binding';
/** On https the `__Host-` prefix stops a sibling subdomain from planting a binding of its choice. */
export const SECURE_BINDING_COOKIE = '__Host-authprofiles_binding';

/**
 * Decides whether `/oauth/start` may go on for an organisation request; when not, it has answered.
 * The admin surface provides it (bot/admin/organizationGate.ts); composition passes it in.
 */
export type OrganizationGate = (req: Request, res: Response, request: SigninRequest) => Promise<boolean>;

export interface OAuthRouteOptions {
  engine: AuthorizationEngine;
  resumer: SigninResumer;
  publicUrl: string;
  log: Logger;
  /** Where an admin's pre-authorization lands after the callback. */
  adminResultUrl: (profileId: string, outcome: CallbackOutcome['kind']) => string;
  /**
   * Lets an organisation request go to the provider only for the admin who started it
   * (bot/admin/organizationGate.ts, SECURITY.md #44). Without one, organisation requests are refused.
   */
  organizationGate?: OrganizationGate;
}

export function registerOAuthRoutes(server: Server, options: OAuthRouteOptions): void {
  const secure = options.publicUrl.startsWith('https://');
  const cookieName = secure ? SECURE_BINDING_COOKIE : BINDING_COOKIE;

  server.get('/oauth/start/:requestId', async (req: Request, res: Response) => {
    const requestId = String(req.params.requestId ?? '');
    if (!AUTHORIZATION_REQUEST_ID.test(requestId)) {
      sendErrorPage(res, {
        status: 400,
        title: 'Invalid sign-in link',
        message: 'This sign-in link is not valid. Ask the bot for a new one.',
      });
      return;
    }
    try {
      // The gate sees the request the engine read for the start (one read): checked before anything is
      // bound to this browser, so a stranger's visit leaves no trace.
      const started = await options.engine.startAuthorization(
        requestId,
        readBinding(req, cookieName),
        async (pending) => {
          if (pending.subjectKey !== 'org') return true;
          if (!options.organizationGate) {
            sendErrorPage(res, {
              status: 403,
              title: 'Admin only',
              message: 'Organisation connections are made from the admin pages.',
            });
            return false;
          }
          return options.organizationGate(req, res, pending);
        },
      );
      if (!started) return;
      // SameSite=Lax: sent on the provider's top-level redirect back to us, not on cross-site subrequests.
      const cookie = serializeCookie(cookieName, started.binding, {
        httpOnly: true,
        secure,
        sameSite: 'lax',
        path: secure ? '/' : '/oauth/',
        maxAge: 24 * 3600,
      });
      res.writeHead(302, { ...PAGE_HEADERS, Location: started.redirectUrl, 'Set-Cookie': cookie });
      res.end();
    } catch (error) {
      sendErrorPage(res, errorPage(error, options.log, 'start'));
    }
  });

  server.get('/oauth/callback/:profileId', async (req: Request, res: Response) => {
    const profileId = String(req.params.profileId ?? '');
    if (!isProfileId(profileId)) {
      sendErrorPage(res, {
        status: 400,
        title: 'Invalid sign-in',
        message: 'This sign-in callback is not valid.',
      });
      return;
    }
    let outcome: CallbackOutcome;
    try {
      outcome = await options.engine.completeCallback({
        profileId,
        query: rawQuery(req),
        browserBinding: readBinding(req, cookieName),
      });
    } catch (error) {
      sendErrorPage(res, errorPage(error, options.log, 'callback'));
      return;
    }
    const context = outcome.request.context;
    if (context.kind === 'admin') {
      res.writeHead(303, { ...PAGE_HEADERS, Location: options.adminResultUrl(profileId, outcome.kind) });
      res.end();
      return;
    }
    if (context.kind === 'consent' && typeof context.redirectUrl === 'string') {
      // A consent another system started (profiles/externalConsents.ts): back to its allow-listed URL
      // with the opaque connection id, or the error code; never a token, code or state (SECURITY.md #34).
      res.writeHead(303, { ...PAGE_HEADERS, Location: consentReturnUrl(context.redirectUrl, outcome) });
      res.end();
      return;
    }
    const name = outcome.profile.displayName;
    switch (outcome.kind) {
      case 'connected':
        sendPage(res, 200, 'connected', { profileName: name });
        break;
      case 'pending-verification':
        sendPage(res, 200, 'verify', {
          profileName: name,
          code: outcome.verificationCode,
          codeSpaced: `${outcome.verificationCode.slice(0, 3)} ${outcome.verificationCode.slice(3)}`,
          minutes: Math.max(1, Math.round((outcome.request.expiresAt - Date.now()) / 60_000)),
        });
        break;
      case 'denied':
        sendPage(res, 200, 'denied', { profileName: name });
        break;
      case 'failed':
        // The request is consumed and the code spent: reloading cannot help, a new link can.
        sendErrorPage(res, { ...errorPage(outcome.error, options.log, 'callback'), retry: false });
        break;
    }
    const value: SigninEventValue = {
      requestId: outcome.request.id,
      outcome: outcome.kind,
      ...(outcome.kind === 'failed' ? { error: outcome.error.code } : {}),
    };
    // After the page is sent: the browser need not wait for the bot's reply.
    await options.resumer.resume(outcome.request, value);
  });
}

function consentReturnUrl(redirectUrl: string, outcome: CallbackOutcome): string {
  const url = new URL(redirectUrl);
  if (outcome.kind === 'connected' || outcome.kind === 'pending-verification') {
    url.searchParams.set('connection_id', outcome.connection.id);
  } else {
    url.searchParams.set('error', outcome.kind === 'denied' ? 'consent-denied' : outcome.error.code);
  }
  return url.href;
}

function readBinding(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  return parseCookies(header)[name];
}

function rawQuery(req: Request): string {
  const url = req.url ?? '';
  const index = url.indexOf('?');
  return index < 0 ? '' : url.slice(index + 1);
}

function errorPage(error: unknown, log: Logger, where: string): ErrorPage {
  if (!isAuthProfilesError(error)) {
    log.error({ err: error, where }, 'unexpected error in the OAuth flow');
    return { status: 500, ...UNEXPECTED_FAILURE_PAGE };
  }
  if (error.code === 'outbound-refused') {
    // The refused host and address are for the operator's log, not for whoever holds the browser
    // (SECURITY.md #42).
    log.warn({ where, errorCode: error.code, refusal: error.message }, 'OAuth flow refused');
    return { status: 502, title: signinPageTitle(error.code), message: signinPageSentence(error.code) ?? '' };
  }
  log.warn(
    {
      where,
      errorCode: error.code,
      providerError: error.provider?.error,
      // Cleaned and bounded by the engine; it is the provider's clue ("nonce required").
      description: error.provider?.description,
    },
    'OAuth flow refused',
  );
  if (error.code === 'store-unavailable') {
    return {
      status: 503,
      title: signinPageTitle(error.code),
      message: signinPageSentence(error.code) ?? '',
      retry: true,
    };
  }
  const status = error.status >= 500 ? 502 : error.status;
  const description = error.provider?.description;
  return {
    status,
    title: signinPageTitle(error.code),
    message: `${sentence(error)}${signinPageAdvice(error.code)}`,
    ...(description ? { detail: description } : {}),
  };
}

function sentence(error: AuthProfilesError): string {
  const text = error.message.charAt(0).toUpperCase() + error.message.slice(1);
  return text.endsWith('.') ? text : `${text}.`;
}
