import type { Access, HttpMethod } from './apiCall';
import { componentSchemas, type JsonSchema } from './openApiSchemas';

/**
 * The OpenAPI 3.1 document of the admin API, built from the route table (bot/admin/api/adminApi.ts) so
 * a route cannot exist without its description. Schemas of profile bodies are derived from the one
 * zod profile schema (`z.toJSONSchema`), so the document and the validation cannot drift apart.
 */

export type { JsonSchema } from './openApiSchemas';

export interface OpenApiParameter {
  name: string;
  description?: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  tags: string[];
  /** Query parameters (path parameters are derived from the path template). */
  parameters?: OpenApiParameter[];
  /** Header parameters (e.g. If-Match). */
  headers?: OpenApiParameter[];
  /** JSON body schema; the route reads `application/json` only. */
  requestBody?: JsonSchema;
  responses: Record<string, { description: string; schema?: JsonSchema }>;
}

interface DocumentedRoute {
  method: HttpMethod;
  path: string;
  access: Access;
  body?: boolean | 'optional';
  operation: OpenApiOperation;
}

/** `/admin/api/profiles/:id` → `/admin/api/profiles/{id}`. */
export function openApiPath(restifyPath: string): string {
  return restifyPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function pathParameterNames(restifyPath: string): string[] {
  return [...restifyPath.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1] as string);
}

const ERROR_RESPONSES: Record<string, string> = {
  '400': 'Invalid input; `issues` names each field or parameter',
  '401': 'No or unknown API key (WWW-Authenticate: Bearer)',
  '403': 'The key may not do this (developer keys: custom profiles only, no organisation data, no keys)',
  '413': 'Body larger than 64 KiB',
  '415': 'Body not sent as application/json',
  '429': 'Too many wrong keys from this client (or from everyone): wait Retry-After seconds',
};

function jsonContent(schema: JsonSchema): Record<string, unknown> {
  return { 'application/json': { schema } };
}

function operationObject(route: DocumentedRoute): Record<string, unknown> {
  const op = route.operation;
  const parameters = [
    ...pathParameterNames(route.path).map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    })),
    ...(op.parameters ?? []).map((param) => ({ in: 'query', required: false, ...param })),
    ...(op.headers ?? []).map((param) => ({ in: 'header', required: false, ...param })),
  ];
  const errors = ['400'];
  if (route.access !== 'public') errors.push('401', '403', '429');
  if (route.body) errors.push('413', '415');
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(op.responses)) {
    responses[status] = {
      description: response.description,
      content: jsonContent(response.schema ?? { $ref: '#/components/schemas/Error' }),
    };
  }
  for (const status of errors) {
    responses[status] ??= { $ref: `#/components/responses/${status}` };
  }
  return {
    operationId: op.operationId,
    summary: op.summary,
    tags: op.tags,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.requestBody
      ? { requestBody: { required: route.body !== 'optional', content: jsonContent(op.requestBody) } }
      : {}),
    responses,
    security: route.access === 'public' ? [] : [{ bearerAuth: [] }],
    ...(route.access === 'admin'
      ? { 'x-roles': ['admin'] }
      : { 'x-roles': route.access === 'any' ? ['admin', 'developer'] : [] }),
  };
}

let cached: { routes: readonly DocumentedRoute[]; document: Record<string, unknown> } | undefined;

export function buildOpenApiDocument(routes: readonly DocumentedRoute[]): Record<string, unknown> {
  if (cached?.routes === routes) return cached.document;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.method.toLowerCase()] = operationObject(route);
  }
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'authprofiles admin API',
      version: '1.0.0',
      description:
        'Authorization profiles, pre-authorization, connections, audit log and API keys. Every route but this document needs `Authorization: Bearer <key>` (keys from ADMIN_API_KEYS or created here / with the CLI). Roles: admin (everything); developer (read profiles, manage custom profiles, see and revoke user connections of custom profiles). Bodies: application/json, at most 64 KiB, nested at most 20 levels; unknown fields are rejected. clientSecret is write-only. Responses are never cached (Cache-Control: no-store).',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: ['meta', 'profiles', 'authorizations', 'connections', 'audit', 'keys'].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'Admin API key' } },
      schemas: componentSchemas(),
      responses: Object.fromEntries(
        Object.entries(ERROR_RESPONSES).map(([status, description]) => [
          status,
          { description, content: jsonContent({ $ref: '#/components/schemas/Error' }) },
        ]),
      ),
    },
  };
  cached = { routes, document };
  return document;
}
