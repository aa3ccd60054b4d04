// A demo CRM API in the shape of HubSpot's CRM v3 objects API, served by the dev server so that the
// whole flow (consent → token → API call → card) works without a HubSpot account. It accepts only access
// tokens issued by the demo OAuth provider (bot/dev/authServer.mjs), checked by RFC 7662 introspection,
// and enforces HubSpot's read scopes per object type.
//
// The demo has one shared sample account (bot/dev/demoCrm/sampleCrmData.ts): every user sees the same records,
// so "my deals" is every deal.
import type { Request, Response, Server } from 'restify';

import { readJsonBody } from '../../http/requestBody';
import { present, sendError, sendValidationError } from './crmAnswers';
import { OBJECT_TYPES, resolveObjectType } from './crmObjects';
import {
  byNumericId,
  listQuerySchema,
  matchesFilterGroups,
  matchesQuery,
  propertyList,
  searchBodySchema,
  sortRecords,
  unknownProperty,
} from './crmSearch';
import { IntrospectionCache, type DemoIntrospection } from './introspection';
import { SAMPLE_CRM_DATA, type SampleObjectType, type SampleRecord } from './sampleCrmData';

export { oauthIntrospector, type DemoIntrospection, type OAuthIntrospectorOptions } from './introspection';

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
    const raw = await readSearchBody(req);
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

/** The search body, read by bot/http/requestBody.ts; an empty body is an empty search. */
async function readSearchBody(
  req: Request,
): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> {
  const body = await readJsonBody(req, { maxBytes: MAX_BODY_BYTES });
  if (body.ok) return body;
  switch (body.problem) {
    case 'empty':
      return { ok: true, value: {} };
    case 'too-large':
      return { ok: false, status: 413, message: 'request body is too large' };
    default:
      return { ok: false, status: 400, message: 'Invalid input JSON: the request body is not valid JSON' };
  }
}

function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  // RFC 6750 §2.1: "Bearer" (case-insensitive) followed by a b64token.
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}

function normaliseBasePath(basePath: string): string {
  const trimmed = basePath.trim().replace(/\/+$/, '');
  if (trimmed !== '' && !trimmed.startsWith('/')) throw new Error('basePath must start with "/"');
  return trimmed;
}
