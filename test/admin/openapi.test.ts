// The OpenAPI 3.1 document at /admin/api/openapi.json must match the routes the service really serves:
// the whole app is built (bot/app.ts createApp, so routes registered anywhere count), every route under
// /admin/api must be documented with the same method and every documented operation must exist.
// The document's schemas are compiled with Ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect) and live
// responses are validated against them.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ADMIN_API_BASE } from '../../bot/admin/api/adminApi';
import { createApp, type App } from '../../bot/app';
import { loadConfig } from '../../bot/config';
import { createLogger } from '../../bot/logger';
import { createEngine, type EngineServices } from '../../bot/services';
import { generateKeySpec } from '../../profiles/encryption';

const ADMIN_KEY = 'openapi-admin-key-0123456789abcdef';
const DOC_ID = 'https://authprofiles.invalid/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

let dir: string;
let core: EngineServices;
let app: App;
let baseUrl: string;
let doc: Json;
let ajv: Ajv2020;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'authprofiles-openapi-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '3978',
    DATA_DIR: join(dir, 'data'),
    PROFILES_DIR: join(dir, 'profiles'),
    ENCRYPTION_KEYS: generateKeySpec('openapi1'),
    ADMIN_API_KEYS: `admin:${ADMIN_KEY}`,
    LOG_LEVEL: 'silent',
  });
  const log = createLogger({ level: 'silent' });
  core = await createEngine(config, log);
  app = createApp(config, { ...core, demo: null }, log);
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const response = await fetch(`${baseUrl}/admin/api/openapi.json`);
  expect(response.status).toBe(200);
  doc = await response.json();
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  // Component schemas refer to each other as `#/components/schemas/...`: register the document's
  // components under one id so those references resolve as they do in the document.
  ajv.addSchema({ $id: DOC_ID, components: doc.components });
});

afterAll(async () => {
  await app?.close();
  await core?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function registeredAdminRoutes(): string[] {
  const routes = Object.values(app.server.router.getRoutes()) as { method: string; path: string }[];
  return routes
    .filter((route) => route.path === ADMIN_API_BASE || route.path.startsWith(`${ADMIN_API_BASE}/`))
    .map((route) => `${route.method.toUpperCase()} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`)
    .sort();
}

function documentedOperations(): string[] {
  const operations: string[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) if (item[method]) operations.push(`${method.toUpperCase()} ${path}`);
  }
  return operations.sort();
}

function eachOperation(): { path: string; method: string; op: Json }[] {
  const all: { path: string; method: string; op: Json }[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) if (item[method]) all.push({ path, method, op: item[method] });
  }
  return all;
}

function validator(schemaName: string) {
  return ajv.compile({ $ref: `${DOC_ID}#/components/schemas/${schemaName}` });
}

function responseValidator(path: string, method: string, status: number) {
  const response = doc.paths[path][method].responses[String(status)];
  expect(response).toBeDefined();
  const resolved = response.$ref ? resolvePointer(response.$ref) : response;
  const schema = resolved.content['application/json'].schema;
  return ajv.compile(rebase(schema));
}

/** Makes `#/components/...` references absolute, so a schema compiled on its own resolves them. */
function rebase(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, `"$ref":"${DOC_ID}#/`));
}

function resolvePointer(ref: string): Json {
  expect(ref.startsWith('#/')).toBe(true);
  let node: Json = doc;
  for (const part of ref.slice(2).split('/')) {
    node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

function expectValid(validate: ReturnType<typeof ajv.compile>, value: unknown): void {
  const ok = validate(value);
  expect(ok ? [] : validate.errors).toEqual([]);
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

test('the document is OpenAPI 3.1 with a bearer security scheme', () => {
  expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
  expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
  expect(doc.components.securitySchemes.bearerAuth).toEqual(
    expect.objectContaining({ type: 'http', scheme: 'bearer' }),
  );
});

test('every route under /admin/api is documented with its method, and every documented operation exists', () => {
  const registered = registeredAdminRoutes();
  const documented = documentedOperations();
  expect(registered.length).toBeGreaterThanOrEqual(16);
  expect(documented).toEqual(registered);
  // Spot checks of the contract in the issue.
  expect(documented).toEqual(
    expect.arrayContaining([
      'POST /admin/api/profiles/{id}/authorizations',
      'POST /admin/api/connections/{id}/test',
      'GET /admin/api/audit',
      'GET /admin/api/openapi.json',
    ]),
  );
});

test('each operation is well formed: id, responses, declared path parameters, security', () => {
  const ids = new Set<string>();
  for (const { path, method, op } of eachOperation()) {
    const where = `${method.toUpperCase()} ${path}`;
    expect({ where, operationId: typeof op.operationId }).toEqual({ where, operationId: 'string' });
    expect(ids.has(op.operationId)).toBe(false);
    ids.add(op.operationId);
    expect(typeof op.summary).toBe('string');
    const statuses = Object.keys(op.responses ?? {});
    expect(statuses.some((status) => /^2\d\d$/.test(status))).toBe(true);
    for (const status of statuses) {
      const response = op.responses[status].$ref
        ? resolvePointer(op.responses[status].$ref)
        : op.responses[status];
      expect({ where, status, description: typeof response?.description }).toEqual({
        where,
        status,
        description: 'string',
      });
    }
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort();
    const declaredPath = (op.parameters ?? [])
      .filter((param: Json) => param.in === 'path')
      .map((param: Json) => {
        expect(param.required).toBe(true);
        return param.name;
      })
      .sort();
    expect({ where, params: declaredPath }).toEqual({ where, params: templated });
    for (const param of op.parameters ?? []) {
      expect(['path', 'query', 'header']).toContain(param.in);
      expect(param.schema).toBeDefined();
    }
    if (op.requestBody) {
      expect(Object.keys(op.requestBody.content)).toEqual(['application/json']);
      expect(op.responses['413']).toBeDefined();
      expect(op.responses['415']).toBeDefined();
    }
    if (path === '/admin/api/openapi.json') {
      expect(op.security).toEqual([]);
    } else {
      expect(op.security).toEqual([{ bearerAuth: [] }]);
      expect(op.responses['401']).toBeDefined();
      expect(op.responses['403']).toBeDefined();
    }
  }
});

test('every $ref resolves and every schema compiles as JSON Schema 2020-12', () => {
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1] as string);
  expect(refs.length).toBeGreaterThan(10);
  for (const ref of new Set(refs))
    expect({ ref, found: resolvePointer(ref) !== undefined }).toEqual({ ref, found: true });
  for (const name of Object.keys(doc.components.schemas)) expect(() => validator(name)).not.toThrow();
});

test('the profile body schema is derived from the zod schema: fields, requirements, write-only secret', () => {
  const input = doc.components.schemas.ProfileInput;
  expect(input.additionalProperties).toBe(false);
  expect(input.required).toEqual(
    expect.arrayContaining(['id', 'displayName', 'authorizationUrl', 'tokenUrl']),
  );
  expect(input.properties.clientSecret.writeOnly).toBe(true);
  expect(input.properties.clientSecretEnv).toBeUndefined();
  expect(doc.components.schemas.ProfileView.properties.clientSecret).toBeUndefined();
  const validate = validator('ProfileInput');
  const body = {
    id: 'acme',
    displayName: 'Acme',
    authorizationUrl: 'https://auth.acme.example/authorize',
    tokenUrl: 'https://auth.acme.example/token',
    clientId: 'acme',
    clientSecret: 'acme-secret-value',
    scopes: ['read'],
  };
  expectValid(validate, body);
  expect(validate({ ...body, colour: 'red' })).toBe(false);
  expect(validate({ ...body, scopes: 'read' })).toBe(false);
  const override = validator('SystemOverride');
  expectValid(override, { id: 'hubspot', clientId: 'x', clientSecret: 'y' });
  expect(override({ id: 'hubspot', authorizationUrl: 'https://evil.example/' })).toBe(false);
});

test('live responses match the documented schemas', async () => {
  const list = await call('GET', '/admin/api/profiles');
  expect(list.status).toBe(200);
  expectValid(responseValidator('/admin/api/profiles', 'get', 200), list.json);
  expect(list.json.profiles.length).toBeGreaterThan(0);

  const profile = {
    id: 'docs-check',
    displayName: 'Docs check',
    authorizationUrl: 'https://auth.docs.example/authorize',
    tokenUrl: 'https://auth.docs.example/token',
    clientId: 'docs',
    clientSecret: 'docs-secret-value',
    authorization: 'pre-authorized',
  };
  const created = await call('POST', '/admin/api/profiles', profile);
  expect(created.status).toBe(201);
  expectValid(responseValidator('/admin/api/profiles', 'post', 201), created.json);
  const read = await call('GET', '/admin/api/profiles/docs-check');
  expectValid(responseValidator('/admin/api/profiles/{id}', 'get', 200), read.json);
  const replaced = await call('PUT', '/admin/api/profiles/docs-check', { ...profile, displayName: 'Docs' });
  expectValid(responseValidator('/admin/api/profiles/{id}', 'put', 200), replaced.json);

  const started = await call('POST', '/admin/api/profiles/docs-check/authorizations');
  expect(started.status).toBe(201);
  expectValid(responseValidator('/admin/api/profiles/{id}/authorizations', 'post', 201), started.json);
  const status = await call('GET', '/admin/api/profiles/docs-check/authorizations');
  expectValid(responseValidator('/admin/api/profiles/{id}/authorizations', 'get', 200), status.json);

  const connections = await call('GET', '/admin/api/connections');
  expectValid(responseValidator('/admin/api/connections', 'get', 200), connections.json);
  const audit = await call('GET', '/admin/api/audit?limit=5');
  expectValid(responseValidator('/admin/api/audit', 'get', 200), audit.json);
  expect(audit.json.entries.length).toBeGreaterThan(0);

  const key = await call('POST', '/admin/api/keys', { name: 'docs', role: 'developer' });
  expectValid(responseValidator('/admin/api/keys', 'post', 201), key.json);
  const keys = await call('GET', '/admin/api/keys');
  expectValid(responseValidator('/admin/api/keys', 'get', 200), keys.json);
  const revokedKey = await call('DELETE', `/admin/api/keys/${key.json.id}`);
  expectValid(responseValidator('/admin/api/keys/{id}', 'delete', 200), revokedKey.json);

  const deleted = await call('DELETE', '/admin/api/profiles/docs-check');
  expectValid(responseValidator('/admin/api/profiles/{id}', 'delete', 200), deleted.json);

  // Errors have the documented shape too.
  const invalid = await call('POST', '/admin/api/profiles', { ...profile, colour: 'red' });
  expect(invalid.status).toBe(400);
  expectValid(responseValidator('/admin/api/profiles', 'post', 400), invalid.json);
  const missing = await call('GET', '/admin/api/profiles/nope');
  expect(missing.status).toBe(404);
  expectValid(responseValidator('/admin/api/profiles/{id}', 'get', 404), missing.json);
});

test('actions (issue 11): the profile fields and the two action routes are documented, and live answers match', async () => {
  const input = doc.components.schemas.ProfileInput.properties;
  for (const field of ['actions', 'actionSettings', 'currentUser']) {
    expect({ field, description: typeof input[field]?.description }).toEqual({
      field,
      description: 'string',
    });
    expect(doc.components.schemas.ProfileView.properties[field]).toBeDefined();
  }
  expect(input.actions.items.required).toEqual(expect.arrayContaining(['entity', 'action', 'title', 'path']));
  expect(doc.components.schemas.SystemOverride.properties.actionSettings).toBeDefined();
  expect(doc.components.schemas.SystemOverride.properties.actions).toBeUndefined();
  expect(doc.paths['/admin/api/profiles/{id}/actions'].get.operationId).toBe('listProfileActions');
  const put = doc.paths['/admin/api/profiles/{id}/actions/{key}'].put;
  expect(put.requestBody.content['application/json'].schema).toMatchObject({
    required: ['enabled'],
    additionalProperties: false,
  });
  expect(put.parameters.map((param: Json) => `${param.in}:${param.name}`)).toEqual([
    'path:id',
    'path:key',
    'header:If-Match',
  ]);

  const profile = {
    id: 'docs-actions',
    displayName: 'Docs actions',
    authorizationUrl: 'https://auth.docs.example/authorize',
    tokenUrl: 'https://auth.docs.example/token',
    apiBaseUrl: 'https://api.docs.example',
    clientId: 'docs',
    clientSecret: 'docs-secret-value',
    actions: [
      {
        entity: 'notes',
        action: 'list',
        title: 'Notes',
        path: '/notes',
        params: { q: { type: 'string' } },
        results: { path: 'items', fields: [{ path: 'title', label: 'Title' }] },
      },
    ],
  };
  expectValid(validator('ProfileInput'), profile);
  const created = await call('POST', '/admin/api/profiles', profile);
  expect(created.status).toBe(201);
  expectValid(responseValidator('/admin/api/profiles', 'post', 201), created.json);
  const listed = await call('GET', '/admin/api/profiles/docs-actions/actions');
  expect(listed.status).toBe(200);
  expectValid(responseValidator('/admin/api/profiles/{id}/actions', 'get', 200), listed.json);
  const switched = await call('PUT', '/admin/api/profiles/docs-actions/actions/notes.list', {
    enabled: false,
  });
  expect(switched.status).toBe(200);
  expectValid(responseValidator('/admin/api/profiles/{id}/actions/{key}', 'put', 200), switched.json);
  const read = await call('GET', '/admin/api/profiles/docs-actions');
  expect(read.json.actionSettings).toEqual({ 'notes.list': { enabled: false } });
  expectValid(responseValidator('/admin/api/profiles/{id}', 'get', 200), read.json);
  const unknown = await call('PUT', '/admin/api/profiles/docs-actions/actions/notes.delete', {
    enabled: true,
  });
  expect(unknown.status).toBe(404);
  expectValid(responseValidator('/admin/api/profiles/{id}/actions/{key}', 'put', 404), unknown.json);
  const bad = await call('PUT', '/admin/api/profiles/docs-actions/actions/notes.list', { enabled: 1 });
  expect(bad.status).toBe(400);
  expectValid(responseValidator('/admin/api/profiles/{id}/actions/{key}', 'put', 400), bad.json);
});
