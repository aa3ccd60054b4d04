import { z } from 'zod';
import type { FieldIssue } from '../errors';
import { placeholderNames, RESERVED_PLACEHOLDERS } from './actionTemplates';

/**
 * Actions as data (docs/actions.md): a profile may declare the API operations chat, the execute API
 * and the proxy may run with its connections: an entity and action name, the HTTP method, a path
 * template under the profile's API base, query and JSON-body templates, a parameter schema, which
 * result fields to show, the scopes the call needs, and whether it reads or writes. The declaration
 * is checked by the one profile schema (profiles/profileSchema.ts); this file holds its parts.
 */

const NAME = /^[a-z][a-z0-9-]{0,39}$/;
const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
// RFC 6749 §3.3 scope-token, as profileSchema.ts checks profile scopes.
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/;
/** A dotted path into a JSON answer: `results`, `properties.dealname`, `results.0.id`. */
const JSON_PATH = /^[A-Za-z0-9_$@-]{1,64}(?:\.[A-Za-z0-9_$@-]{1,64}){0,9}$/;

/** As the admin API's JSON bodies: deeper templates would only serve to exhaust the stack. */
const MAX_BODY_DEPTH = 20;

/** Whether a JSON value nests at most `limit` levels; iterative, so a deep value cannot overflow it. */
function withinDepth(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth >= limit) return false;
    for (const item of Object.values(current)) stack.push([item, depth + 1]);
  }
  return true;
}

export const ACTION_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** Methods that change data by definition (RFC 9110 §9.2.1); POST may be a read (a search). */
const WRITE_METHODS: ReadonlySet<string> = new Set(['PUT', 'PATCH', 'DELETE']);
export const FIELD_FORMATS = ['text', 'number', 'currency', 'date', 'datetime', 'email', 'url'] as const;
export type FieldFormat = (typeof FIELD_FORMATS)[number];

const paramDeclaration = z.strictObject({
  type: z.enum(['string', 'integer', 'number', 'boolean']).default('string'),
  description: z.string().trim().max(300).optional(),
  required: z.boolean().default(false),
  default: z.union([z.string().max(500), z.number(), z.boolean()]).optional(),
  enum: z.array(z.string().min(1).max(100)).min(1).max(50).optional(),
  /** Strings: 1..maxLength characters (default 200). */
  maxLength: z.number().int().min(1).max(2000).default(200),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  format: z.enum(['email']).optional(),
});
export type ParamDeclaration = z.output<typeof paramDeclaration>;

const resultField = z.strictObject({
  /** Where the value is in one result: `properties.dealname`. */
  path: z.string().regex(JSON_PATH, 'must be a dotted JSON path'),
  /** The key in execute-API results; default: the last segment of `path`. */
  name: z.string().regex(PARAM_NAME, 'must be a field name').optional(),
  label: z.string().trim().min(1).max(60),
  format: z.enum(FIELD_FORMATS).default('text'),
  /** For `currency`: where this result's ISO 4217 code is (`properties.deal_currency_code`). */
  currencyPath: z.string().regex(JSON_PATH, 'must be a dotted JSON path').optional(),
  /** Words to show for API codes (`{ "contractsent": "Contract sent" }`); other values as they are. */
  labels: z
    .record(z.string().min(1).max(100), z.string().trim().min(1).max(100))
    .refine((labels) => Object.keys(labels).length <= 100, 'must have at most 100 entries')
    .optional(),
});

const resultsDeclaration = z.strictObject({
  /** Where the list of results is in the answer (`results`); absent: the answer is one result. */
  path: z.string().regex(JSON_PATH, 'must be a dotted JSON path').optional(),
  /** Where the total number of matches is, when the API says (`total`). */
  totalPath: z.string().regex(JSON_PATH, 'must be a dotted JSON path').optional(),
  /** The field that titles each result in a card. */
  titleField: z.string().regex(JSON_PATH, 'must be a dotted JSON path').optional(),
  fields: z.array(resultField).min(1).max(20),
});

export const actionDeclarationSchema = z.strictObject({
  entity: z.string().regex(NAME, 'must be 1-40 lowercase letters, digits or dashes'),
  action: z.string().regex(NAME, 'must be 1-40 lowercase letters, digits or dashes'),
  title: z.string().trim().min(1).max(100),
  description: z.string().trim().max(500).optional(),
  /** A write changes data at the provider: never repeated after an unknown outcome, off by default. */
  access: z.enum(['read', 'write']).default('read'),
  method: z.enum(ACTION_METHODS).default('GET'),
  /** Under the API base: `/crm/v3/objects/deals/{{dealId}}`; each placeholder fills part of one segment. */
  path: z.string().min(1).max(500),
  query: z
    .record(
      z.string().regex(/^[A-Za-z0-9_.[\]-]{1,64}$/, 'must be a query parameter name'),
      z.string().max(500),
    )
    .default({}),
  /** A JSON body; a string that is exactly `{{name}}` becomes the typed value (absent: member dropped). */
  body: z
    .unknown()
    .optional()
    .refine(
      (value) => withinDepth(value, MAX_BODY_DEPTH),
      `must not be nested more than ${MAX_BODY_DEPTH} levels deep`,
    ),
  params: z.record(z.string().regex(PARAM_NAME, 'must be a parameter name'), paramDeclaration).default({}),
  scopes: z.array(z.string().regex(SCOPE, 'must be an OAuth scope token')).max(50).default([]),
  results: resultsDeclaration,
  /** Chat phrasings, e.g. "show my deals" or "find contact {{query}}" (a placeholder only at the end). */
  phrases: z.array(z.string().trim().min(1).max(100)).max(10).default([]),
  /** Whether the action is on until an admin says otherwise; default: reads on, writes off. */
  enabledByDefault: z.boolean().optional(),
});
export type ActionDeclaration = z.output<typeof actionDeclarationSchema>;

/**
 * How to learn the signed-in user's id at the API (`{{currentUser}}` in action templates), e.g.
 * HubSpot's owner id from the owners API by the connection's account email.
 */
export const currentUserSchema = z.strictObject({
  path: z.string().min(1).max(500),
  query: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().max(500)).default({}),
  /** Where the id is in the answer: `results.0.id`. */
  idPath: z.string().regex(JSON_PATH, 'must be a dotted JSON path'),
  scopes: z.array(z.string().regex(SCOPE, 'must be an OAuth scope token')).max(20).default([]),
});
export type CurrentUserDeclaration = z.output<typeof currentUserSchema>;

export const actionsField = z.array(actionDeclarationSchema).max(100).default([]);
/** Admin choices per action key (`deals.list-mine`): on or off. */
export const actionSettingsField = z.record(
  z.string().regex(/^[a-z][a-z0-9-]{0,39}\.[a-z][a-z0-9-]{0,39}$/, 'must be an action key (entity.action)'),
  z.strictObject({ enabled: z.boolean() }),
);
export type ActionSettings = z.output<typeof actionSettingsField>;

/** `entity.action`, the name admins, the execute API and settings use. */
export function actionKey(action: Pick<ActionDeclaration, 'entity' | 'action'>): string {
  return `${action.entity}.${action.action}`;
}

export function isActionEnabled(action: ActionDeclaration, settings: ActionSettings | undefined): boolean {
  const setting = settings?.[actionKey(action)];
  if (setting) return setting.enabled;
  return action.enabledByDefault ?? action.access === 'read';
}

/** What the schema cannot say alone: unique keys, declared placeholders, a path that stays under the base. */
export function actionIssues(
  actions: readonly ActionDeclaration[],
  settings: ActionSettings,
  currentUser: CurrentUserDeclaration | undefined,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  actions.forEach((action, index) => {
    const at = `actions.${index}`;
    const key = actionKey(action);
    if (seen.has(key)) issues.push({ path: `${at}.action`, message: `repeats the action "${key}"` });
    seen.add(key);
    const declared = Object.keys(action.params);
    const check = (source: string, path: string): void => {
      // Only the action's own path is a path under the API base; a query or body member may be named
      // "path" too and holds a value.
      const problem = pathOrTemplateProblem(source, path === `${at}.path`);
      if (problem) {
        issues.push({ path, message: problem });
        return;
      }
      for (const name of placeholderNames(source)) {
        if (name === 'currentUser' && currentUser === undefined) {
          issues.push({ path, message: 'uses {{currentUser}} but the profile declares no currentUser' });
        } else if (!declared.includes(name) && !RESERVED_PLACEHOLDERS.includes(name)) {
          issues.push({ path, message: `uses undeclared parameter "${name}"` });
        }
      }
    };
    check(action.path, `${at}.path`);
    for (const [name, value] of Object.entries(action.query)) check(value, `${at}.query.${name}`);
    for (const [path, value] of bodyStrings(action.body, `${at}.body`)) check(value, path);
    if (action.access === 'read' && WRITE_METHODS.has(action.method)) {
      // A read is on by default and sent again after a timeout or 5xx (SECURITY.md #63, #68).
      issues.push({
        path: `${at}.access`,
        message: `must be "write" for a ${action.method} action (it changes data at the provider)`,
      });
    }
    if (action.body !== undefined && action.method === 'GET') {
      issues.push({ path: `${at}.body`, message: 'a GET action cannot have a body' });
    }
    for (const [name, param] of Object.entries(action.params)) {
      if (param.enum && param.type !== 'string') {
        issues.push({ path: `${at}.params.${name}.enum`, message: 'is only for string parameters' });
      }
      if (param.minimum !== undefined && param.maximum !== undefined && param.minimum > param.maximum) {
        issues.push({ path: `${at}.params.${name}.minimum`, message: 'is greater than maximum' });
      }
    }
    action.phrases.forEach((phrase, p) => {
      const names = placeholderNames(phrase);
      if (names.length > 1 || (names.length === 1 && !/\{\{\s*[A-Za-z0-9_]+\s*\}\}$/.test(phrase))) {
        issues.push({
          path: `${at}.phrases.${p}`,
          message: 'may hold one {{parameter}}, and only at its end',
        });
      } else if (names[0] !== undefined && !declared.includes(names[0])) {
        issues.push({ path: `${at}.phrases.${p}`, message: `uses undeclared parameter "${names[0]}"` });
      }
    });
  });
  for (const key of Object.keys(settings)) {
    if (!seen.has(key)) issues.push({ path: `actionSettings.${key}`, message: 'is not a declared action' });
  }
  if (currentUser) {
    const problem = pathOrTemplateProblem(currentUser.path, true);
    if (problem) issues.push({ path: 'currentUser.path', message: problem });
    for (const [name, value] of [
      ['path', currentUser.path],
      ...Object.entries(currentUser.query).map(([k, v]) => [`query.${k}`, v]),
    ] as const) {
      for (const used of placeholderNames(value)) {
        if (!used.startsWith('account.')) {
          issues.push({ path: `currentUser.${name}`, message: 'may only use {{account.*}} placeholders' });
        }
      }
    }
  }
  return issues;
}

/** Why a path (or any template) is unusable; paths must stay under the API base (SECURITY.md #62). */
function pathOrTemplateProblem(source: string, isPath: boolean): string | undefined {
  try {
    placeholderNames(source);
  } catch (error) {
    return (error as Error).message;
  }
  if (!isPath) return undefined;
  if (!source.startsWith('/')) return 'must start with /';
  if (/[?#\\]/.test(source)) return 'must not contain ?, # or \\ (use query for parameters)';
  if (source.includes('//')) return 'must not contain //';
  const literal = source.replace(/\{\{[^}]*\}\}/g, 'x');
  if (literal.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'must not contain . or .. segments';
  }
  if (/%2e|%2f|%5c/i.test(source)) return 'must not contain encoded dots or slashes';
  return undefined;
}

/** Every string in a JSON body template with its field path. */
function bodyStrings(value: unknown, path: string): [string, string][] {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => bodyStrings(item, `${path}.${index}`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => bodyStrings(item, `${path}.${key}`));
  }
  return [];
}

/**
 * What an organisation connection's token may be used for by chat users: the enabled actions (as
 * declared), `currentUser` and the access policy. On a pre-authorized profile only an admin may change
 * it (SECURITY.md #84): the admin consented for the organisation to what the profile did then.
 */
export function organisationTokenUses(profile: {
  actions: readonly ActionDeclaration[];
  actionSettings: ActionSettings;
  currentUser?: CurrentUserDeclaration | undefined;
  access: unknown;
}): string {
  return JSON.stringify({
    actions: profile.actions.filter((action) => isActionEnabled(action, profile.actionSettings)),
    currentUser: profile.currentUser ?? null,
    access: profile.access,
  });
}
