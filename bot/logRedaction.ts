/**
 * What a log line may carry (SECURITY.md #32, #51): a copy of the logged object with every secret
 * replaced by `[redacted]`, at any depth, inside arrays and inside errors. The caller's objects are
 * never touched, and a cycle prints as `[circular]` instead of hanging the logger.
 *
 * pino's own `redact` option cannot do this: its paths are compiled for fixed positions (fast-redact),
 * `*` stands for exactly one level and there is no recursive wildcard, so `*.accessToken` misses
 * `{a:{b:{accessToken}}}` and every depth (and every array level) would have to be listed by hand.
 * This walk runs in pino's `formatters.log` hook instead, which sees the whole object of each line.
 */

export const REDACTED = '[redacted]';

/**
 * Names whose value is a secret wherever it appears, compared without case, `_` and `-` (so
 * `access_token`, `accessToken` and `Access-Token` are one name).
 */
const SECRET_NAMES = new Set([
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'token',
  'tokens',
  'clientsecret',
  'secret',
  'password',
  'passwd',
  'codeverifier',
  'verifier',
  'verificationcode',
  'state',
  'nonce',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'apikey',
  'xapikey',
  'adminkey',
  'adminapikeys',
  'key',
  'privatekey',
  'encryptionkeys',
  'assertion',
  'clientassertion',
]);

/** Endings of names that hold secrets too (`hubspotAccessToken`, `DEMO_CLIENT_SECRET`, `MicrosoftAppPassword`). */
const SECRET_SUFFIXES = ['token', 'secret', 'password', 'apikey'];

/**
 * `code` is a credential only in OAuth callback or token-request data; anywhere else (`err.code`,
 * an exit code) it is the diagnostic an operator needs. It is redacted inside objects held under
 * one of these names, or next to one of the sibling names below.
 */
const OAUTH_CONTAINERS = new Set(['query', 'params', 'searchparams', 'callback', 'body', 'form', 'oauth']);
const OAUTH_SIBLINGS = ['state', 'codeverifier', 'redirecturi', 'granttype', 'iss', 'sessionstate'];

/** Credentials inside URLs and header-like strings: `?code=…&state=…`, `Bearer …`. */
const URL_CREDENTIALS =
  /([?&#;]|^)(code|state|nonce|access_token|refresh_token|id_token|code_verifier|client_secret|token|password)=[^&#\s"']*/gi;
const HEADER_CREDENTIALS = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

const MAX_DEPTH = 12;

function normalized(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

function isSecretName(name: string): boolean {
  const key = normalized(name);
  return SECRET_NAMES.has(key) || SECRET_SUFFIXES.some((suffix) => key.endsWith(suffix));
}

/** Booleans and null say whether a secret exists (`hasClientSecret: true`), not what it is. */
function revealsNothing(value: unknown): boolean {
  return value === null || value === undefined || typeof value === 'boolean';
}

export function redactString(value: string): string {
  if (!value.includes('=') && !/bearer|basic/i.test(value)) return value;
  return value
    .replace(URL_CREDENTIALS, (_match, lead: string, name: string) => `${lead}${name}=${REDACTED}`)
    .replace(HEADER_CREDENTIALS, (_match, scheme: string) => `${scheme} ${REDACTED}`);
}

/** A redacted copy of the object of one log line (pino's `formatters.log` and `formatters.bindings`). */
export function redactLogObject(object: Record<string, unknown>): Record<string, unknown> {
  return walk(object, new Set(), 0, false) as Record<string, unknown>;
}

function walk(value: unknown, ancestors: Set<object>, depth: number, oauthContext: boolean): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'bigint' ? value.toString() : value;
  }
  if (ancestors.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[binary ${value.byteLength} bytes]`;
  ancestors.add(value);
  try {
    if (value instanceof Error) return reduceError(value, ancestors, depth);
    if (Array.isArray(value)) return value.map((item) => walk(item, ancestors, depth + 1, oauthContext));
    if (value instanceof Map) return walkEntries([...value.entries()], ancestors, depth, oauthContext);
    if (value instanceof Set) return [...value].map((item) => walk(item, ancestors, depth + 1, oauthContext));
    if (value instanceof URL) return redactString(value.href);
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      // Dates and the like: serialize as JSON.stringify would, then look at the result.
      const json: unknown = toJSON.call(value);
      return json === value
        ? walkEntries(Object.entries(value), ancestors, depth, oauthContext)
        : walk(json, ancestors, depth + 1, oauthContext);
    }
    return walkEntries(Object.entries(value), ancestors, depth, oauthContext);
  } finally {
    ancestors.delete(value);
  }
}

function walkEntries(
  entries: [unknown, unknown][],
  ancestors: Set<object>,
  depth: number,
  oauthContext: boolean,
): Record<string, unknown> {
  const names = entries.map(([name]) => normalized(String(name)));
  const oauth = oauthContext || OAUTH_SIBLINGS.some((sibling) => names.includes(sibling));
  const copy: Record<string, unknown> = {};
  for (const [rawName, item] of entries) {
    const name = String(rawName);
    if (isSecretName(name) || (oauth && normalized(name) === 'code')) {
      copy[name] = revealsNothing(item) ? item : REDACTED;
      continue;
    }
    copy[name] = walk(item, ancestors, depth + 1, OAUTH_CONTAINERS.has(normalized(name)));
  }
  return copy;
}

/**
 * Errors from HTTP clients can hold request bodies and headers, so only their name, code and
 * message are kept (and the same of their cause). `code` stays: `ECONNREFUSED`, `SQLITE_BUSY`,
 * `invalid-grant` are what an operator reads first.
 */
function reduceError(error: Error, ancestors: Set<object>, depth: number): Record<string, unknown> {
  const reduced: Record<string, unknown> = { type: error.name, message: redactString(String(error.message)) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') reduced.code = code;
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number') reduced.status = status;
  if (error.cause !== undefined) reduced.cause = walk(error.cause, ancestors, depth + 1, false);
  return reduced;
}
