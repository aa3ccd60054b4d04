import { randomUUID } from 'node:crypto';
import type { Response } from 'restify';
import type { z } from 'zod';
import { basePropertiesOf, OBJECT_TYPES } from './crmObjects';
import { valueOf } from './crmSearch';
import type { SampleObjectType, SampleRecord } from './sampleCrmData';

/** What the demo answers, in HubSpot's shapes: records, and errors with a category. */

// Output

export function present(objectType: SampleObjectType, record: SampleRecord, requested: string[] | undefined) {
  const base = basePropertiesOf(objectType);
  const all: Record<string, string> = { ...record.properties };
  for (const name of base) all[name] = valueOf(record, name) ?? '';
  let properties: Record<string, string | null> = all;
  if (requested) {
    // As HubSpot: the requested known properties (null when empty) plus the base properties;
    // unknown names are ignored.
    const known = new Set<string>(OBJECT_TYPES[objectType].properties);
    properties = {};
    for (const name of [...requested.filter((n) => known.has(n)), ...base]) {
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

export function sendError(
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

export function sendValidationError(res: Response, error: z.ZodError): void {
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
