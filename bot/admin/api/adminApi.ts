import type { Request, Response, Server } from 'restify';
import { AuthProfilesError, isAuthProfilesError, TooManyAttemptsError } from '../../../profiles';
import { bearerKey, clientAddress, type AdminContext, type AdminPrincipal } from '../adminContext';
import { ADMIN_API_BASE, ApiError, forbidden, json, type RouteSpec } from './apiCall';
import { ACCOUNT_ROUTES } from './accountRoutes';
import { ACTION_ROUTES } from './actionRoutes';
import { AUDIT_ROUTES } from './auditRoutes';
import { AUTHORIZATION_ROUTES } from './authorizationRoutes';
import { CONNECTION_ROUTES } from './connectionRoutes';
import { readJsonBody } from './jsonBody';
import { KEY_ROUTES } from './keyRoutes';
import { buildOpenApiDocument } from './openApi';
import { PROFILE_ROUTES } from './profileRoutes';

export { ADMIN_API_BASE, ApiError, type Access, type HttpMethod, type RouteSpec } from './apiCall';
export { MAX_BODY_BYTES } from './jsonBody';

/**
 * The admin REST API under `/admin/api` (DESIGN flow 2, SECURITY.md #33–#40).
 *
 * - JSON in and out; `Authorization: Bearer <key>` on every route except `openapi.json`, which only
 *   describes shapes (no data) and is public so tools can fetch it before they hold a key. Wrong keys
 *   are throttled per client and overall with backoff: 429 with `Retry-After` (SECURITY.md #46).
 * - Roles: `admin` may do everything; `developer` may read profiles, create/change/delete custom
 *   ones and see user connections, nothing that touches the organisation (pre-authorization, org
 *   connections, connection tests), the keys or the audit log.
 * - Bodies: `application/json` only (415), at most 64 KiB (413), nested at most 20 deep (400);
 *   unknown fields or wrong types are 400 naming the field, and nothing is stored.
 * - Every response is `Cache-Control: no-store`; no response ever carries a client secret, a token
 *   or a stack trace.
 *
 * Each route is declared once, with its OpenAPI operation, in the file of its resource
 * (profileRoutes.ts, actionRoutes.ts, authorizationRoutes.ts, connectionRoutes.ts, auditRoutes.ts,
 * keyRoutes.ts) and listed in `ROUTES`, so the served document is built from the same table the
 * server is (and test/admin/openapi.test.ts checks they agree).
 */

const RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Content-Type': 'application/json; charset=utf-8',
};

export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: `${ADMIN_API_BASE}/openapi.json`,
    access: 'public',
    operation: {
      operationId: 'getOpenApiDocument',
      summary: 'This OpenAPI 3.1 document (public: it describes shapes, never data)',
      tags: ['meta'],
      responses: { '200': { description: 'The document', schema: { type: 'object' } } },
    },
    async handle() {
      return json(200, buildOpenApiDocument(ROUTES));
    },
  },
  ...PROFILE_ROUTES,
  ...ACTION_ROUTES,
  ...AUTHORIZATION_ROUTES,
  // Before CONNECTION_ROUTES: `/connections/import` is not a connection id.
  ...ACCOUNT_ROUTES,
  ...CONNECTION_ROUTES,
  ...AUDIT_ROUTES,
  ...KEY_ROUTES,
];

// ---------------------------------------------------------------------------------------------------
// Server

/** Whether the request carries a body at all (a length above 0, or a chunked one). */
function sendsBody(req: Request): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

function send(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...RESPONSE_HEADERS,
    ...headers,
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function sendError(res: Response, error: ApiError): void {
  send(res, error.status, error.body(), error.headers);
}

function toApiError(error: unknown, ctx: AdminContext, route: RouteSpec): ApiError {
  if (error instanceof ApiError) return error;
  if (isAuthProfilesError(error)) return fromEngineError(error, ctx, route);
  ctx.log.error({ err: error, route: `${route.method} ${route.path}` }, 'admin API request failed');
  return new ApiError(500, 'internal-error', 'something went wrong; the error was logged');
}

function fromEngineError(error: AuthProfilesError, ctx: AdminContext, route: RouteSpec): ApiError {
  if (error.status >= 500) {
    ctx.log.warn(
      { errorCode: error.code, route: `${route.method} ${route.path}` },
      'admin API request failed',
    );
  }
  // Engine messages name problems, never values of secrets; they are safe to show.
  return new ApiError(error.status, error.code, error.message, error.issues);
}

async function authenticate(req: Request, ctx: AdminContext): Promise<AdminPrincipal> {
  const key = bearerKey(req);
  let principal: AdminPrincipal | null = null;
  try {
    principal =
      key === undefined ? null : await ctx.keys.authenticate(key, clientAddress(req, ctx.trustedProxyHops));
  } catch (error) {
    if (!(error instanceof TooManyAttemptsError)) throw error;
    throw new ApiError(429, 'too-many-attempts', error.message, [], {
      'Retry-After': String(error.retryAfterSeconds),
    });
  }
  if (principal) return principal;
  throw new ApiError(
    401,
    'unauthorized',
    key === undefined
      ? 'send an admin API key as "Authorization: Bearer <key>"'
      : 'the API key is not valid (unknown or revoked)',
    [],
    {
      'WWW-Authenticate':
        key === undefined
          ? 'Bearer realm="authprofiles-admin"'
          : 'Bearer realm="authprofiles-admin", error="invalid_token"',
    },
  );
}

function registerRoute(server: Server, ctx: AdminContext, route: RouteSpec): void {
  const handler = async (req: Request, res: Response): Promise<void> => {
    try {
      const principal = route.access === 'public' ? null : await authenticate(req, ctx);
      if (route.access === 'admin' && principal?.role !== 'admin') {
        throw forbidden('this operation needs an admin key');
      }
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries((req.params ?? {}) as Record<string, unknown>)) {
        if (typeof value === 'string') params[name] = value;
      }
      const query = new URL(req.url ?? '/', 'http://admin.invalid').searchParams;
      const body =
        route.body === true || (route.body === 'optional' && sendsBody(req))
          ? await readJsonBody(req)
          : undefined;
      const reply = await route.handle({ req, ctx, principal, params, query, body });
      send(res, reply.status, reply.body, reply.headers);
    } catch (error) {
      if (res.headersSent) {
        res.end();
        return;
      }
      sendError(res, toApiError(error, ctx, route));
    }
  };
  switch (route.method) {
    case 'GET':
      server.get(route.path, handler);
      break;
    case 'POST':
      server.post(route.path, handler);
      break;
    case 'PUT':
      server.put(route.path, handler);
      break;
    case 'DELETE':
      server.del(route.path, handler);
      break;
  }
}

export function registerAdminApi(server: Server, ctx: AdminContext): void {
  // Even restify's own answers under /admin/api (404, 405) must not be cached.
  server.pre((req, res, next) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path === ADMIN_API_BASE || path.startsWith(`${ADMIN_API_BASE}/`))
      res.setHeader('Cache-Control', 'no-store');
    return next();
  });
  for (const route of ROUTES) registerRoute(server, ctx, route);
}
