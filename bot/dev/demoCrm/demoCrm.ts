// A demo CRM API in the shape of HubSpot's CRM v3 objects API, served by the dev server so that the
// whole flow (consent → token → API call → card) works without a HubSpot account. It accepts only access
// tokens issued by the demo OAuth provider (bot/dev/authServer.mjs), checked by RFC 7662 introspection,
// and enforces HubSpot's read scopes per object type.
//
// The demo has one shared sample account (bot/dev/demoCrm/sampleCrmData.ts and sampleEngagements.ts): every
// user may read every record, as in HubSpot, and records belong to owners (sampleOwners.ts). A demo user
// maps to an owner by e-mail address (token info → owners?email=…), so "my deals" is a search filtered
// on hubspot_owner_id EQ that owner's id. Owners are served by crmOwners.ts, HubSpot's token-info
// endpoint by tokenInfo.ts.
import type { Request, Response, Server } from 'restify';

import { readJsonBody } from '../../http/requestBody';
import { CrmAccess } from './crmAccess';
import { present, sendError, sendValidationError } from './crmAnswers';
import { OBJECT_TYPES, resolveObjectType } from './crmObjects';
import { registerDemoOwners } from './crmOwners';
import {
  byNumericId,
  listQuerySchema,
  readQuerySchema,
  matchesFilterGroups,
  matchesQuery,
  propertyList,
  searchBodySchema,
  sortRecords,
  unknownProperty,
} from './crmSearch';
import { IntrospectionCache, type DemoIntrospection } from './introspection';
import { SAMPLE_CRM_DATA, type SampleObjectType, type SampleRecord } from './sampleCrmData';
import { registerTokenInfo } from './tokenInfo';

export { oauthIntrospector, type DemoIntrospection, type OAuthIntrospectorOptions } from './introspection';

export interface DemoCrmOptions {
  /**
   * Mount point, e.g. '/demo/crm'; routes are `${basePath}/crm/v3/objects/...`, `${basePath}/crm/v3/owners`
   * and `${basePath}/oauth/v1/access-tokens/:token`.
   */
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

  const access = new CrmAccess(tokens, clock);

  /** Authentication, object type and scope, in HubSpot's order; undefined once an error was sent. */
  const admit = async (req: Request, res: Response): Promise<SampleObjectType | undefined> => {
    const introspection = await access.authenticate(req, res);
    if (!introspection) return undefined;
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
    return access.requireScopes(res, introspection, OBJECT_TYPES[objectType].scopes) ? objectType : undefined;
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

  server.get(`${basePath}/crm/v3/objects/:objectType/:objectId`, async (req: Request, res: Response) => {
    const objectType = await admit(req, res);
    if (!objectType) return;
    const query = new URL(req.url ?? '/', 'http://demo.invalid').searchParams;
    const parsed = readQuerySchema.safeParse({
      idProperty: query.get('idProperty') ?? undefined,
      archived: query.get('archived') ?? undefined,
    });
    if (!parsed.success) {
      sendValidationError(res, parsed.error);
      return;
    }
    const { idProperty } = parsed.data;
    const rawId = String((req.params as Record<string, unknown>).objectId ?? '');
    if (idProperty !== 'hs_object_id' && !OBJECT_TYPES[objectType].idProperties.includes(idProperty)) {
      sendError(
        res,
        400,
        'VALIDATION_ERROR',
        `idProperty: "${idProperty.slice(0, 100)}" is not a unique property of ${objectType}`,
        {},
        [{ message: 'not a unique property', in: 'idProperty' }],
      );
      return;
    }
    if (idProperty === 'hs_object_id' && !/^\d{1,18}$/.test(rawId)) {
      sendError(
        res,
        400,
        'VALIDATION_ERROR',
        `objectId: "${rawId.slice(0, 100)}" is not a record id (a number); use idProperty to read by another property`,
        {},
        [{ message: 'must be a numeric record id', in: 'objectId' }],
      );
      return;
    }
    const wanted = rawId.toLowerCase();
    const record =
      parsed.data.archived === 'true'
        ? undefined
        : data[objectType].find((r) =>
            idProperty === 'hs_object_id'
              ? r.id === rawId
              : r.properties[idProperty]?.toLowerCase() === wanted,
          );
    if (!record) {
      sendError(
        res,
        404,
        'OBJECT_NOT_FOUND',
        `Object not found. No ${objectType} record has ${idProperty} ${rawId.slice(0, 100)}.`,
      );
      return;
    }
    res.json(200, present(objectType, record, propertyList(query.getAll('properties'))), {
      'Cache-Control': 'no-store',
    });
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

  registerDemoOwners(server, { basePath, access });
  registerTokenInfo(server, { basePath, access, clock });
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

function normaliseBasePath(basePath: string): string {
  const trimmed = basePath.trim().replace(/\/+$/, '');
  if (trimmed !== '' && !trimmed.startsWith('/')) throw new Error('basePath must start with "/"');
  return trimmed;
}
