import { TextDecoder } from 'node:util';
import type { Request, Response, Server } from 'restify';
import { z } from 'zod';
import { checkConnection } from '../../../profiles/connectionCheck';
import { summarize, type ConnectionSummary } from '../../../profiles/connections';
import { AuthProfilesError, isAuthProfilesError, type FieldIssue } from '../../../profiles/errors';
import {
  deleteProfile,
  publicProfile,
  saveProfile,
  type Actor,
  type PublicProfile,
} from '../../../profiles/profileAdmin';
import type { Profile } from '../../../profiles/profileCatalog';
import { invalidProfile, profileSchema, zodIssues } from '../../../profiles/profileSchema';
import type { ConnectionStatus } from '../../../profiles/store/types';
import { ORGANIZATION } from '../../../profiles/subjects';
import { TooManyAttemptsError } from '../../../profiles/attemptThrottle';
import { bearerKey, clientAddress, type AdminContext, type AdminPrincipal } from '../adminContext';
import { buildOpenApiDocument, type OpenApiOperation } from './openApi';
import { adminRequestContext } from '../organizationGate';

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
 * Each route is declared once, in `ROUTES`, with its OpenAPI operation, so the served document is
 * built from the same table the server is (and test/admin/openapi.test.ts checks they agree).
 */

export const ADMIN_API_BASE = '/admin/api';
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_JSON_DEPTH = 20;
/** Past this an oversized body is no longer drained (to answer 413 cleanly) but cut off. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

const PROFILE_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const OPAQUE_ID = /^[A-Za-z0-9_-]{1,100}$/;
const STATUSES = ['active', 'pending-verification', 'needs-reauthorization', 'revoked'] as const;

const RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Content-Type': 'application/json; charset=utf-8',
};

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
}

interface Call {
  req: Request;
  ctx: AdminContext;
  /** Null only on public routes. */
  principal: AdminPrincipal | null;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body (routes with `body: true`), otherwise undefined. */
  body: unknown;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec {
  method: HttpMethod;
  /** restify path, e.g. `/admin/api/profiles/:id`. */
  path: string;
  access: Access;
  /** The route reads a JSON body. */
  body?: boolean;
  operation: OpenApiOperation;
  handle(call: Call): Promise<Reply>;
}

// ---------------------------------------------------------------------------------------------------
// Query parameters

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
  status: z.enum(STATUSES).optional(),
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

function parseQuery<T extends z.ZodType>(query: URLSearchParams, schema: T): z.output<T> {
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

function invalidRequest(what: string, issues: FieldIssue[]): ApiError {
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

const profileIdOf = (call: Call) => pathParam(call, 'id', PROFILE_ID, 'a profile id');
const opaqueIdOf = (call: Call) => pathParam(call, 'id', OPAQUE_ID, 'an id');

// ---------------------------------------------------------------------------------------------------
// Bodies

function isJsonContentType(header: string | undefined): boolean | 'charset' {
  if (!header) return false;
  const [type = '', ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  for (const param of params) {
    const [key, value = ''] = param.split('=').map((part) => part.trim());
    if (key === 'charset' && value.replace(/"/g, '') !== 'utf-8') return 'charset';
  }
  return true;
}

function tooLarge(): ApiError {
  return new ApiError(
    413,
    'payload-too-large',
    `the request body is larger than ${MAX_BODY_BYTES / 1024} KiB`,
    [{ path: '(body)', message: `must be at most ${MAX_BODY_BYTES} bytes` }],
    { Connection: 'close' },
  );
}

/** Deepest nesting of arrays/objects in JSON text, counted without parsing (strings skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i += 1;
      else if (char === 0x22) inString = false;
      continue;
    }
    if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) {
      depth += 1;
      if (depth > max) max = depth;
    } else if (char === 0x7d || char === 0x5d) depth -= 1;
  }
  return max;
}

async function readJsonBody(req: Request): Promise<unknown> {
  const type = isJsonContentType(req.headers['content-type']);
  if (type !== true) {
    throw new ApiError(
      415,
      'unsupported-media-type',
      type === 'charset'
        ? 'the body must be UTF-8 encoded JSON'
        : 'the body must be JSON sent as Content-Type: application/json',
    );
  }
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  const chunks: Buffer[] = [];
  let size = 0;
  let oversized = Number.isFinite(declared) && declared > MAX_BODY_BYTES;
  if (Number.isFinite(declared) && declared > DRAIN_LIMIT_BYTES) {
    req.destroy();
    throw tooLarge();
  }
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > DRAIN_LIMIT_BYTES) {
      req.destroy();
      throw tooLarge();
    }
    if (size > MAX_BODY_BYTES) oversized = true;
    // Keep reading (and discarding) so the client sees the 413 rather than a reset connection.
    if (!oversized) chunks.push(buffer);
  }
  if (oversized) throw tooLarge();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new ApiError(400, 'invalid-body', 'the body is not valid UTF-8', [
      { path: '(body)', message: 'must be UTF-8' },
    ]);
  }
  if (text.trim() === '') {
    throw new ApiError(400, 'invalid-body', 'the body is empty; send a JSON object', [
      { path: '(body)', message: 'must be a JSON object' },
    ]);
  }
  // Checked before parsing, so a hostile nesting never reaches the parser or the validators.
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new ApiError(400, 'invalid-body', `the body is nested deeper than ${MAX_JSON_DEPTH} levels`, [
      { path: '(body)', message: `must be nested at most ${MAX_JSON_DEPTH} levels deep` },
    ]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'invalid-body', 'the body is not valid JSON', [
      { path: '(body)', message: 'must be valid JSON' },
    ]);
  }
}

function objectBody(body: unknown, code: 'invalid-profile' | 'invalid-request'): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const issues = [{ path: '(body)', message: 'must be a JSON object' }];
    throw code === 'invalid-profile' ? invalidProfile(issues) : invalidRequest('body', issues);
  }
  return body as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function actorOf(call: Call): Actor {
  const principal = call.principal as AdminPrincipal;
  return { name: principal.name, role: principal.role };
}

function isAdmin(call: Call): boolean {
  return call.principal?.role === 'admin';
}

function forbidden(message: string): ApiError {
  return new ApiError(403, 'forbidden', message);
}

async function findProfile(call: Call, id: string): Promise<Profile> {
  const profile = await call.ctx.engine.catalog.find(id);
  if (!profile) throw new ApiError(404, 'profile-not-found', `no profile "${id}"`);
  return profile;
}

function etag(version: number): Record<string, string> {
  return { ETag: `"${version}"` };
}

/** `If-Match: 3`, `"3"` or `W/"3"` → 3; absent or `*` → undefined. */
function expectedVersion(req: Request): number | undefined {
  const header = req.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim());
  if (!match) {
    throw invalidRequest('header', [{ path: 'If-Match', message: 'must be the profile version, e.g. "3"' }]);
  }
  return Number(match[1]);
}

export type ConnectionCounts = Record<ConnectionStatus, number>;

export interface ProfileView extends PublicProfile {
  connections: ConnectionCounts;
  /** Admin keys only: the organisation connection of a pre-authorized profile (null when none). */
  organizationConnection?: Pick<ConnectionSummary, 'id' | 'status' | 'lastError' | 'updatedAt'> | null;
}

async function profileView(call: Call, profile: Profile): Promise<ProfileView> {
  const store = call.ctx.engine.store;
  const counts = {} as ConnectionCounts;
  for (const status of STATUSES)
    counts[status] = await store.connections.count({ profileId: profile.id, status });
  const view: ProfileView = { ...publicProfile(profile), connections: counts };
  if (isAdmin(call) && profile.authorization === 'pre-authorized') {
    const org = await store.connections.get(profile.id, 'org');
    view.organizationConnection = org
      ? { id: org.id, status: org.status, lastError: org.lastError, updatedAt: org.updatedAt }
      : null;
  }
  return view;
}

// ---------------------------------------------------------------------------------------------------
// Routes

const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

const keyBody = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_" or "-"'),
  role: z.enum(['admin', 'developer']),
});

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
  {
    method: 'GET',
    path: `${ADMIN_API_BASE}/profiles`,
    access: 'any',
    operation: {
      operationId: 'listProfiles',
      summary: 'List every profile (bundled, files, stored) with connection counts by status',
      tags: ['profiles'],
      responses: {
        '200': {
          description: 'The profiles, secrets left out',
          schema: {
            type: 'object',
            required: ['profiles'],
            properties: { profiles: { type: 'array', items: { $ref: '#/components/schemas/ProfileView' } } },
          },
        },
      },
    },
    async handle(call) {
      parseQuery(call.query, emptyQuery);
      const profiles = await call.ctx.engine.catalog.list();
      const views: ProfileView[] = [];
      for (const profile of profiles) views.push(await profileView(call, profile));
      return json(200, { profiles: views });
    },
  },
  {
    method: 'POST',
    path: `${ADMIN_API_BASE}/profiles`,
    access: 'any',
    body: true,
    operation: {
      operationId: 'createProfile',
      summary: 'Create a custom profile (409 when the id exists; use PUT to replace)',
      tags: ['profiles'],
      requestBody: { $ref: '#/components/schemas/ProfileInput' },
      responses: {
        '201': { description: 'Created', schema: { $ref: '#/components/schemas/SaveResult' } },
        '409': { description: 'A profile with this id already exists' },
      },
    },
    async handle(call) {
      const body = objectBody(call.body, 'invalid-profile');
      if (typeof body.id !== 'string') {
        const parsed = profileSchema.safeParse(body);
        throw invalidProfile(
          parsed.success ? [{ path: 'id', message: 'is required' }] : zodIssues(parsed.error),
        );
      }
      const id = body.id;
      if (call.ctx.engine.catalog.isSystem(id)) {
        if (!isAdmin(call))
          throw forbidden(`"${id}" is a bundled profile: developer keys manage custom profiles only`);
        throw new ApiError(409, 'conflict', `"${id}" is a bundled profile; change its settings with PUT`);
      }
      if (await call.ctx.engine.catalog.find(id)) {
        throw new ApiError(409, 'conflict', `a profile "${id}" already exists; replace it with PUT`);
      }
      const result = await saveProfile(call.ctx.engine.context, id, body, actorOf(call), {
        expectedVersion: 0,
      });
      const profile = await profileView(call, result.profile);
      return json(
        201,
        { profile, created: true, connectionsMarked: result.connectionsMarked },
        {
          ...etag(profile.version),
          Location: `${ADMIN_API_BASE}/profiles/${encodeURIComponent(id)}`,
        },
      );
    },
  },
  {
    method: 'GET',
    path: `${ADMIN_API_BASE}/profiles/:id`,
    access: 'any',
    operation: {
      operationId: 'getProfile',
      summary: 'Read one profile (ETag = its version)',
      tags: ['profiles'],
      responses: {
        '200': {
          description: 'The profile, secret left out',
          schema: { $ref: '#/components/schemas/ProfileView' },
        },
        '404': { description: 'No such profile' },
      },
    },
    async handle(call) {
      parseQuery(call.query, emptyQuery);
      const profile = await findProfile(call, profileIdOf(call));
      const view = await profileView(call, profile);
      return json(200, view, etag(view.version));
    },
  },
  {
    method: 'PUT',
    path: `${ADMIN_API_BASE}/profiles/:id`,
    access: 'any',
    body: true,
    operation: {
      operationId: 'putProfile',
      summary:
        'Create or replace a custom profile; for a bundled profile the body is a SystemOverride (credentials and allowed settings). Changing the client, scopes or URLs marks its connections needs-reauthorization.',
      tags: ['profiles'],
      headers: [
        {
          name: 'If-Match',
          description: 'Expected profile version (as returned in `version`/ETag); 409 when it moved on',
          schema: { type: 'string' },
        },
      ],
      requestBody: {
        anyOf: [
          { $ref: '#/components/schemas/ProfileInput' },
          { $ref: '#/components/schemas/SystemOverride' },
        ],
      },
      responses: {
        '200': { description: 'Replaced', schema: { $ref: '#/components/schemas/SaveResult' } },
        '201': { description: 'Created', schema: { $ref: '#/components/schemas/SaveResult' } },
        '409': { description: 'If-Match did not match the stored version' },
      },
    },
    async handle(call) {
      const id = profileIdOf(call);
      if (call.ctx.engine.catalog.isSystem(id) && !isAdmin(call)) {
        throw forbidden(`"${id}" is a bundled profile: developer keys manage custom profiles only`);
      }
      const body = objectBody(call.body, 'invalid-profile');
      const expected = expectedVersion(call.req);
      const result = await saveProfile(call.ctx.engine.context, id, body, actorOf(call), {
        ...(expected === undefined ? {} : { expectedVersion: expected }),
      });
      const profile = await profileView(call, result.profile);
      return json(
        result.created ? 201 : 200,
        { profile, created: result.created, connectionsMarked: result.connectionsMarked },
        etag(profile.version),
      );
    },
  },
  {
    method: 'DELETE',
    path: `${ADMIN_API_BASE}/profiles/:id`,
    access: 'any',
    operation: {
      operationId: 'deleteProfile',
      summary:
        'Delete a stored profile (a bundled one: its stored override). Its connections are revoked at the provider and removed; the audit log records it.',
      tags: ['profiles'],
      responses: {
        '200': {
          description: 'Deleted',
          schema: {
            type: 'object',
            required: ['connectionsRemoved', 'removedOverride'],
            properties: { connectionsRemoved: { type: 'integer' }, removedOverride: { type: 'boolean' } },
          },
        },
        '404': { description: 'No such profile' },
      },
    },
    async handle(call) {
      const id = profileIdOf(call);
      if (call.ctx.engine.catalog.isSystem(id) && !isAdmin(call)) {
        throw forbidden(`"${id}" is a bundled profile: developer keys manage custom profiles only`);
      }
      await findProfile(call, id);
      const result = await deleteProfile(call.ctx.engine.context, id, actorOf(call));
      return json(200, result);
    },
  },
  {
    method: 'POST',
    path: `${ADMIN_API_BASE}/profiles/:id/authorizations`,
    access: 'admin',
    operation: {
      operationId: 'startPreAuthorization',
      summary:
        'Start (or redo) the pre-authorization of a pre-authorized profile: open authorizationUrl in a browser, sign in there to the admin pages with the same key, consent, and the callback stores the organisation connection',
      tags: ['authorizations'],
      responses: {
        '201': { description: 'Started', schema: { $ref: '#/components/schemas/AuthorizationStarted' } },
        '404': { description: 'No such profile' },
        '409': { description: 'The profile is not configured yet (missing credentials or variables)' },
      },
    },
    async handle(call) {
      const profile = await findProfile(call, profileIdOf(call));
      if (profile.authorization !== 'pre-authorized') {
        throw new ApiError(
          400,
          'not-pre-authorized',
          `profile "${profile.id}" is per-user: each chat user connects it in the conversation`,
          [{ path: 'authorization', message: 'must be "pre-authorized"' }],
        );
      }
      if (profile.missing.length > 0) {
        throw new ApiError(
          409,
          'profile-not-configured',
          `profile "${profile.id}" is not configured: missing ${profile.missing.join(', ')}`,
          profile.missing.map((field) => ({ path: field, message: 'is missing' })),
        );
      }
      const principal = call.principal as AdminPrincipal;
      // The link completes only in a browser signed in to the admin pages with this same key
      // (bot/admin/organizationGate.ts, SECURITY.md #44).
      const created = await call.ctx.engine.createAuthorizationRequest({
        profile,
        subject: ORGANIZATION,
        createdBy: principal.name,
        context: adminRequestContext(principal),
      });
      return json(201, {
        requestId: created.requestId,
        authorizationUrl: created.startUrl,
        expiresAt: created.expiresAt,
      });
    },
  },
  {
    method: 'GET',
    path: `${ADMIN_API_BASE}/profiles/:id/authorizations`,
    access: 'admin',
    operation: {
      operationId: 'getPreAuthorization',
      summary: 'Status of the organisation connection of a profile',
      tags: ['authorizations'],
      responses: {
        '200': { description: 'Status', schema: { $ref: '#/components/schemas/AuthorizationStatus' } },
        '404': { description: 'No such profile' },
      },
    },
    async handle(call) {
      parseQuery(call.query, emptyQuery);
      const profile = await findProfile(call, profileIdOf(call));
      const connection = await call.ctx.engine.connectionOf(profile, ORGANIZATION);
      return json(200, { connected: connection?.status === 'active', connection });
    },
  },
  {
    method: 'DELETE',
    path: `${ADMIN_API_BASE}/profiles/:id/authorizations`,
    access: 'admin',
    operation: {
      operationId: 'revokePreAuthorization',
      summary:
        'Revoke the organisation connection (at the provider when it has a revocation URL) and remove it',
      tags: ['authorizations'],
      responses: {
        '200': { description: 'Revoked', schema: { $ref: '#/components/schemas/Revoked' } },
        '404': { description: 'No such profile, or no organisation connection' },
      },
    },
    async handle(call) {
      const profile = await findProfile(call, profileIdOf(call));
      const outcome = await call.ctx.engine.signOut(profile, ORGANIZATION, actorOf(call).name);
      if (!outcome)
        throw new ApiError(404, 'not-connected', `profile "${profile.id}" has no organisation connection`);
      return json(200, { revoked: true, ...outcome });
    },
  },
  {
    method: 'GET',
    path: `${ADMIN_API_BASE}/connections`,
    access: 'any',
    operation: {
      operationId: 'listConnections',
      summary: 'List connections (no tokens), by id; developer keys see user connections only',
      tags: ['connections'],
      parameters: [
        { name: 'profileId', schema: { type: 'string', pattern: PROFILE_ID.source } },
        { name: 'status', schema: { type: 'string', enum: [...STATUSES] } },
        { name: 'subject', schema: { type: 'string', enum: ['org', 'user'] } },
        { name: 'limit', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
        { name: 'after', description: 'The `next` of the previous page', schema: { type: 'string' } },
      ],
      responses: {
        '200': {
          description: 'One page',
          schema: {
            type: 'object',
            required: ['connections', 'next'],
            properties: {
              connections: { type: 'array', items: { $ref: '#/components/schemas/ConnectionSummary' } },
              next: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
    async handle(call) {
      const query = parseQuery(call.query, connectionsQuery);
      if (query.subject === 'org' && !isAdmin(call))
        throw forbidden('organisation connections are for admin keys only');
      const subjectKind = isAdmin(call) ? query.subject : 'user';
      const page = await call.ctx.engine.store.connections.list(
        {
          ...(query.profileId ? { profileId: query.profileId } : {}),
          ...(query.status ? { status: query.status } : {}),
          ...(subjectKind ? { subjectKind } : {}),
        },
        { limit: query.limit + 1, ...(query.after ? { after: query.after } : {}) },
      );
      const shown = page.slice(0, query.limit);
      const next = page.length > query.limit ? (shown[shown.length - 1]?.id ?? null) : null;
      return json(200, {
        connections: shown.map((connection) => summarize(connection, call.ctx.engine.context.keyRing)),
        next,
      });
    },
  },
  {
    method: 'DELETE',
    path: `${ADMIN_API_BASE}/connections/:id`,
    access: 'any',
    operation: {
      operationId: 'revokeConnection',
      summary:
        'Revoke one connection at the provider (when possible) and remove it; developer keys: user connections of custom profiles only',
      tags: ['connections'],
      responses: {
        '200': { description: 'Revoked', schema: { $ref: '#/components/schemas/Revoked' } },
        '404': { description: 'No such connection' },
      },
    },
    async handle(call) {
      const id = opaqueIdOf(call);
      const engine = call.ctx.engine;
      const connection = await engine.store.connections.getById(id);
      if (!connection) throw new ApiError(404, 'not-connected', `no connection "${id}"`);
      if (
        !isAdmin(call) &&
        (connection.subjectKey === 'org' || engine.catalog.isSystem(connection.profileId))
      ) {
        throw forbidden('developer keys may revoke user connections of custom profiles only');
      }
      const outcome = await engine.revokeById(id, actorOf(call).name);
      return json(200, { revoked: true, ...outcome });
    },
  },
  {
    method: 'POST',
    path: `${ADMIN_API_BASE}/connections/:id/test`,
    access: 'admin',
    operation: {
      operationId: 'testConnection',
      summary:
        "Test a connection: get a valid token (refreshing it if due) and call the profile's checkUrl; ok or the reason",
      tags: ['connections'],
      responses: {
        '200': { description: 'The verdict', schema: { $ref: '#/components/schemas/ConnectionCheck' } },
        '404': { description: 'No such connection' },
      },
    },
    async handle(call) {
      const id = opaqueIdOf(call);
      const engine = call.ctx.engine;
      const result = await checkConnection(engine.context, engine.tokens, id, call.ctx.fetch);
      if (!result) throw new ApiError(404, 'not-connected', `no connection "${id}"`);
      return json(200, result);
    },
  },
  {
    method: 'GET',
    path: `${ADMIN_API_BASE}/audit`,
    access: 'admin',
    operation: {
      operationId: 'listAudit',
      summary: 'The audit log, newest first (names and codes only, never a secret)',
      tags: ['audit'],
      parameters: [
        { name: 'limit', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
        { name: 'before', description: 'The `next` of the previous page', schema: { type: 'string' } },
        {
          name: 'target',
          description: 'e.g. `profile:hubspot`, `connection:<id>`',
          schema: { type: 'string' },
        },
      ],
      responses: {
        '200': {
          description: 'One page',
          schema: {
            type: 'object',
            required: ['entries', 'next'],
            properties: {
              entries: { type: 'array', items: { $ref: '#/components/schemas/AuditEntry' } },
              next: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
    async handle(call) {
      const query = parseQuery(call.query, auditQuery);
      const page = await call.ctx.engine.store.audit.list({
        limit: query.limit + 1,
        ...(query.before ? { before: query.before } : {}),
        ...(query.target ? { target: query.target } : {}),
      });
      const entries = page.slice(0, query.limit);
      const next = page.length > query.limit ? (entries[entries.length - 1]?.id ?? null) : null;
      return json(200, { entries, next });
    },
  },
  {
    method: 'GET',
    path: `${ADMIN_API_BASE}/keys`,
    access: 'admin',
    operation: {
      operationId: 'listKeys',
      summary:
        'Admin API keys created with the API or CLI (never the key itself; ADMIN_API_KEYS are not listed)',
      tags: ['keys'],
      responses: {
        '200': {
          description: 'The keys',
          schema: {
            type: 'object',
            required: ['keys'],
            properties: { keys: { type: 'array', items: { $ref: '#/components/schemas/AdminKey' } } },
          },
        },
      },
    },
    async handle(call) {
      parseQuery(call.query, emptyQuery);
      return json(200, { keys: await call.ctx.keys.list() });
    },
  },
  {
    method: 'POST',
    path: `${ADMIN_API_BASE}/keys`,
    access: 'admin',
    body: true,
    operation: {
      operationId: 'createKey',
      summary: 'Create an API key; the key is in this response only (it is stored hashed)',
      tags: ['keys'],
      requestBody: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'role'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
          role: { type: 'string', enum: ['admin', 'developer'] },
        },
      },
      responses: {
        '201': { description: 'Created', schema: { $ref: '#/components/schemas/CreatedKey' } },
      },
    },
    async handle(call) {
      const parsed = keyBody.safeParse(objectBody(call.body, 'invalid-request'));
      if (!parsed.success) throw invalidRequest('body', zodIssues(parsed.error));
      const { key, record } = await call.ctx.keys.create(
        parsed.data.name,
        parsed.data.role,
        actorOf(call).name,
      );
      const { keyHash: _hash, ...shown } = record;
      return json(201, { ...shown, key });
    },
  },
  {
    method: 'DELETE',
    path: `${ADMIN_API_BASE}/keys/:id`,
    access: 'admin',
    operation: {
      operationId: 'revokeKey',
      summary: 'Revoke an API key created with the API or CLI',
      tags: ['keys'],
      responses: {
        '200': {
          description: 'Revoked',
          schema: { type: 'object', required: ['revoked'], properties: { revoked: { const: true } } },
        },
        '404': { description: 'No such key, or already revoked' },
      },
    },
    async handle(call) {
      const id = opaqueIdOf(call);
      if (!(await call.ctx.keys.revoke(id, actorOf(call).name))) {
        throw new ApiError(404, 'key-not-found', `no active key "${id}"`);
      }
      return json(200, { revoked: true });
    },
  },
];

// ---------------------------------------------------------------------------------------------------
// Server

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
  send(
    res,
    error.status,
    {
      error: {
        code: error.code,
        message: error.message,
        ...(error.issues.length > 0 ? { issues: error.issues } : {}),
      },
    },
    error.headers,
  );
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
      const body = route.body ? await readJsonBody(req) : undefined;
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
