import { z } from 'zod';
import { CONNECTION_NAME, ORGANIZATION } from '../../../profiles';
import type { AdminPrincipal } from '../adminContext';
import { adminRequestContext } from '../organizationGate';
import {
  actorOf,
  ADMIN_API_BASE,
  ApiError,
  findProfile,
  invalidRequest,
  json,
  objectBody,
  parseQuery,
  profileIdOf,
  type RouteSpec,
} from './apiCall';

/**
 * A named organisation connection (issue 10 point 3): `{ "name": "ops" }` in the POST body, `?name=ops` on
 * GET and DELETE; without a name, the default (unnamed) one.
 */
const connectionName = z
  .string()
  .regex(CONNECTION_NAME, 'must be 1 to 32 of a-z, 0-9 and "-", starting with a letter or digit');
const nameQuery = z.strictObject({ name: connectionName.optional() });
const startBody = z.strictObject({ name: connectionName.optional() });

/** `{ connection: name }` for the engine, or `{}` for the default connection. */
function named(name: string | undefined): { connection?: string } {
  return name === undefined ? {} : { connection: name };
}

/** `/admin/api/profiles/:id/authorizations`: the organisation connection of a pre-authorized profile. */
export const AUTHORIZATION_ROUTES: readonly RouteSpec[] = [
  {
    method: 'POST',
    path: `${ADMIN_API_BASE}/profiles/:id/authorizations`,
    access: 'admin',
    body: 'optional',
    operation: {
      operationId: 'startPreAuthorization',
      summary:
        'Start (or redo) the pre-authorization of a pre-authorized profile: open authorizationUrl in a browser, sign in there to the admin pages with the same key, consent, and the callback stores the organisation connection',
      tags: ['authorizations'],
      requestBody: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: {
            type: 'string',
            pattern: CONNECTION_NAME.source,
            description: 'A named organisation connection (e.g. `ops`); absent: the default one',
          },
        },
      },
      responses: {
        '201': { description: 'Started', schema: { $ref: '#/components/schemas/AuthorizationStarted' } },
        '404': { description: 'No such profile' },
        '409': { description: 'The profile is not configured yet (missing credentials or variables)' },
      },
    },
    async handle(call) {
      const input = call.body === undefined ? {} : objectBody(call.body, 'invalid-request');
      const parsed = startBody.safeParse(input);
      if (!parsed.success) {
        throw invalidRequest(
          'body',
          parsed.error.issues.map((issue) => ({
            path: issue.path.join('.') || '(body)',
            message: issue.message,
          })),
        );
      }
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
        ...(parsed.data.name === undefined ? {} : { connectionName: parsed.data.name }),
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
      summary: 'Status of the organisation connection of a profile (`?name=` for a named one)',
      parameters: [{ name: 'name', schema: { type: 'string', pattern: CONNECTION_NAME.source } }],
      tags: ['authorizations'],
      responses: {
        '200': { description: 'Status', schema: { $ref: '#/components/schemas/AuthorizationStatus' } },
        '404': { description: 'No such profile' },
      },
    },
    async handle(call) {
      const { name } = parseQuery(call.query, nameQuery);
      const profile = await findProfile(call, profileIdOf(call));
      const connection = await call.ctx.engine.connectionOf(profile, ORGANIZATION, named(name));
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
        'Revoke the organisation connection (at the provider when it has a revocation URL) and remove it (`?name=` for a named one)',
      parameters: [{ name: 'name', schema: { type: 'string', pattern: CONNECTION_NAME.source } }],
      tags: ['authorizations'],
      responses: {
        '200': { description: 'Revoked', schema: { $ref: '#/components/schemas/Revoked' } },
        '404': { description: 'No such profile, or no organisation connection' },
      },
    },
    async handle(call) {
      const { name } = parseQuery(call.query, nameQuery);
      const profile = await findProfile(call, profileIdOf(call));
      const outcome = await call.ctx.engine.signOut(profile, ORGANIZATION, actorOf(call).name, named(name));
      if (!outcome)
        throw new ApiError(404, 'not-connected', `profile "${profile.id}" has no organisation connection`);
      return json(200, { revoked: true, ...outcome });
    },
  },
];
