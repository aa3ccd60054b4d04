import Handlebars from 'handlebars';
import { LRUCache } from 'lru-cache';
import { AuthProfilesError } from './errors';

/**
 * Profile URLs may contain `{{variable}}` placeholders (e.g. a Zendesk subdomain). The template
 * language is deliberately reduced to plain placeholders: no helpers, blocks, partials or raw
 * output, because profile text comes from bot developers and the admin API (SECURITY.md #37–#38).
 */

// A value fills one host label or one path segment; anything that could change the URL's
// structure (`/`, `?`, `#`, `@`, `:`, `..`) is refused rather than escaped.
const SAFE_VALUE = /^[A-Za-z0-9_~-]+(?:\.[A-Za-z0-9_~-]+)*$/;

const env = Handlebars.create();

type AstNode = { type: string; [key: string]: unknown };

/**
 * What parsing a source found: its variable names, or why it is refused. Every outgoing request and
 * token check renders its profile's URLs, so each source is parsed once, not per call (issue 12).
 * Bounded: sources come from profiles, and an admin API caller can send endless new ones.
 */
const parsed = new LRUCache<string, { names: readonly string[] } | { refused: string }>({ max: 256 });

/** The variable names a template uses; throws when it uses anything but plain `{{name}}`. */
export function templateVariables(source: string, field: string): string[] {
  // Every placeholder, and every other Handlebars construct, begins with `{{`.
  if (!source.includes('{{')) return [];
  let known = parsed.get(source);
  if (!known) {
    try {
      known = { names: parseVariables(source) };
    } catch (error) {
      if (!(error instanceof TemplateRefusal)) throw error;
      known = { refused: error.message };
    }
    parsed.set(source, known);
  }
  if ('refused' in known) throw templateError(field, known.refused);
  return [...known.names];
}

class TemplateRefusal extends Error {}

function parseVariables(source: string): string[] {
  let program: { body: AstNode[] };
  try {
    program = env.parse(source) as unknown as { body: AstNode[] };
  } catch {
    throw new TemplateRefusal('is not a valid template');
  }
  const names: string[] = [];
  for (const node of program.body) {
    if (node.type === 'ContentStatement') continue;
    if (node.type !== 'MustacheStatement')
      throw new TemplateRefusal('may only contain plain {{variable}} placeholders');
    const mustache = node as unknown as {
      path: { type: string; parts?: string[]; original?: string; data?: boolean; depth?: number };
      params: unknown[];
      hash?: unknown;
      escaped: boolean;
    };
    const parts = mustache.path.parts ?? [];
    if (
      mustache.path.type !== 'PathExpression' ||
      mustache.path.data === true ||
      parts.length !== 1 ||
      // `this.x`, `./x`, `this/x` and `../x` parse to the same single part as `x`; only the bare
      // name is a placeholder, any path expression is refused (SECURITY.md #38).
      mustache.path.original !== parts[0] ||
      (mustache.path.depth ?? 0) !== 0 ||
      mustache.params.length > 0 ||
      mustache.hash !== undefined ||
      !mustache.escaped ||
      !/^[A-Za-z][A-Za-z0-9_]*$/.test(parts[0] ?? '')
    ) {
      throw new TemplateRefusal('may only contain plain {{variable}} placeholders');
    }
    names.push(parts[0] as string);
  }
  return [...new Set(names)];
}

/** Checks that a template only names declared variables. */
export function assertTemplateVariablesDeclared(
  source: string,
  field: string,
  declared: readonly string[],
): void {
  for (const name of templateVariables(source, field)) {
    if (!declared.includes(name)) {
      throw new AuthProfilesError(
        'invalid-template-variable',
        `${field} uses undeclared variable "${name}"`,
        {
          issues: [{ path: field, message: `uses undeclared variable "${name}"` }],
        },
      );
    }
  }
}

export function assertSafeVariableValue(name: string, value: string, path = `variables.${name}`): void {
  if (!SAFE_VALUE.test(value) || value.length > 253) {
    throw new AuthProfilesError(
      'invalid-template-variable',
      `variable "${name}" must be letters, digits, '-', '_', '~' or single dots (no '/', '?', '#', '..')`,
      { issues: [{ path, message: "must be letters, digits, '-', '_', '~' or single dots" }] },
    );
  }
}

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/** Renders a URL template with declared, validated, URL-encoded values. */
export function renderUrlTemplate(
  source: string,
  field: string,
  values: Readonly<Record<string, string>>,
): string {
  const names = templateVariables(source, field);
  if (names.length === 0) return source;
  const context: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name of names) {
    const value = Object.prototype.hasOwnProperty.call(values, name) ? values[name] : undefined;
    if (value === undefined) {
      throw new AuthProfilesError(
        'invalid-template-variable',
        `${field} needs a value for variable "${name}"`,
        {
          issues: [{ path: `variables.${name}`, message: 'has no value' }],
        },
      );
    }
    assertSafeVariableValue(name, value);
    context[name] = encodeURIComponent(value);
  }
  let template = compiled.get(source);
  if (!template) {
    // strict: a missing name throws instead of rendering ''; noEscape: values are already
    // URL-encoded, HTML escaping would corrupt them.
    template = env.compile(source, {
      strict: true,
      noEscape: true,
      knownHelpersOnly: true,
      knownHelpers: {},
    });
    // Bounded: sources come from profiles, and an admin API caller can send endless new ones.
    if (compiled.size >= 256) compiled.delete(compiled.keys().next().value as string);
    compiled.set(source, template);
  }
  return template(context, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
}

function templateError(field: string, message: string): AuthProfilesError {
  return new AuthProfilesError('invalid-template-variable', `${field} ${message}`, {
    issues: [{ path: field, message }],
  });
}
