import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { ErrorObject, Options as AjvOptions, ValidateFunction } from 'ajv';
import type AjvCore from 'ajv/dist/core';
import addFormats from 'ajv-formats';

// Offline validation of a Teams app manifest against the official schema @microsoft/app-manifest bundles.

const APP_MANIFEST_MAIN = require.resolve('@microsoft/app-manifest');
const SCHEMA_DIR = path.join(path.dirname(APP_MANIFEST_MAIN), 'json-schemas', 'teams');

type AjvClass = new (opts?: AjvOptions) => AjvCore;

/**
 * The Teams schemas declare JSON Schema draft-04, which plain Ajv 8 does not support; `ajv-draft-04`
 * is Ajv's draft-04 class. It is a dependency of @microsoft/app-manifest (which validates these same
 * schemas with it), so it is resolved from there rather than from wherever npm happened to hoist it.
 */
function draft04Ajv(): AjvClass {
  const requireFromAppManifest = createRequire(APP_MANIFEST_MAIN);
  return (requireFromAppManifest('ajv-draft-04') as { default: AjvClass }).default;
}

const validators = new Map<string, ValidateFunction>();

function schemaFolder(manifestVersion: string): string {
  return manifestVersion === 'devPreview' ? 'vDevPreview' : `v${manifestVersion}`;
}

/** The official URL of the schema for a manifest version (the one `$schema` must point to). */
export function officialSchemaUrl(manifestVersion: string): string {
  return `https://developer.microsoft.com/json-schemas/teams/${schemaFolder(manifestVersion)}/MicrosoftTeams.schema.json`;
}

function schemaValidator(manifestVersion: string): ValidateFunction | undefined {
  const cached = validators.get(manifestVersion);
  if (cached) return cached;
  const file = path.join(SCHEMA_DIR, schemaFolder(manifestVersion), 'MicrosoftTeams.schema.json');
  if (!/^(\d+\.\d+|devPreview)$/.test(manifestVersion) || !existsSync(file)) return undefined;
  const Ajv = draft04Ajv();
  // strictTypes/strictTuples off as in @microsoft/app-manifest: the official schema omits `type` next
  // to some keywords. Unknown keywords and formats still fail compilation (strictSchema).
  const ajv = new Ajv({ allErrors: true, strictTypes: false, strictTuples: false });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(file, 'utf8')) as object);
  validators.set(manifestVersion, validate);
  return validate;
}

function formatError(error: ErrorObject): string {
  const where = error.instancePath || '/';
  const params = error.params as Record<string, unknown>;
  let detail = '';
  if (error.keyword === 'additionalProperties') detail = ` (${String(params.additionalProperty)})`;
  else if (error.keyword === 'enum') detail = `: ${JSON.stringify(params.allowedValues)}`;
  else if (error.keyword === 'const') detail = `: ${JSON.stringify(params.allowedValue)}`;
  return `${where} ${error.message ?? error.keyword}${detail}`;
}

/**
 * Validates a manifest against the official schema bundled by @microsoft/app-manifest for its
 * `manifestVersion`. Returns one line per problem (`instancePath message`), empty when valid.
 */
export function validateManifest(manifest: unknown): string[] {
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    return ['/ must be an object'];
  }
  const { manifestVersion, $schema } = manifest as { manifestVersion?: unknown; $schema?: unknown };
  if (typeof manifestVersion !== 'string') return ["/ must have required property 'manifestVersion'"];
  const validate = schemaValidator(manifestVersion);
  if (!validate) {
    return [`/manifestVersion "${manifestVersion}" has no schema bundled in @microsoft/app-manifest`];
  }
  const errors: string[] = [];
  const expectedSchema = officialSchemaUrl(manifestVersion);
  const schemaUrls = [expectedSchema, expectedSchema.replace('/json-schemas/', '/en-us/json-schemas/')];
  if ($schema !== undefined && !schemaUrls.includes(String($schema))) {
    errors.push(`/$schema must be ${expectedSchema} for manifestVersion ${manifestVersion}`);
  }
  if (!validate(manifest)) errors.push(...(validate.errors ?? []).map(formatError));
  return [...new Set(errors)];
}

/** The rendered manifest (or its icons) would be refused by Teams. */
export class ManifestValidationError extends Error {
  constructor(readonly errors: string[]) {
    super(`the Teams app manifest is invalid:\n${errors.map((e) => `  ${e}`).join('\n')}`);
    this.name = 'ManifestValidationError';
  }
}
