import type { Request } from 'restify';
import { z } from 'zod';
import {
  type Actor,
  CONNECTION_STATUSES,
  type ConnectionStatus,
  type FieldIssue,
  invalidProfile,
  type Profile,
  PROFILE_ID,
} from '../../../profiles';
import { OPAQUE_ID, type AdminContext, type AdminPrincipal } from '../adminContext';
import type { OpenApiOperation } from './openApi';

/** What every admin API route is made of: its declaration, the call it handles, its answer and errors. */

export const ADMIN_API_BASE = '/admin/api';

export type Access = 'public' | 'any' | 'admin';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** An error answered as `{ error: { code, message, issues? } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: FieldIssue[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The answer's body: the one error shape of the admin API, the execute API and the proxy. */
  body(): { error: Record<string, unknown> } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.issues.length > 0 ? { issues: this.issues } : {}),
      },
    };
  }
}

export interface Call {
  req: Request;
  ctx: AdminContext;
  /** Null only on public routes. */
  principal: AdminPrincipal | null;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body (routes with `body: true`), otherwise undefined. */
  body: unknown;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec {
  method: HttpMethod;
  /** restify path, e.g. `/admin/api/profiles/:id`. */
  path: string;
  access: Access;
  /** The route reads a JSON body; `optional`: only when one is sent (a bare POST stays valid). */
  body?: boolean | 'optional';
  operation: OpenApiOperation;
  handle(call: Call): Promise<Reply>;
}

const limitParam = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1, `must be between 1 and ${max}`).max(max, `must be between 1 and ${max}`))
    .optional()
    .transform((value) => value ?? fallback);

const profileIdParam = z.string().regex(PROFILE_ID, 'must be a profile id');
const opaqueIdParam = z.string().regex(OPAQUE_ID, 'must be an id');

export const connectionsQuery = z.strictObject({
  profileId: profileIdParam.optional(),
  status: z.enum(CONNECTION_STATUSES).optional(),
  subject: z.enum(['org', 'user']).optional(),
  limit: limitParam(200, 50),
  after: opaqueIdParam.optional(),
});

export const auditQuery = z.strictObject({
  limit: limitParam(200, 50),
  before: opaqueIdParam.optional(),
  target: z
    .string()
    .regex(/^[a-z][a-z-]{0,30}:[A-Za-z0-9._:%|-]{1,200}$/, 'must be a target such as profile:<id>')
    .optional(),
});

export const emptyQuery = z.strictObject({});

export function parseQuery<T extends z.ZodType>(query: URLSearchParams, schema: T): z.output<T> {
  const values: Record<string, string> = {};
  const issues: FieldIssue[] = [];
  for (const [name, value] of query) {
    if (name in values) issues.push({ path: name, message: 'must be given once' });
    values[name] = value;
  }
  const result = schema.safeParse(values);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) issues.push({ path: key, message: 'is not a known parameter' });
      } else {
        issues.push({ path: issue.path.map(String).join('.') || '(query)', message: issue.message });
      }
    }
  }
  if (issues.length > 0 || !result.success) throw invalidRequest('query parameter', issues);
  return result.data;
}

export function invalidRequest(what: string, issues: FieldIssue[]): ApiError {
  const summary = issues
    .slice(0, 5)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('; ');
  return new ApiError(400, 'invalid-request', `invalid ${what}: ${summary}`, issues);
}

function pathParam(call: Call, name: string, pattern: RegExp, what: string): string {
  const value = call.params[name] ?? '';
  if (!pattern.test(value))
    throw invalidRequest('path parameter', [{ path: name, message: `must be ${what}` }]);
  return value;
}

export const profileIdOf = (call: Call) => pathParam(call, 'id', PROFILE_ID, 'a profile id');
export const opaqueIdOf = (call: Call) => pathParam(call, 'id', OPAQUE_ID, 'an id');

export function objectBody(
  body: unknown,
  code: 'invalid-profile' | 'invalid-request',
): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const issues = [{ path: '(body)', message: 'must be a JSON object' }];
    throw code === 'invalid-profile' ? invalidProfile(issues) : invalidRequest('body', issues);
  }
  return body as Record<string, unknown>;
}

export function actorOf(call: Call): Actor {
  const principal = call.principal as AdminPrincipal;
  return { name: principal.name, role: principal.role };
}

export function isAdmin(call: Call): boolean {
  return call.principal?.role === 'admin';
}

export function forbidden(message: string): ApiError {
  return new ApiError(403, 'forbidden', message);
}

export async function findProfile(call: Call, id: string): Promise<Profile> {
  const profile = await call.ctx.engine.findProfile(id);
  if (!profile) throw new ApiError(404, 'profile-not-found', `no profile "${id}"`);
  return profile;
}

export function etag(version: number): Record<string, string> {
  return { ETag: `"${version}"` };
}

/** `If-Match: 3`, `"3"` or `W/"3"` → 3; absent or `*` → undefined. */
export function expectedVersion(req: Request): number | undefined {
  const header = req.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim());
  if (!match) {
    throw invalidRequest('header', [{ path: 'If-Match', message: 'must be the profile version, e.g. "3"' }]);
  }
  return Number(match[1]);
}

export type ConnectionCounts = Record<ConnectionStatus, number>;

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});
