// A demo CRM API in the shape of HubSpot's CRM v3 objects API, served by the dev server so that the
// whole flow (consent → token → API call → card) works without a HubSpot account. It accepts only access
// tokens issued by the demo OAuth provider (bot/dev/authServer.mjs), checked by RFC 7662 introspection,
// and enforces HubSpot's read scopes per object type.
//
// The demo has one shared sample account (bot/dev/demoCrm/sampleCrmData.ts): every user sees the same records,
// so "my deals" is every deal.
import { createHash, randomUUID } from 'node:crypto';

import type { Request, Response, Server } from 'restify';
import { z } from 'zod';

import { SAMPLE_CRM_DATA, type SampleObjectType, type SampleRecord } from './sampleCrmData';

/** What the demo needs to know about a presented token (a subset of an RFC 7662 response). */
export interface DemoIntrospection {
  active: boolean;
  scope?: string;
  sub?: string;
  /** Seconds since the epoch; a cached answer is never trusted past it. */
  exp?: number;
}

export interface DemoCrmOptions {
  /** Mount point, e.g. '/demo/crm'; routes are `${basePath}/crm/v3/objects/...`. */
  basePath: string;
  introspect(token: string): Promise<DemoIntrospection>;
  /** How long an introspection answer is reused; capped at 30 s. */
  cacheTtlMs?: number;
  /** Most tokens remembered at once; the oldest are forgotten first. */
  maxCachedTokens?: number;
  /** Source data; defaults to the bundled sample account. */
  data?: Readonly<Record<SampleObjectType, readonly SampleRecord[]>>;
  clock?: () => number;
}

const MAX_CACHE_TTL_MS = 30_000;
const DEFAULT_MAX_CACHED_TOKENS = 1_000;
const MAX_BODY_BYTES = 64 * 1024;
const LIST_MAX_LIMIT = 100;
const SEARCH_MAX_LIMIT = 200;
const DEFAULT_LIMIT = 10;
// HubSpot: at most 5 filter groups, 6 filters per group, 18 filters in all.
const MAX_FILTER_GROUPS = 5;
const MAX_FILTERS_PER_GROUP = 6;
const MAX_FILTERS = 18;

interface ObjectTypeInfo {
  scope: string;
  properties: readonly string[];
  /** Properties the free-text `query` of a search looks at. */
  searchable: readonly string[];
}

const OBJECT_TYPES: Record<SampleObjectType, ObjectTypeInfo> = {
  contacts: {
    scope: 'crm.objects.contacts.read',
    properties: ['firstname', 'lastname', 'email', 'company', 'phone'],
    searchable: ['firstname', 'lastname', 'email', 'company', 'phone'],
  },
  companies: {
    scope: 'crm.objects.companies.read',
    properties: ['name', 'domain', 'industry', 'city'],
    searchable: ['name', 'domain'],
  },
  deals: {
    scope: 'crm.objects.deals.read',
    properties: ['dealname', 'amount', 'dealstage', 'closedate', 'pipeline', 'hubspot_owner_id'],
    searchable: ['dealname'],
  },
  tickets: {
    // HubSpot's ticket scope has no crm.objects prefix.
    scope: 'tickets',
    properties: [
      'subject',
      'content',
      'hs_pipeline',
      'hs_pipeline_stage',
      'hs_ticket_priority',
      'createdate',
      'hubspot_owner_id',
    ],
    searchable: ['subject', 'content'],
  },
};

// HubSpot also addresses the standard objects by type id.
const OBJECT_TYPE_IDS: Record<string, SampleObjectType> = {
  '0-1': 'contacts',
  '0-2': 'companies',
  '0-3': 'deals',
  '0-5': 'tickets',
};

const BASE_PROPERTIES = ['hs_object_id', 'createdate', 'lastmodifieddate'] as const;

export function registerDemoCrm(server: Server, options: DemoCrmOptions): void {
  const basePath = normaliseBasePath(options.basePath);
  const data = options.data ?? SAMPLE_CRM_DATA;
  const clock = options.clock ?? Date.now;
  const tokens = new IntrospectionCache(
    options.introspect,
    Math.min(options.cacheTtlMs ?? MAX_CACHE_TTL_MS, MAX_CACHE_TTL_MS),
    options.maxCachedTokens ?? DEFAULT_MAX_CACHED_TOKENS,
    clock,
  );

  /** Authentication, object type and scope, in HubSpot's order; undefined once an error was sent. */
  const admit = async (req: Request, res: Response): Promise<SampleObjectType | undefined> => {
    const token = bearerToken(req);
    if (token === undefined) {
      // RFC 6750 §3.1: a request without credentials gets the challenge but no error code.
      sendError(res, 401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found.', {
        'WWW-Authenticate': 'Bearer realm="demo-crm"',
      });
      return undefined;
    }
    let introspection: DemoIntrospection;
    try {
      introspection = await tokens.lookup(token);
    } catch {
      sendError(
        res,
        503,
        'SERVICE_UNAVAILABLE',
        'The token could not be checked right now; try again shortly.',
      );
      return undefined;
    }
    const expired = introspection.exp !== undefined && introspection.exp * 1000 <= clock();
    if (!introspection.active || expired) {
      sendError(
        res,
        401,
        'INVALID_AUTHENTICATION',
        'The OAuth token used to make this call expired or is not valid.',
        {
          'WWW-Authenticate':
            'Bearer realm="demo-crm", error="invalid_token", error_description="The access token is invalid or expired"',
        },
      );
      return undefined;
    }
    const rawType = String((req.params as Record<string, unknown> | undefined)?.objectType ?? '');
    const objectType = resolveObjectType(rawType);
    if (!objectType) {
      sendError(
        res,
        400,
        'VALIDATION_ERROR',
        `Unable to infer object type from: ${rawType.slice(0, 100)}`,
        {},
        [{ message: 'unknown object type', in: 'objectType' }],
      );
      return undefined;
    }
    const required = OBJECT_TYPES[objectType].scope;
    const granted = (introspection.scope ?? '').split(/\s+/).filter(Boolean);
    if (!granted.includes(required)) {
      sendError(
        res,
        403,
        'MISSING_SCOPES',
        `This app hasn't been granted all required scopes to make this call. Required scope: ${required}.`,
        {},
        [
          {
            message: 'One or more of the following scopes are required.',
            context: { requiredScopes: [required] },
          },
        ],
      );
      return undefined;
    }
    return objectType;
  };

  server.get(`${basePath}/crm/v3/objects/:objectType`, async (req: Request, res: Response) => {
    const objectType = await admit(req, res);
    if (!objectType) return;
    const query = new URL(req.url ?? '/', 'http://demo.invalid').searchParams;
    const parsed = listQuerySchema.safeParse({
      limit: query.get('limit') ?? undefined,
      after: query.get('after') ?? undefined,
      archived: query.get('archived') ?? undefined,
    });
    if (!parsed.success) {
      sendValidationError(res, parsed.error);
      return;
    }
    const requested = propertyList(query.getAll('properties'));
    const records = parsed.data.archived === 'true' ? [] : [...data[objectType]].sort(byNumericId);
    const offset = parsed.data.after ?? 0;
    const page = records.slice(offset, offset + parsed.data.limit);
    const next = offset + parsed.data.limit;
    const body: Record<string, unknown> = { results: page.map((r) => present(objectType, r, requested)) };
    if (next < records.length) {
      const link = new URLSearchParams({ limit: String(parsed.data.limit), after: String(next) });
      if (requested) link.set('properties', requested.join(','));
      body.paging = {
        next: { after: String(next), link: `${basePath}/crm/v3/objects/${objectType}?${link.toString()}` },
      };
    }
    res.json(200, body, { 'Cache-Control': 'no-store' });
  });

  server.post(`${basePath}/crm/v3/objects/:objectType/search`, async (req: Request, res: Response) => {
    const objectType = await admit(req, res);
    if (!objectType) return;
    const raw = await readJsonBody(req);
    if (!raw.ok) {
      sendError(res, raw.status, 'VALIDATION_ERROR', raw.message);
      return;
    }
    const parsed = searchBodySchema.safeParse(raw.value);
    if (!parsed.success) {
      sendValidationError(res, parsed.error);
      return;
    }
    const search = parsed.data;
    const unknown = unknownProperty(objectType, search);
    if (unknown) {
      sendError(
        res,
        400,
        'VALIDATION_ERROR',
        `${unknown.field}: unknown property "${unknown.name}" for ${objectType}`,
        {},
        [{ message: `unknown property "${unknown.name}"`, in: unknown.field }],
      );
      return;
    }
    const info = OBJECT_TYPES[objectType];
    const matching = data[objectType].filter(
      (record) =>
        matchesFilterGroups(record, search.filterGroups) && matchesQuery(record, info, search.query),
    );
    const sorted = sortRecords(matching, search.sorts);
    const offset = search.after ?? 0;
    const page = sorted.slice(offset, offset + search.limit);
    const next = offset + search.limit;
    const body: Record<string, unknown> = {
      total: sorted.length,
      results: page.map((r) => present(objectType, r, search.properties)),
    };
    if (next < sorted.length) body.paging = { next: { after: String(next), link: `?after=${next}` } };
    res.json(200, body, { 'Cache-Control': 'no-store' });
  });
}

// ---------------------------------------------------------------------------------------------------
// RFC 7662 introspection client for the demo provider

export interface OAuthIntrospectorOptions {
  /** e.g. `${issuer}/token/introspection` */
  introspectionUrl: string;
  clientId: string;
  clientSecret: string;
  /** When set, tokens whose `aud` does not include it are inactive (e.g. `${issuer}/api`). */
  audience?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const introspectionResponseSchema = z.object({
  active: z.boolean(),
  scope: z.string().optional(),
  sub: z.string().optional(),
  exp: z.number().optional(),
  token_type: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
});

/**
 * Introspects with client_secret_basic. Only access tokens count: oidc-provider also reports refresh
 * tokens as active (without a token_type), and a refresh token must never work as a bearer token.
 */
export function oauthIntrospector(
  options: OAuthIntrospectorOptions,
): (token: string) => Promise<DemoIntrospection> {
  const doFetch = options.fetch ?? fetch;
  // RFC 6749 §2.3.1: client id and secret are form-encoded before they are joined and base64-encoded.
  const credentials = Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
  ).toString('base64');
  return async (token) => {
    const res = await doFetch(options.introspectionUrl, {
      method: 'POST',
      headers: {
        authorization: `Basic ${credentials}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`introspection endpoint answered ${res.status}`);
    }
    const parsed = introspectionResponseSchema.safeParse(await res.json());
    if (!parsed.success) throw new Error('introspection endpoint answered an unexpected document');
    const answer = parsed.data;
    if (!answer.active || answer.token_type?.toLowerCase() !== 'bearer') return { active: false };
    if (options.audience !== undefined) {
      const audiences = Array.isArray(answer.aud) ? answer.aud : answer.aud === undefined ? [] : [answer.aud];
      if (!audiences.includes(options.audience)) return { active: false };
    }
    return { active: true, scope: answer.scope, sub: answer.sub, exp: answer.exp };
  };
}

// ---------------------------------------------------------------------------------------------------
// Token cache

interface CacheEntry {
  expiresAt: number;
  answer: Promise<DemoIntrospection>;
}

/**
 * Remembers introspection answers per token for a short time (never past the token's `exp`), shares one
 * request among concurrent callers, forgets failures at once, and holds at most `maxEntries` tokens.
 * Keys are SHA-256 digests so the cache does not hold the tokens themselves.
 */
class IntrospectionCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(
    private readonly introspect: (token: string) => Promise<DemoIntrospection>,
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly clock: () => number,
  ) {}

  lookup(token: string): Promise<DemoIntrospection> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.answer;
    this.entries.delete(key);
    if (this.ttlMs <= 0) return this.introspect(token);

    const entry: CacheEntry = { expiresAt: now + this.ttlMs, answer: Promise.resolve({ active: false }) };
    entry.answer = this.introspect(token).then(
      (answer) => {
        if (answer.exp !== undefined) entry.expiresAt = Math.min(entry.expiresAt, answer.exp * 1000);
        return answer;
      },
      (error: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw error;
      },
    );
    this.makeRoom(now);
    this.entries.set(key, entry);
    return entry.answer;
  }

  private makeRoom(now: number): void {
    if (this.entries.size < this.maxEntries) return;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(key);
    }
    // Map iteration follows insertion order, so the first keys are the oldest.
    for (const key of this.entries.keys()) {
      if (this.entries.size < this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Input

const listQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(LIST_MAX_LIMIT))
    .default(DEFAULT_LIMIT),
  after: z.string().regex(/^\d+$/, 'must be a cursor from paging.next.after').transform(Number).optional(),
  archived: z.enum(['true', 'false']).optional(),
});

const filterSchema = z.strictObject({
  propertyName: z.string().min(1),
  operator: z.enum(['EQ', 'NEQ', 'CONTAINS_TOKEN', 'GT', 'LT']),
  value: z.union([z.string(), z.number(), z.boolean()]),
});

type Filter = z.infer<typeof filterSchema>;

const sortSchema = z.union([
  // HubSpot also accepts a bare property name, descending with a leading '-'.
  z
    .string()
    .min(1)
    .transform((s) =>
      s.startsWith('-')
        ? { propertyName: s.slice(1), direction: 'DESCENDING' as const }
        : { propertyName: s, direction: 'ASCENDING' as const },
    ),
  z.strictObject({
    propertyName: z.string().min(1),
    direction: z.enum(['ASCENDING', 'DESCENDING']).default('ASCENDING'),
  }),
]);

type Sort = z.infer<typeof sortSchema>;

const searchBodySchema = z
  .strictObject({
    filterGroups: z
      .array(z.strictObject({ filters: z.array(filterSchema).min(1).max(MAX_FILTERS_PER_GROUP) }))
      .max(MAX_FILTER_GROUPS)
      .default([]),
    query: z.string().max(3_000).optional(),
    sorts: z.array(sortSchema).max(1).default([]),
    properties: z.array(z.string().min(1)).max(200).optional(),
    limit: z.number().int().min(1).max(SEARCH_MAX_LIMIT).default(DEFAULT_LIMIT),
    after: z
      .union([z.string().regex(/^\d+$/, 'must be a cursor from paging.next.after'), z.number().int().min(0)])
      .transform(Number)
      .optional(),
  })
  .superRefine((body, ctx) => {
    const count = body.filterGroups.reduce((sum, group) => sum + group.filters.length, 0);
    if (count > MAX_FILTERS) {
      ctx.addIssue({
        code: 'custom',
        path: ['filterGroups'],
        message: `at most ${MAX_FILTERS} filters in all`,
      });
    }
  });

type SearchBody = z.infer<typeof searchBodySchema>;

function propertyList(values: string[]): string[] | undefined {
  const names = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  return names.length > 0 ? names : undefined;
}

function unknownProperty(
  objectType: SampleObjectType,
  search: SearchBody,
): { field: string; name: string } | undefined {
  const known = new Set<string>([...OBJECT_TYPES[objectType].properties, ...BASE_PROPERTIES]);
  for (const [g, group] of search.filterGroups.entries()) {
    for (const [f, filter] of group.filters.entries()) {
      if (!known.has(filter.propertyName)) {
        return { field: `filterGroups[${g}].filters[${f}].propertyName`, name: filter.propertyName };
      }
    }
  }
  for (const [s, sort] of search.sorts.entries()) {
    if (!known.has(sort.propertyName)) return { field: `sorts[${s}].propertyName`, name: sort.propertyName };
  }
  return undefined;
}

async function readJsonBody(
  req: Request,
): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> {
  // Works whether or not the server runs restify's body parser: use what it left, else read the stream.
  const parsedAlready = (req as { body?: unknown }).body;
  let text: string;
  if (parsedAlready !== undefined && typeof parsedAlready !== 'string' && !Buffer.isBuffer(parsedAlready)) {
    return { ok: true, value: parsedAlready };
  } else if (parsedAlready !== undefined) {
    text = parsedAlready.toString();
  } else {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer | string>) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > MAX_BODY_BYTES) return { ok: false, status: 413, message: 'request body is too large' };
      chunks.push(buffer);
    }
    text = Buffer.concat(chunks).toString('utf8');
  }
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, status: 400, message: 'Invalid input JSON: the request body is not valid JSON' };
  }
}

// ---------------------------------------------------------------------------------------------------
// Search semantics: filters within a group AND, groups OR (as HubSpot)

function matchesFilterGroups(record: SampleRecord, groups: SearchBody['filterGroups']): boolean {
  if (groups.length === 0) return true;
  return groups.some((group) =>
    group.filters.every((filter) => matchesFilter(valueOf(record, filter.propertyName), filter)),
  );
}

function matchesFilter(value: string | undefined, filter: Filter): boolean {
  switch (filter.operator) {
    case 'EQ':
      return value !== undefined && equal(value, filter.value);
    case 'NEQ':
      return value === undefined || !equal(value, filter.value);
    case 'CONTAINS_TOKEN':
      return value !== undefined && containsToken(value, String(filter.value));
    case 'GT':
      return value !== undefined && (compare(value, filter.value) ?? 0) > 0;
    case 'LT':
      return value !== undefined && (compare(value, filter.value) ?? 0) < 0;
  }
}

function matchesQuery(record: SampleRecord, info: ObjectTypeInfo, query: string | undefined): boolean {
  const terms = (query ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return true;
  const haystack = info.searchable.map((name) => (record.properties[name] ?? '').toLowerCase());
  return terms.every((term) => haystack.some((value) => value.includes(term)));
}

function valueOf(record: SampleRecord, property: string): string | undefined {
  if (property === 'hs_object_id') return record.id;
  if (property === 'lastmodifieddate') return record.updatedAt;
  if (property === 'createdate') return record.properties.createdate ?? record.createdAt;
  return record.properties[property];
}

/** Numbers and dates compare as numbers (HubSpot takes dates as epoch milliseconds or ISO strings). */
function comparable(value: string | number | boolean): number | string {
  if (typeof value === 'number') return value;
  const text = String(value).trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const time = Date.parse(text);
    if (!Number.isNaN(time)) return time;
  }
  return text.toLowerCase();
}

function equal(value: string, expected: string | number | boolean): boolean {
  return comparable(value) === comparable(expected);
}

function compare(value: string, other: string | number | boolean): number | undefined {
  const a = comparable(value);
  const b = comparable(other);
  if (typeof a !== typeof b) return undefined;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A word of the value equals the token; `*` in the token is a wildcard, as in HubSpot. */
function containsToken(value: string, token: string): boolean {
  const pattern = new RegExp(
    `^${token
      .toLowerCase()
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'u',
  );
  const lower = value.toLowerCase();
  return (
    pattern.test(lower) || lower.split(/[^\p{L}\p{N}]+/u).some((word) => word !== '' && pattern.test(word))
  );
}

function sortRecords(records: SampleRecord[], sorts: Sort[]): SampleRecord[] {
  const sort = sorts[0];
  const sorted = [...records].sort(byNumericId);
  if (!sort) return sorted;
  const sign = sort.direction === 'DESCENDING' ? -1 : 1;
  return sorted.sort((a, b) => {
    const va = valueOf(a, sort.propertyName);
    const vb = valueOf(b, sort.propertyName);
    // Records without the property come last in either direction.
    if (va === undefined || vb === undefined) return va === vb ? 0 : va === undefined ? 1 : -1;
    const ca = comparable(va);
    const cb = comparable(vb);
    if (typeof ca !== typeof cb) return String(ca).localeCompare(String(cb)) * sign;
    return (ca < cb ? -1 : ca > cb ? 1 : 0) * sign;
  });
}

function byNumericId(a: SampleRecord, b: SampleRecord): number {
  return Number(a.id) - Number(b.id);
}

// ---------------------------------------------------------------------------------------------------
// Output

function present(objectType: SampleObjectType, record: SampleRecord, requested: string[] | undefined) {
  const all: Record<string, string> = {
    ...record.properties,
    createdate: record.properties.createdate ?? record.createdAt,
    lastmodifieddate: record.updatedAt,
    hs_object_id: record.id,
  };
  let properties: Record<string, string | null> = all;
  if (requested) {
    // As HubSpot: the requested known properties (null when empty) plus the three base properties;
    // unknown names are ignored.
    const known = new Set<string>(OBJECT_TYPES[objectType].properties);
    properties = {};
    for (const name of [...requested.filter((n) => known.has(n)), ...BASE_PROPERTIES]) {
      properties[name] = all[name] ?? null;
    }
  }
  return {
    id: record.id,
    properties,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    archived: false,
  };
}

interface HubSpotErrorDetail {
  message: string;
  in?: string;
  context?: Record<string, unknown>;
}

function sendError(
  res: Response,
  status: number,
  category: string,
  message: string,
  headers: Record<string, string> = {},
  errors?: HubSpotErrorDetail[],
): void {
  const body: Record<string, unknown> = { status: 'error', message, correlationId: randomUUID(), category };
  if (errors) body.errors = errors;
  res.json(status, body, { 'Cache-Control': 'no-store', ...headers });
}

function sendValidationError(res: Response, error: z.ZodError): void {
  const details = error.issues.slice(0, 10).map((issue): HubSpotErrorDetail => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const field = fieldName([...issue.path, ...keys.slice(0, 1)]);
    const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
    return { message, in: field || 'body' };
  });
  const first = details[0] ?? { message: 'invalid request', in: 'body' };
  sendError(res, 400, 'VALIDATION_ERROR', `Invalid input: ${first.in}: ${first.message}`, {}, details);
}

/** ['filterGroups', 0, 'filters', 1, 'operator'] → 'filterGroups[0].filters[1].operator' */
function fieldName(path: PropertyKey[]): string {
  return path.reduce<string>((name, part) => {
    if (typeof part === 'number') return `${name}[${part}]`;
    const key = String(part);
    return name === '' ? key : `${name}.${key}`;
  }, '');
}

function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  // RFC 6750 §2.1: "Bearer" (case-insensitive) followed by a b64token.
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}

function resolveObjectType(raw: string): SampleObjectType | undefined {
  const lower = raw.toLowerCase();
  if (Object.hasOwn(OBJECT_TYPES, lower)) return lower as SampleObjectType;
  return Object.hasOwn(OBJECT_TYPE_IDS, lower) ? OBJECT_TYPE_IDS[lower] : undefined;
}

function normaliseBasePath(basePath: string): string {
  const trimmed = basePath.trim().replace(/\/+$/, '');
  if (trimmed !== '' && !trimmed.startsWith('/')) throw new Error('basePath must start with "/"');
  return trimmed;
}
