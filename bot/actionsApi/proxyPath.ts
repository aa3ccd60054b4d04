import type { IncomingMessage } from 'node:http';
import type { FieldIssue } from '../../profiles';
import { ApiError } from './responses';

/**
 * The upstream URL of a proxy call: the connection's API base + the rest of the path + the query
 * string, and nothing that could leave the base (SECURITY.md #41 keeps the base itself off internal
 * addresses). Checked on the request target exactly as the client sent it: restify's dedupeSlashes
 * (bot/app.ts) rewrites `//` in the path AND in the query, so the raw target is kept by a `pre` handler
 * registered before it (`keepRawTarget`).
 *
 * Refused with 400 `invalid-proxy-path`, naming the problem: a dot segment (`.`, `..`) in any
 * percent-encoding (`%2e`, `%252e`, …), an empty segment (`//`), a backslash (`\`, `%5c`), a fragment,
 * control characters, a path that does not start below the proxy prefix, and a built URL whose origin
 * differs from the base or whose path is not under the base path. Query strings are passed as sent.
 */

export const PROXY_PREFIX = '/api/proxy/';
const MAX_TARGET_LENGTH = 8 * 1024;
/** Decoding rounds: enough for any realistic nesting; deeper nesting is itself refused. */
const MAX_DECODINGS = 4;

const rawTargets = new WeakMap<IncomingMessage, string>();

/** restify `pre` handler: remembers the request target of proxy calls before anything rewrites it. */
export function keepRawTarget(req: IncomingMessage, _res: unknown, next: () => void): void {
  const url = req.url ?? '';
  if (url.startsWith(PROXY_PREFIX)) rawTargets.set(req, url);
  next();
}

export interface ProxyTarget {
  profileId: string;
  /** The path below the profile, as sent (percent-encoding kept), starting with `/` or empty. */
  path: string;
  /** The query string as sent, with its `?`, or ''. */
  search: string;
}

/** Splits `/api/proxy/<profileId>/<rest>?<query>` as the client sent it. */
export function proxyTargetOf(req: IncomingMessage): ProxyTarget {
  const raw = rawTargets.get(req) ?? req.url ?? '';
  if (raw.length > MAX_TARGET_LENGTH) {
    throw refused('path', `the request target is longer than ${MAX_TARGET_LENGTH} characters`);
  }
  if (raw.includes('#')) throw refused('path', 'must not contain a fragment (#)');
  const queryAt = raw.indexOf('?');
  const pathPart = queryAt < 0 ? raw : raw.slice(0, queryAt);
  const search = queryAt < 0 ? '' : raw.slice(queryAt);
  if (!pathPart.startsWith(PROXY_PREFIX))
    throw refused('path', `must start with ${PROXY_PREFIX}<profileId>/`);
  const afterPrefix = pathPart.slice(PROXY_PREFIX.length);
  const slash = afterPrefix.indexOf('/');
  const profileId = slash < 0 ? afterPrefix : afterPrefix.slice(0, slash);
  const path = slash < 0 ? '' : afterPrefix.slice(slash);
  checkPath(path);
  return { profileId, path, search };
}

/** Refuses every way a path could step out of the base (see the module comment). */
export function checkPath(path: string): void {
  // As sent only: a decoded `%25` is a literal percent sign, not an encoding.
  if (/%(?![0-9A-Fa-f]{2})/.test(path)) throw refused('path', 'has a malformed percent-encoding');
  let current = path;
  for (let round = 0; ; round += 1) {
    const problem = pathProblem(current);
    if (problem) throw refused('path', problem);
    if (!/%[0-9A-Fa-f]{2}/.test(current)) return;
    if (round === MAX_DECODINGS) throw refused('path', 'is percent-encoded too many times over');
    try {
      current = decodeURIComponent(current);
    } catch {
      throw refused('path', 'has a malformed percent-encoding');
    }
  }
}

function pathProblem(path: string): string | null {
  // Control characters and spaces never belong in a request target (a decoded %0d%0a would split lines).
  if (/[\u0000-\u0020\u007f]/.test(path)) return 'must not contain control characters or spaces';
  if (path.includes('\\')) return 'must not contain a backslash (\\ or %5c)';
  if (path !== '' && !path.startsWith('/')) return 'must start with /';
  const segments = path.split('/').slice(1);
  for (const [index, segment] of segments.entries()) {
    // `..;x` is a dot segment to Java servers (Tomcat, Spring path parameters).
    if (segment === '.' || segment === '..' || /^\.\.?;/.test(segment))
      return 'must not contain . or .. segments (in any encoding)';
    // A trailing slash is an empty last segment and is fine; `//` inside is not.
    if (segment === '' && index < segments.length - 1) return 'must not contain an empty segment (//)';
  }
  return null;
}

/**
 * `base` + path + query as one URL, proven to stay under the base: the same origin, and a path equal
 * to the base path or below it. The WHATWG parser also resolves dot segments, so anything that got
 * past `checkPath` and still climbed would show up here.
 */
export function upstreamUrl(base: string, target: Pick<ProxyTarget, 'path' | 'search'>): string {
  const baseUrl = new URL(base);
  const basePath = baseUrl.pathname.replace(/\/+$/, '');
  let built: URL;
  try {
    built = new URL(`${baseUrl.origin}${basePath}${target.path}${target.search}`);
  } catch {
    throw refused('path', 'does not make a valid URL with the API base');
  }
  if (built.origin !== baseUrl.origin) throw refused('path', "must stay on the profile's API host");
  if (built.pathname !== basePath && !built.pathname.startsWith(`${basePath}/`)) {
    throw refused('path', "must stay under the profile's API base path");
  }
  if (built.username !== '' || built.password !== '') throw refused('path', 'must not carry credentials');
  return built.href;
}

function refused(path: string, message: string): ApiError {
  const issue: FieldIssue = { path, message };
  return new ApiError(400, 'invalid-proxy-path', `the proxied path ${message}`, [issue]);
}
