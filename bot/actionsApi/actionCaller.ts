import type { Request } from 'restify';
import { TooManyAttemptsError, type AdminKeys, type AdminPrincipal } from '../../profiles';
import { bearerKey, clientAddress } from '../admin/adminContext';
import type { CallerAuthenticator, TokenServiceCaller } from '../tokenService/callerAuthentication';
import { TokenServiceError } from '../tokenService/tokenServiceError';
import { ApiError } from './responses';

/**
 * Who calls the execute API or the proxy: a Bot Framework bot, authenticated exactly as the token
 * service authenticates it (bot/tokenService/callerAuthentication.ts: Entra-signed token, allow-list,
 * dev-mode anonymous loopback), or an admin API key with role `admin`, checked and throttled as the
 * admin API checks it (SECURITY.md #46). Both arrive as `Authorization: Bearer …`: a bot's is a JWT
 * (three base64url parts, a JSON header first), an admin key never is (`ap_…`, or an operator's
 * ADMIN_API_KEYS value, which must not look like a JWT). A JWT is never tried as an admin key, so a
 * bot's token is not counted as a failed key attempt and never reaches the key table.
 */

export type ActionCaller =
  { kind: 'bot'; bot: TokenServiceCaller } | { kind: 'admin'; principal: AdminPrincipal };

export interface ActionCallerSettings {
  bots: CallerAuthenticator;
  keys: AdminKeys;
  /** TRUSTED_PROXY_HOPS, to tell clients apart when throttling key guesses (SECURITY.md #46). */
  trustedProxyHops: number;
}

export type ActionCallerAuthenticator = (req: Request) => Promise<ActionCaller>;

const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function createActionCallerAuthenticator(settings: ActionCallerSettings): ActionCallerAuthenticator {
  return async (req) => {
    const key = bearerKey(req);
    if (key === undefined || JWT_SHAPE.test(key)) return botCaller(req, settings.bots);
    return adminCaller(req, key, settings);
  };
}

async function botCaller(req: Request, bots: CallerAuthenticator): Promise<ActionCaller> {
  try {
    return { kind: 'bot', bot: await bots(req) };
  } catch (error) {
    if (!(error instanceof TokenServiceError)) throw error;
    const message =
      error.status === 401 && req.headers.authorization === undefined
        ? 'send a Bot Framework bot token or an admin API key as "Authorization: Bearer <token or key>"'
        : error.message;
    throw new ApiError(
      error.status,
      error.code,
      message,
      [],
      error.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="authprofiles-actions"' } : {},
    );
  }
}

async function adminCaller(req: Request, key: string, settings: ActionCallerSettings): Promise<ActionCaller> {
  let principal: AdminPrincipal | null;
  try {
    principal = await settings.keys.authenticate(key, clientAddress(req, settings.trustedProxyHops));
  } catch (error) {
    if (!(error instanceof TooManyAttemptsError)) throw error;
    throw new ApiError(429, 'too-many-attempts', error.message, [], {
      'Retry-After': String(error.retryAfterSeconds),
    });
  }
  if (!principal) {
    throw new ApiError(401, 'unauthorized', 'the API key is not valid (unknown or revoked)', [], {
      'WWW-Authenticate': 'Bearer realm="authprofiles-actions", error="invalid_token"',
    });
  }
  if (principal.role !== 'admin') {
    throw new ApiError(
      403,
      'forbidden',
      'this needs an admin key: developer keys may not use connection tokens',
    );
  }
  return { kind: 'admin', principal };
}

/** How the audit log and logs name the caller (`admin:<key name>`, `bot:<app id>`). */
export function callerLabel(caller: ActionCaller): string {
  if (caller.kind === 'admin') return caller.principal.name;
  return `bot:${caller.bot.anonymous ? 'anonymous-local' : caller.bot.appId}`;
}
