import { AuthProfilesError } from '../errors';
import type { ActionDeclaration } from './actionSchema';

/**
 * The templates of an action (path, query, JSON body) use plain `{{name}}` placeholders, filled with
 * checked parameter values, the connection's account (`{{account.email}}`) or the API's id of the
 * signed-in user (`{{currentUser}}`). Each position encodes its value: a path value is one encoded
 * piece of one segment (never `.`/`..`, never a `/`), a query value goes through URLSearchParams, a
 * body value is a JSON value. So a value can never change where the request goes (SECURITY.md #62).
 */

export const RESERVED_PLACEHOLDERS: readonly string[] = [
  'currentUser',
  'account.sub',
  'account.email',
  'account.name',
];

export type TemplateValue = string | number | boolean;
/** Values by placeholder name; a missing name is an absent optional parameter. */
export type TemplateValues = Readonly<Record<string, TemplateValue | undefined>>;

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?)\s*\}\}/g;

/** Names used by a template; throws on anything but plain `{{name}}` placeholders. */
export function placeholderNames(source: string): string[] {
  const rest = source.replace(PLACEHOLDER, '');
  if (rest.includes('{{') || rest.includes('}}')) {
    throw new Error('may only contain plain {{name}} placeholders');
  }
  return [...new Set([...source.matchAll(PLACEHOLDER)].map((match) => match[1] as string))];
}

/** The whole template is one placeholder: `{{limit}}`. */
function soleName(source: string): string | undefined {
  const match = /^\{\{\s*([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?)\s*\}\}$/.exec(source);
  return match?.[1];
}

function missing(name: string): AuthProfilesError {
  return new AuthProfilesError('invalid-profile', `the action needs a value for "${name}"`, {
    issues: [{ path: `params.${name}`, message: 'is required' }],
  });
}

function interpolate(source: string, values: TemplateValues, encode: (value: string) => string): string {
  return source.replace(PLACEHOLDER, (_all, name: string) => {
    const value = values[name];
    if (value === undefined) throw missing(name);
    return encode(String(value));
  });
}

/** `/crm/v3/objects/deals/{{id}}` with each value percent-encoded inside its segment. */
export function renderPath(source: string, values: TemplateValues): string {
  return interpolate(source, values, (value) => {
    if (value === '' || value === '.' || value === '..') {
      throw new AuthProfilesError('invalid-profile', 'a path value must not be empty, . or ..', {
        issues: [{ path: 'params', message: 'a path value must not be empty, . or ..' }],
      });
    }
    // encodeURIComponent leaves . - _ ~ ! * ' ( ) alone; none of them changes the path's structure
    // once `.`/`..` alone are refused above.
    return encodeURIComponent(value);
  });
}

/** The query string (without `?`); a member whose sole placeholder has no value is left out. */
export function renderQuery(query: Readonly<Record<string, string>>, values: TemplateValues): string {
  const params = new URLSearchParams();
  for (const [name, source] of Object.entries(query)) {
    const sole = soleName(source);
    if (sole !== undefined && values[sole] === undefined) continue;
    params.append(
      name,
      interpolate(source, values, (value) => value),
    );
  }
  return params.toString();
}

/** The JSON body: `"{{x}}"` becomes the typed value of x (left out when absent), text is interpolated. */
export function renderBody(template: unknown, values: TemplateValues): unknown {
  if (typeof template === 'string') {
    const sole = soleName(template);
    if (sole !== undefined) return values[sole];
    return interpolate(template, values, (value) => value);
  }
  if (Array.isArray(template)) {
    return template.map((item) => renderBody(item, values)).filter((item) => item !== undefined);
  }
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(template)) {
      const rendered = renderBody(item, values);
      if (rendered !== undefined) out[key] = rendered;
    }
    return out;
  }
  return template;
}

/** Every template an action holds: path, query values and body strings. */
const placeholdersOfFrozen = new WeakMap<ActionDeclaration, readonly string[]>();

/**
 * Every placeholder name the action's templates use. Each run asks (for `currentUser`, `account.*`);
 * an action of a frozen profile cannot change, so its names are read once (issue 12).
 */
export function placeholdersOf(action: ActionDeclaration): readonly string[] {
  const known = placeholdersOfFrozen.get(action);
  if (known) return known;
  const names = Object.freeze([...new Set(templatesOf(action).flatMap(placeholderNames))]);
  if (Object.isFrozen(action)) placeholdersOfFrozen.set(action, names);
  return names;
}

export function templatesOf(action: ActionDeclaration): string[] {
  return [action.path, ...Object.values(action.query), ...bodyTemplates(action.body)];
}

function bodyTemplates(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(bodyTemplates);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(bodyTemplates);
  return [];
}
