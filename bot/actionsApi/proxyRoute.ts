import type { Request, Response, Server } from 'restify';
import { z } from 'zod';
import type { AuthorizationEngine } from '../../profiles';
import type { Logger } from '../logger';
import { fieldIssues } from '../tokenService/requests';
import { callerLabel, type ActionCallerAuthenticator } from './actionCaller';
import { auditCall, failureOf } from './callRecords';
import { connectionTarget, selectionFields, usableProfile, type Selection } from './connectionTarget';
import { callerResponseHeaders, upstreamRequestHeaders } from './proxyHeaders';
import { decodedBody, readProxyRequestBody } from './proxyBody';
import { proxyExchange, type ProxyMethod } from './proxyExchange';
import { PROXY_PREFIX, proxyTargetOf } from './proxyPath';
import { ApiError, sendError } from './responses';
import { redactTokenBytes } from '../../profiles';

/**
 * The token-injecting proxy (issue 11 point 4): `/api/proxy/<profileId>/<path>` is sent to the
 * connection's API base + `<path>` + the query, with `Authorization: <token type> <token>`; the caller
 * never receives the token (SECURITY.md, proxy rows). Which connection: the `X-AuthProfiles-*` headers
 * (connectionTarget.ts). The provider's answer is passed back (status, allow-listed headers, body with
 * the token redacted); the proxy's own refusals are JSON errors with `X-AuthProfiles-Error`.
 */

export const SELECTION_HEADERS = {
  userId: 'x-authprofiles-user-id',
  channelId: 'x-authprofiles-channel-id',
  connectionId: 'x-authprofiles-connection-id',
  account: 'x-authprofiles-account',
} as const satisfies Record<keyof Selection, string>;

const METHODS: readonly ProxyMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

const selectionSchema = z.object(selectionFields);

export interface ProxyOptions {
  engine: AuthorizationEngine;
  authenticate: ActionCallerAuthenticator;
  log: Logger;
}

export function registerProxy(server: Server, options: ProxyOptions): void {
  const handler = async (req: Request, res: Response): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase() as ProxyMethod;
    let label = 'unauthenticated';
    try {
      const caller = await options.authenticate(req);
      label = callerLabel(caller);
      const target = proxyTargetOf(req);
      const profile = await usableProfile(options.engine, target.profileId);
      const connection = await connectionTarget(options.engine, caller, profile, selectionOf(req));
      const body = await readProxyRequestBody(req);
      const answer = await proxyExchange(options.engine, connection, {
        method,
        target,
        headers: upstreamRequestHeaders(req.headers),
        ...(body === undefined ? {} : { body }),
      });
      const plain = decodedBody(answer.body, answer.headers.get('content-encoding'));
      if (plain === null) {
        throw new ApiError(
          502,
          'upstream-bad-response',
          `${profile.displayName} answered with a body this proxy cannot decode (Content-Encoding)`,
        );
      }
      const safe = method === 'HEAD' ? Buffer.alloc(0) : redactTokenBytes(plain, answer.token);
      res.writeHead(answer.status, {
        ...callerResponseHeaders(answer.headers, answer.token),
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        // The provider's content is served from this service's origin: never as an active document.
        'Content-Security-Policy': "default-src 'none'; sandbox",
        'Content-Length': String(method === 'HEAD' ? plain.length : safe.length),
      });
      res.end(method === 'HEAD' ? undefined : safe);
      if (caller.kind === 'admin') {
        await auditCall(options.engine, caller, connection, {
          action: 'proxy.called',
          what: { method, path: target.path || '/', status: answer.status },
        });
      }
      options.log.info(
        { caller: label, profileId: profile.id, method, status: answer.status },
        'proxy: call passed',
      );
    } catch (error) {
      const refusal = failureOf(error, options.log, { caller: label, surface: 'proxy' });
      sendError(res, refusal);
    }
  };
  for (const path of [`${PROXY_PREFIX}:profileId`, `${PROXY_PREFIX}:profileId/*`]) {
    for (const method of METHODS) {
      switch (method) {
        case 'GET':
          server.get(path, handler);
          break;
        case 'HEAD':
          server.head(path, handler);
          break;
        case 'POST':
          server.post(path, handler);
          break;
        case 'PUT':
          server.put(path, handler);
          break;
        case 'PATCH':
          server.patch(path, handler);
          break;
        case 'DELETE':
          server.del(path, handler);
          break;
      }
    }
  }
}

/** The selection headers, each at most once; 400 naming the header at fault. */
function selectionOf(req: Request): Selection {
  const values: Record<string, string> = {};
  const issues: { path: string; message: string }[] = [];
  for (const [field, header] of Object.entries(SELECTION_HEADERS)) {
    // headersDistinct: node joins a repeated header into one value in `headers`.
    const given = req.headersDistinct[header];
    if (given && given.length > 1) issues.push({ path: header, message: 'must be given once' });
    else if (given?.[0] !== undefined) values[field] = given[0];
  }
  const parsed = selectionSchema.safeParse(values);
  if (!parsed.success) {
    const byField = Object.fromEntries(Object.entries(SELECTION_HEADERS));
    for (const issue of fieldIssues(parsed.error)) {
      issues.push({ path: byField[issue.path] ?? issue.path, message: issue.message });
    }
  }
  if (issues.length > 0 || !parsed.success) {
    const summary = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    throw new ApiError(400, 'invalid-request', `invalid header: ${summary}`, issues);
  }
  return parsed.data;
}
