import type { Server } from 'restify';
import type { AdminKeys, AuthorizationEngine } from '../../profiles';
import type { Logger } from '../logger';
import type { CallerAuthenticator } from '../tokenService/callerAuthentication';
import { createActionCallerAuthenticator } from './actionCaller';
import { registerExecuteApi } from './executeRoutes';
import { registerProxy } from './proxyRoute';

export { keepRawTarget } from './proxyPath';

/**
 * The execute API (`/api/actions`) and the token-injecting proxy (`/api/proxy`), issue 11 point 4:
 * callers are bots (as the token service authenticates them) or admin keys (actionCaller.ts).
 * bot/app.ts must also register `keepRawTarget` as a `pre` handler before dedupeSlashes (proxyPath.ts).
 */
export interface ActionsApiOptions {
  engine: AuthorizationEngine;
  bots: CallerAuthenticator;
  keys: AdminKeys;
  trustedProxyHops: number;
  log: Logger;
}

export function registerActionsApi(server: Server, options: ActionsApiOptions): void {
  const authenticate = createActionCallerAuthenticator({
    bots: options.bots,
    keys: options.keys,
    trustedProxyHops: options.trustedProxyHops,
  });
  registerExecuteApi(server, { engine: options.engine, authenticate, log: options.log });
  registerProxy(server, { engine: options.engine, authenticate, log: options.log });
}
