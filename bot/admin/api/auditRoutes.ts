import { ADMIN_API_BASE, auditQuery, json, parseQuery, type RouteSpec } from './apiCall';

/** `/admin/api/audit`: the audit log, newest first. */
export const AUDIT_ROUTES: readonly RouteSpec[] = [
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
      const page = await call.ctx.engine.listAudit({
        limit: query.limit + 1,
        ...(query.before ? { before: query.before } : {}),
        ...(query.target ? { target: query.target } : {}),
      });
      const entries = page.slice(0, query.limit);
      const next = page.length > query.limit ? (entries[entries.length - 1]?.id ?? null) : null;
      return json(200, { entries, next });
    },
  },
];
