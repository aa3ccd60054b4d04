import { z } from 'zod';
import { zodIssues } from '../../../profiles';
import {
  actorOf,
  ADMIN_API_BASE,
  ApiError,
  emptyQuery,
  invalidRequest,
  json,
  objectBody,
  opaqueIdOf,
  parseQuery,
  type RouteSpec,
} from './apiCall';

const keyBody = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_" or "-"'),
  role: z.enum(['admin', 'developer']),
});

/** `/admin/api/keys`: admin API keys created with the API or CLI, stored hashed. */
export const KEY_ROUTES: readonly RouteSpec[] = [
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
