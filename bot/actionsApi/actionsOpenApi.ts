import { errorSchema } from '../admin/api/jsonSchemaParts';
import { MAX_REQUEST_BYTES } from './proxyBody';
import { FORWARDED_REQUEST_HEADERS, RETURNED_RESPONSE_HEADERS } from './proxyHeaders';

/**
 * The OpenAPI 3.1 document of the execute API and the proxy, served at `/api/actions/openapi.json`
 * (public: shapes, never data), a sibling of the admin API's document. test/actionsApi/openapi.test.ts
 * checks that it lists exactly the routes the service registers and validates live answers against it.
 */

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json): Json => ({ 'application/json': { schema } });
const errorResponse = (description: string): Json => ({ description, content: json(ref('Error')) });

const profileId = { name: 'profileId', in: 'path', required: true, schema: { type: 'string' } };
const name = (what: string) => ({
  name: what,
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,39}$' },
});

const CALLER_ERRORS: Json = {
  '401': errorResponse('No or invalid credentials (a bot token that does not verify, an unknown admin key)'),
  '403': errorResponse(
    'The caller may not: a bot not allow-listed, a developer key, the access policy (`access-denied`)',
  ),
  '404': errorResponse('No such profile (`profile-not-found`) or connection (`connection-not-found`)'),
  '429': errorResponse('Too many wrong admin keys from this client: wait Retry-After seconds'),
};

const CONNECTION_ERRORS: Json = {
  '409': errorResponse(
    'No usable token: `not-connected`, `needs-reauthorization` or `pending-verification` (no sign-in link: a bot signs its user in through the token service)',
  ),
  '503': errorResponse('`profile-not-configured`, `no-api-base`, or `provider-unavailable` (Retry-After)'),
};

const selectionHeaders = [
  ['X-AuthProfiles-User-Id', 'Bot callers: the user (with X-AuthProfiles-Channel-Id)'],
  ['X-AuthProfiles-Channel-Id', "Bot callers: the user's channel, e.g. msteams or webchat"],
  [
    'X-AuthProfiles-Connection-Id',
    'Admin callers: the connection to use; absent: the organisation connection',
  ],
  ['X-AuthProfiles-Account', 'A named connection (e.g. work) instead of the default one'],
].map(([header, description]) => ({
  name: header,
  in: 'header',
  required: false,
  description,
  schema: { type: 'string' },
}));

function proxyOperation(method: string, withPath: boolean): Json {
  return {
    operationId: `proxy${method[0]?.toUpperCase()}${method.slice(1)}${withPath ? '' : 'Root'}`,
    summary: `${method.toUpperCase()} the profile's API at <API base>/<path>?<query>, with the connection's token injected`,
    tags: ['proxy'],
    parameters: [
      profileId,
      ...(withPath
        ? [
            {
              name: 'path',
              in: 'path',
              required: true,
              description: 'The rest of the path under the API base (may hold slashes)',
              schema: { type: 'string' },
            },
          ]
        : []),
      ...selectionHeaders,
    ],
    ...(['post', 'put', 'patch', 'delete'].includes(method)
      ? {
          requestBody: {
            required: false,
            description: `Passed as is, at most ${MAX_REQUEST_BYTES} bytes (413 beyond)`,
            content: { '*/*': { schema: {} } },
          },
        }
      : {}),
    responses: {
      default: {
        description: `The provider's answer: its status, only the headers ${RETURNED_RESPONSE_HEADERS.slice(0, 8).join(', ')} (and rate-limit headers), the body with the access token replaced by [redacted]. The proxy's own refusals carry X-AuthProfiles-Error.`,
      },
      '400': errorResponse(
        '`invalid-proxy-path` (the path could leave the API base), or a bad selection header',
      ),
      ...CALLER_ERRORS,
      ...CONNECTION_ERRORS,
      '413': errorResponse('Request body larger than 1 MiB'),
      '502': errorResponse('`upstream-unavailable`, `upstream-bad-response` or `outbound-refused`'),
      '504': errorResponse('`upstream-timeout`'),
    },
    security: [{ botToken: [] }, { adminKey: [] }],
  };
}

const PROXY_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'];

let cached: Json | undefined;

export function actionsOpenApiDocument(): Json {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'authprofiles execute API and proxy',
      version: '1.0.0',
      description: `Run a profile's declared actions, or call its API through a token-injecting proxy, with a connection's token the caller never sees. Callers: a Bot Framework bot (its Entra-signed token, as for the token service) naming the user, or an admin API key (role admin) naming a connection. Proxy request headers forwarded: ${FORWARDED_REQUEST_HEADERS.join(', ')}; all others (Authorization, Cookie, Host, X-AuthProfiles-*) are dropped.`,
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: [{ name: 'meta' }, { name: 'actions' }, { name: 'proxy' }],
    paths: {
      '/api/actions/openapi.json': {
        get: {
          operationId: 'getActionsOpenApiDocument',
          summary: 'This document (public)',
          tags: ['meta'],
          responses: { '200': { description: 'The document', content: json({ type: 'object' }) } },
          security: [],
        },
      },
      '/api/actions/{profileId}': {
        get: {
          operationId: 'listActions',
          summary: "The profile's enabled actions with their parameter schemas",
          tags: ['actions'],
          parameters: [profileId],
          responses: {
            '200': { description: 'The enabled actions', content: json(ref('ActionList')) },
            '400': errorResponse('Malformed profile id'),
            ...CALLER_ERRORS,
            '503': errorResponse('`profile-not-configured`'),
          },
          security: [{ botToken: [] }, { adminKey: [] }],
        },
      },
      '/api/actions/{profileId}/{entity}/{action}': {
        post: {
          operationId: 'executeAction',
          summary: 'Run one action with a connection: execute(entity, action, params)',
          tags: ['actions'],
          parameters: [profileId, name('entity'), name('action')],
          requestBody: { required: true, content: json(ref('ExecuteRequest')) },
          responses: {
            '200': { description: 'The declared fields of each result', content: json(ref('ExecuteResult')) },
            '400': errorResponse(
              '`invalid-request` (body), `invalid-body` (not JSON), `invalid-params` (issues name each parameter), `bad-request` (the provider refused)',
            ),
            ...CALLER_ERRORS,
            '403': errorResponse(
              '`action-disabled`, `missing-scopes` (missingScopes), `forbidden` (by the provider), or the caller may not (see 401/403 of the proxy)',
            ),
            '404': errorResponse(
              '`unknown-action`, `profile-not-found`, `connection-not-found`, `not-found` (at the provider)',
            ),
            ...CONNECTION_ERRORS,
            '413': errorResponse('Body larger than 64 KiB'),
            '415': errorResponse('Body not sent as application/json'),
            '422': errorResponse(
              "`current-user-unknown`: the connection's user was not found at the provider",
            ),
            '429': errorResponse(
              '`rate-limited` by the provider (Retry-After), or too many wrong admin keys',
            ),
            '502': errorResponse(
              '`unavailable`, `bad-response`, `unauthorized` (the provider refused the token again after a refresh)',
            ),
          },
          security: [{ botToken: [] }, { adminKey: [] }],
        },
      },
      '/api/proxy/{profileId}': Object.fromEntries(PROXY_METHODS.map((m) => [m, proxyOperation(m, false)])),
      '/api/proxy/{profileId}/{path}': Object.fromEntries(
        PROXY_METHODS.map((m) => [m, proxyOperation(m, true)]),
      ),
    },
    components: {
      securitySchemes: {
        botToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "A bot's Microsoft Entra token for https://api.botframework.com (allow-listed app ids)",
        },
        adminKey: { type: 'http', scheme: 'bearer', description: 'An admin API key with role admin' },
      },
      schemas: {
        Error: errorSchema({
          action: { type: 'string' },
          upstreamStatus: { type: 'integer' },
          missingScopes: { type: 'array', items: { type: 'string' } },
          declinedScopes: { type: 'array', items: { type: 'string' } },
        }),
        ExecuteRequest: {
          type: 'object',
          additionalProperties: false,
          properties: {
            params: { type: 'object', description: "The action's parameters (see its params schema)" },
            userId: { type: 'string', description: 'Bot callers: the user (with channelId)' },
            channelId: { type: 'string', description: "Bot callers: the user's channel" },
            connectionId: {
              type: 'string',
              description: 'Admin callers: the connection; absent: the organisation connection',
            },
            account: { type: 'string', description: 'A named connection (e.g. work)' },
          },
        },
        ExecuteResult: {
          type: 'object',
          required: ['action', 'status', 'fields', 'results'],
          properties: {
            action: { type: 'string', examples: ['deals.list-mine'] },
            status: { type: 'integer', description: "The provider's HTTP status" },
            fields: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'label', 'format'],
                properties: {
                  name: { type: 'string' },
                  label: { type: 'string' },
                  format: { type: 'string' },
                },
              },
            },
            results: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
              },
            },
            total: { type: 'integer', minimum: 0 },
          },
        },
        ActionList: {
          type: 'object',
          required: ['profile', 'actions'],
          properties: {
            profile: {
              type: 'object',
              required: ['id', 'displayName'],
              properties: { id: { type: 'string' }, displayName: { type: 'string' } },
            },
            actions: {
              type: 'array',
              items: {
                type: 'object',
                required: [
                  'key',
                  'entity',
                  'action',
                  'title',
                  'access',
                  'method',
                  'params',
                  'scopes',
                  'execute',
                ],
                properties: {
                  key: { type: 'string' },
                  entity: { type: 'string' },
                  action: { type: 'string' },
                  title: { type: 'string' },
                  description: { type: 'string' },
                  access: { enum: ['read', 'write'] },
                  method: { type: 'string' },
                  params: { type: 'object', additionalProperties: { type: 'object' } },
                  scopes: { type: 'array', items: { type: 'string' } },
                  execute: { type: 'string', description: 'The path to POST to' },
                },
              },
            },
          },
        },
      },
    },
  };
  return cached;
}
