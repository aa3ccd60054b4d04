import restify, { type Request, type Response, type Server } from 'restify';
import { isAuthProfilesError, type AuthorizationEngine } from '../../profiles';
import type { Logger } from '../logger';
import type { CallerAuthenticator, TokenServiceCaller } from './callerAuthentication';
import { decodeExchangeState } from './exchangeState';
import {
  aadTokensBody,
  exchangeBody,
  getTokenQuery,
  parseBody,
  parseQuery,
  signInQuery,
  signOutQuery,
  tokenStatusQuery,
  userConnectionQuery,
} from './requests';
import { sendJson, sendNoToken, sendServiceError, TokenServiceError, unexpectedError } from './responses';
import { tokenOrSignInResource } from './tokenOrSignInResource';
import { UserTokens } from './userTokens';

/**
 * The Bot Framework user-token API (DESIGN flow 4) at the paths botframework-connector's
 * `tokenApi` calls, so a bot whose `OAuthUrl` points here signs users in through this service's
 * profiles (connectionName = profile id). Each caller is authenticated first (callerAuthentication.ts).
 */

export interface TokenServiceOptions {
  engine: AuthorizationEngine;
  authenticate: CallerAuthenticator;
  log: Logger;
}

type Handler = (call: {
  req: Request;
  res: Response;
  caller: TokenServiceCaller;
  query: string;
}) => Promise<void>;

export function registerTokenService(server: Server, options: TokenServiceOptions): void {
  const tokens = new UserTokens(options.engine, options.log);
  const body = restify.plugins.bodyParser({ maxBodySize: 64 * 1024, mapParams: false });

  const handle =
    (handler: Handler) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        const caller = await options.authenticate(req);
        await handler({ req, res, caller, query: rawQuery(req) });
      } catch (error) {
        sendServiceError(res, asServiceError(error, options.log, req));
      }
    };

  server.get(
    '/api/usertoken/GetToken',
    handle(async ({ res, caller, query }) => {
      const token = await tokens.getToken(caller, parseQuery(query, getTokenQuery));
      if (token) sendJson(res, 200, token);
      else sendNoToken(res);
    }),
  );

  server.get(
    '/api/botsignin/GetSignInResource',
    handle(async ({ res, caller, query }) => {
      const { state } = parseQuery(query, signInQuery);
      const signInLink = await tokens.signInLink(caller, decodeExchangeState(state));
      // No tokenExchangeResource: profiles cannot do single sign-on (see UserTokens.unsupported).
      sendJson(res, 200, { signInLink });
    }),
  );

  server.get(
    '/api/botsignin/GetSignInUrl',
    handle(async ({ res, caller, query }) => {
      const { state } = parseQuery(query, signInQuery);
      sendJson(res, 200, await tokens.signInLink(caller, decodeExchangeState(state)));
    }),
  );

  server.get(
    '/api/usertoken/GetTokenOrSignInResource',
    handle(async ({ res, caller, query }) => {
      sendJson(res, 200, await tokenOrSignInResource(tokens, caller, query));
    }),
  );

  server.del(
    '/api/usertoken/SignOut',
    handle(async ({ res, caller, query }) => {
      await tokens.signOut(caller, parseQuery(query, signOutQuery));
      // 200, not 204: the Agents SDK's UserTokenClient.signOut throws on any other status.
      sendJson(res, 200, {});
    }),
  );

  server.get(
    '/api/usertoken/GetTokenStatus',
    handle(async ({ res, caller, query }) => {
      sendJson(res, 200, await tokens.tokenStatus(caller, parseQuery(query, tokenStatusQuery)));
    }),
  );

  server.post(
    '/api/usertoken/exchange',
    body,
    handle(async ({ req, query }) => {
      const target = parseQuery(query, userConnectionQuery);
      parseBody(req.body, exchangeBody);
      throw await tokens.unsupported(target, 'exchange');
    }),
  );

  server.post(
    '/api/usertoken/GetAadTokens',
    body,
    handle(async ({ req, query }) => {
      const target = parseQuery(query, userConnectionQuery);
      parseBody(req.body, aadTokensBody);
      throw await tokens.unsupported(target, 'aad-tokens');
    }),
  );
}

function rawQuery(req: Request): string {
  const url = req.url ?? '';
  const index = url.indexOf('?');
  return index < 0 ? '' : url.slice(index + 1);
}

function asServiceError(error: unknown, log: Logger, req: Request): TokenServiceError {
  if (error instanceof TokenServiceError) {
    if (error.status === 401 || error.status === 403) {
      log.warn(
        { path: req.path(), errorCode: error.code, reason: error.message },
        'token service: caller refused',
      );
    }
    return error;
  }
  if (isAuthProfilesError(error, 'store-unavailable')) {
    return new TokenServiceError(503, error.code, 'the token service cannot reach its store; try again');
  }
  log.error({ err: error, path: req.path() }, 'token service: unexpected error');
  return unexpectedError();
}
