import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { TokenServiceError } from './tokenServiceError';

/**
 * Who is calling the token service. Each calling bot is identified (issue 9): in production by the
 * bearer token its adapter sends (botframework-connector signs every token-API request with a token
 * from the bot's Microsoft Entra app registration for `https://api.botframework.com`), verified
 * against the issuer's keys, issuer, audience and an allow-list of app ids. In dev only, a call
 * without a token is accepted from loopback as the anonymous local bot.
 */

export interface TokenServiceCaller {
  /** App id of the calling bot; `''` for the anonymous local bot (dev, loopback). */
  appId: string;
  anonymous: boolean;
}

export interface CallerAuthenticationSettings {
  allowedAppIds: readonly string[];
  issuers: readonly string[];
  audience: string;
  jwksUrl: string;
  /** Dev mode: calls without a token from 127.0.0.0/8 or ::1 are the anonymous local bot. */
  allowAnonymousLoopback: boolean;
}

export type CallerAuthenticator = (req: IncomingMessage) => Promise<TokenServiceCaller>;

export function createCallerAuthenticator(settings: CallerAuthenticationSettings): CallerAuthenticator {
  const allowed = new Set(settings.allowedAppIds);
  // jose caches the key set and refetches it (at most every 30 s) when a token names an unknown key.
  const keys = createRemoteJWKSet(new URL(settings.jwksUrl), {
    timeoutDuration: 5000,
    cooldownDuration: 30_000,
  });
  return async (req) => {
    const header = req.headers.authorization;
    if (!header) {
      if (settings.allowAnonymousLoopback && isLoopback(req.socket.remoteAddress)) {
        return { appId: '', anonymous: true };
      }
      throw unauthenticated("a bearer token from the bot's Microsoft Entra app registration is required");
    }
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
    if (!match) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1] as string, keys, {
        issuer: [...settings.issuers],
        audience: settings.audience,
        algorithms: ['RS256'],
        // botframework-connector allows the same 5 minutes of clock skew for bot tokens.
        clockTolerance: 300,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw unauthenticated(`the bearer token is not valid (${reasonOf(error)})`);
    }
    // Entra v1 tokens name the app in `appid`, v2 tokens in `azp` (as botframework-connector's
    // emulator validation reads them).
    const appId = payload.ver === '2.0' ? payload.azp : payload.appid;
    if (typeof appId !== 'string' || appId.length === 0) {
      throw unauthenticated('the bearer token names no app (appid or azp claim)');
    }
    if (!allowed.has(appId)) {
      throw new TokenServiceError(
        403,
        'bot-not-allowed',
        `the bot "${appId}" may not use this token service (add it to TOKEN_SERVICE_ALLOWED_APP_IDS)`,
      );
    }
    return { appId, anonymous: false };
  };
}

function unauthenticated(message: string): TokenServiceError {
  return new TokenServiceError(401, 'unauthenticated', message);
}

/** A stable reason without any part of the token: jose's error code, or the failed claim. */
function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'claim "exp": expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim "${error.claim}" ${error.reason}`;
  if (error instanceof joseErrors.JOSEError) return error.code;
  return 'keys unavailable';
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}
