import { z } from 'zod';
import { ASSOCIATION_TYPES, isKnownProperty, type AssociationName, type ObjectTypeInfo } from './crmObjects';
import type { SampleObjectType, SampleRecord } from './sampleCrmData';

/** The list query and search body the demo accepts, and HubSpot's search semantics over the sample data. */

const LIST_MAX_LIMIT = 100;
const SEARCH_MAX_LIMIT = 200;
const DEFAULT_LIMIT = 10;
// HubSpot: at most 5 filter groups, 6 filters per group, 18 filters in all.
const MAX_FILTER_GROUPS = 5;
const MAX_FILTERS_PER_GROUP = 6;
const MAX_FILTERS = 18;
// Input

export const listQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(LIST_MAX_LIMIT))
    .default(DEFAULT_LIMIT),
  after: z.string().regex(/^\d+$/, 'must be a cursor from paging.next.after').transform(Number).optional(),
  archived: z.enum(['true', 'false']).optional(),
});

/** GET /crm/v3/objects/{type}/{id}: read by the record id, or by a unique property (`idProperty`). */
export const readQuerySchema = z.object({
  idProperty: z.string().min(1).max(200).default('hs_object_id'),
  archived: z.enum(['true', 'false']).optional(),
});

const filterValue = z.union([z.string(), z.number(), z.boolean()]);

/** HubSpot's filter operators and which of value / highValue / values each one takes. */
const OPERATORS = {
  EQ: 'value',
  NEQ: 'value',
  LT: 'value',
  LTE: 'value',
  GT: 'value',
  GTE: 'value',
  CONTAINS_TOKEN: 'value',
  NOT_CONTAINS_TOKEN: 'value',
  BETWEEN: 'range',
  IN: 'values',
  NOT_IN: 'values',
  HAS_PROPERTY: 'none',
  NOT_HAS_PROPERTY: 'none',
} as const;

type Operator = keyof typeof OPERATORS;

const filterSchema = z
  .strictObject({
    propertyName: z.string().min(1).max(200),
    operator: z.enum(Object.keys(OPERATORS) as [Operator, ...Operator[]]),
    value: filterValue.optional(),
    highValue: filterValue.optional(),
    values: z.array(filterValue).min(1).max(100).optional(),
  })
  .superRefine((filter, ctx) => {
    const takes = OPERATORS[filter.operator];
    const wanted = {
      value: takes === 'value' || takes === 'range',
      highValue: takes === 'range',
      values: takes === 'values',
    };
    for (const field of ['value', 'highValue', 'values'] as const) {
      const given = filter[field] !== undefined;
      if (wanted[field] === given) continue;
      const message = given
        ? `not used by operator ${filter.operator}`
        : `required by operator ${filter.operator}`;
      ctx.addIssue({ code: 'custom', path: [field], message });
    }
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

export const searchBodySchema = z
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

export type SearchBody = z.infer<typeof searchBodySchema>;

export function propertyList(values: string[]): string[] | undefined {
  const names = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  return names.length > 0 ? names : undefined;
}

export function unknownProperty(
  objectType: SampleObjectType,
  search: SearchBody,
): { field: string; name: string } | undefined {
  for (const [g, group] of search.filterGroups.entries()) {
    for (const [f, filter] of group.filters.entries()) {
      if (!isKnownProperty(objectType, filter.propertyName)) {
        return { field: `filterGroups[${g}].filters[${f}].propertyName`, name: filter.propertyName };
      }
    }
  }
  for (const [s, sort] of search.sorts.entries()) {
    if (!isKnownProperty(objectType, sort.propertyName) || sort.propertyName.startsWith('associations.')) {
      return { field: `sorts[${s}].propertyName`, name: sort.propertyName };
    }
  }
  return undefined;
}

// Search semantics: filters within a group AND, groups OR (as HubSpot)

export function matchesFilterGroups(record: SampleRecord, groups: SearchBody['filterGroups']): boolean {
  if (groups.length === 0) return true;
  return groups.some((group) => group.filters.every((filter) => matchesFilter(record, filter)));
}

function matchesFilter(record: SampleRecord, filter: Filter): boolean {
  const association = /^associations\.(\w+)$/.exec(filter.propertyName)?.[1] as AssociationName | undefined;
  if (association !== undefined) {
    // HubSpot's associations.<type> pseudo-property: the record is associated with the given id(s).
    const ids = record.associations?.[ASSOCIATION_TYPES[association]] ?? [];
    return ids.length === 0 ? matchesValue(undefined, filter) : ids.some((id) => matchesValue(id, filter));
  }
  return matchesValue(valueOf(record, filter.propertyName), filter);
}

function matchesValue(value: string | undefined, filter: Filter): boolean {
  const { value: expected = '', highValue = '', values = [] } = filter;
  const has = value !== undefined && value !== '';
  switch (filter.operator) {
    case 'EQ':
      return has && equal(value, expected);
    case 'NEQ':
      return !has || !equal(value, expected);
    case 'CONTAINS_TOKEN':
      return has && containsToken(value, String(expected));
    case 'NOT_CONTAINS_TOKEN':
      return !has || !containsToken(value, String(expected));
    case 'GT':
      return has && (compare(value, expected) ?? 0) > 0;
    case 'GTE':
      return has && (compare(value, expected) ?? -1) >= 0;
    case 'LT':
      return has && (compare(value, expected) ?? 0) < 0;
    case 'LTE':
      return has && (compare(value, expected) ?? 1) <= 0;
    case 'BETWEEN':
      return has && (compare(value, expected) ?? -1) >= 0 && (compare(value, highValue) ?? 1) <= 0;
    case 'IN':
      return has && values.some((v) => equal(value, v));
    case 'NOT_IN':
      return !has || !values.some((v) => equal(value, v));
    case 'HAS_PROPERTY':
      return has;
    case 'NOT_HAS_PROPERTY':
      return !has;
  }
}

export function matchesQuery(record: SampleRecord, info: ObjectTypeInfo, query: string | undefined): boolean {
  const terms = (query ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return true;
  const haystack = info.searchable.map((name) => (record.properties[name] ?? '').toLowerCase());
  return terms.every((term) => haystack.some((value) => value.includes(term)));
}

export function valueOf(record: SampleRecord, property: string): string | undefined {
  if (property === 'hs_object_id') return record.id;
  if (property === 'lastmodifieddate' || property === 'hs_lastmodifieddate') return record.updatedAt;
  if (property === 'createdate') return record.properties.createdate ?? record.createdAt;
  if (property === 'hs_createdate') return record.createdAt;
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

export function sortRecords(records: SampleRecord[], sorts: Sort[]): SampleRecord[] {
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

export function byNumericId(a: SampleRecord, b: SampleRecord): number {
  return Number(a.id) - Number(b.id);
}
