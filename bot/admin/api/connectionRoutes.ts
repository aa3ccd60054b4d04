import { CONNECTION_STATUSES, PROFILE_ID } from '../../../profiles';
import {
  actorOf,
  ADMIN_API_BASE,
  ApiError,
  connectionsQuery,
  forbidden,
  isAdmin,
  json,
  opaqueIdOf,
  parseQuery,
  type RouteSpec,
} from './apiCall';

/** `/admin/api/connections`: list, revoke and test connections (never their tokens). */
export const CONNECTION_ROUTES: readonly RouteSpec[] = [
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
        { name: 'status', schema: { type: 'string', enum: [...CONNECTION_STATUSES] } },
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
      const page = await call.ctx.engine.listConnections(
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
        connections: shown,
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
      const connection = await engine.connectionById(id);
      if (!connection) throw new ApiError(404, 'not-connected', `no connection "${id}"`);
      if (
        !isAdmin(call) &&
        (connection.subjectKey === 'org' || engine.isBundledProfile(connection.profileId))
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
      const result = await engine.checkConnection(id, call.ctx.fetch);
      if (!result) throw new ApiError(404, 'not-connected', `no connection "${id}"`);
      return json(200, result);
    },
  },
];
