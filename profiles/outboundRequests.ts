import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { LRUCache } from 'lru-cache';
import { AuthProfilesError } from './errors';
import { answerProblem, type AddressRule } from './outboundAddress';
import { BufferedResponse, type OutboundResponse } from './outboundResponse';

export type { OutboundResponse } from './outboundResponse';
import { profileUrl, type Profile } from './profileCatalog';
import { originVerdict, parsedUrlProblem, type OriginVerdict, type UrlField } from './profileSchema';

/**
 * Every request the engine and the CRM client make to a URL that came from a profile goes through
 * here (SECURITY.md #41, #42): the rendered URL is checked again right before the request, and in
 * production the host name is resolved by a `lookup` that refuses internal answers, so a name that
 * points at 127.0.0.1 or 169.254.169.254 (or is re-pointed after the profile was saved) gets no
 * connection at all. A request takes a `CheckedUrl`, which only `checkOutboundUrl` can make (the brand
 * below is not exported), so an unchecked URL is a type error, not a review comment.
 */

const checked: unique symbol = Symbol('checked outbound url');
const ruleOf: unique symbol = Symbol('address rule');

export interface CheckedUrl {
  readonly [checked]: true;
  readonly [ruleOf]: AddressRule;
  /** The URL as the WHATWG parser writes it. */
  readonly href: string;
  /** The profile field it came from, for messages. */
  readonly field: string;
}

/** A refused outbound request: the host or its DNS answer is internal and not allow-listed. */
export class OutboundRefusedError extends AuthProfilesError {
  constructor(readonly refusal: string) {
    super('outbound-refused', refusal);
  }
}

/**
 * Verdicts on a scheme and host name, per rule. A flow checks the same dozen URLs (token endpoint,
 * identity, API bases and paths) each time it runs, twice each (built, then again before the
 * request), and classifying a host against the address rule was most of a check (issue 12). That
 * part depends on the scheme, the host name and the rule alone (an AddressRule is read-only; a name's
 * DNS answers are judged per connection by `guardedLookup`, never here), so it is kept; the rest of
 * the URL (credentials, fragment) is judged on every call. Only scheme and host are kept: a URL's
 * path and query can carry a token (an identity URL with the token in its path) or a record id.
 */
const originVerdicts = new WeakMap<AddressRule, LRUCache<string, OriginVerdict>>();
const HOSTS_PER_RULE = 1_000;

/** The one checking function (same rule as at save time, profiles/profileSchema.ts `urlProblem`). */
export function checkOutboundUrl(value: string, field: string, rule: AddressRule): CheckedUrl {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OutboundRefusedError(`${field} must be an absolute URL`);
  }
  let known = originVerdicts.get(rule);
  if (!known) {
    known = new LRUCache({ max: HOSTS_PER_RULE });
    originVerdicts.set(rule, known);
  }
  const key = `${url.protocol}//${url.hostname}`;
  let origin = known.get(key);
  if (!origin) {
    origin = originVerdict(url.protocol, url.hostname, rule);
    known.set(key, origin);
  }
  const problem = parsedUrlProblem(url, value, origin);
  if (problem) throw new OutboundRefusedError(`${field} ${problem}`);
  return Object.freeze({ [checked]: true as const, [ruleOf]: rule, href: url.href, field });
}

/** `base` with `path` (and query) appended, checked again; the origin may not change. */
export function withPath(base: CheckedUrl, path: string): CheckedUrl {
  assertChecked(base);
  const next = checkOutboundUrl(`${base.href.replace(/\/+$/, '')}${path}`, base.field, base[ruleOf]);
  if (new URL(next.href).origin !== new URL(base.href).origin) {
    throw new OutboundRefusedError(`${base.field}: a path may not change the host`);
  }
  return next;
}

export function isCheckedUrl(value: unknown): value is CheckedUrl {
  return typeof value === 'object' && value !== null && (value as CheckedUrl)[checked] === true;
}

function assertChecked(url: CheckedUrl): void {
  // For callers that cast their way past the type.
  if (!isCheckedUrl(url)) throw new OutboundRefusedError('an outbound URL was not checked');
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Name resolution, injectable so tests can map a public-looking name to a private address. */
export type Resolver = (
  hostname: string,
  options: { family?: number; hints?: number },
) => Promise<ResolvedAddress[]>;

/** What node itself does for a connection: getaddrinfo via `dns.lookup`, every answer, in order. */
export const systemResolver: Resolver = (hostname, options) =>
  new Promise((resolve, reject) => {
    dnsLookup(
      hostname,
      {
        all: true,
        verbatim: true,
        family: options.family ?? 0,
        ...(options.hints ? { hints: options.hints } : {}),
      },
      (error, addresses: LookupAddress[]) => (error ? reject(error) : resolve(addresses)),
    );
  });

export interface OutboundRequestInit {
  /** Actions and the proxy send PUT, PATCH, DELETE and HEAD too. */
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/** `fetch` for checked URLs (never follows redirects). */
export type OutboundFetch = (url: CheckedUrl, init?: OutboundRequestInit) => Promise<OutboundResponse>;

/**
 * Kept-alive connections, per origin (node pools them by host and port, and for https by the TLS
 * options too), shared by API calls, identity and key-set fetches and the token endpoint client
 * (code exchange, refresh, revocation; issue 12: each of those opened a new connection, in
 * production a TLS handshake, 1.1–1.5 ms more CPU per call than a kept connection here). Bounded:
 * - idle: an unused connection closes after 4 s, before the usual 5 s server keep-alive ends it
 *   under a request (node also honours a shorter `Keep-Alive: timeout` the server sends);
 * - at once: 64 connections per origin, far above what a provider's rate limits let through, and
 *   a bound on the sockets one slow or hanging provider can hold; a request beyond that waits for
 *   a free one within its own timeout, so a stuck provider fails its own callers, not the others;
 * - idle after a burst: 16 per origin are kept, the rest closed at once.
 */
export const IDLE_CONNECTION_MS = 4_000;
const MAX_SOCKETS_PER_ORIGIN = 64;
const MAX_FREE_SOCKETS_PER_ORIGIN = 16;

// simple-oauth2 deep-copies its `http` options with @hapi/hoek's clone, which hands an object whose
// prototype says `isImmutable` on as is (joi marks its schemas so). A copied agent would be a second
// pool whose node-internal 'free' handler still files sockets in the first one.
class SharedHttpAgent extends http.Agent {}
class SharedHttpsAgent extends https.Agent {}
for (const shared of [SharedHttpAgent, SharedHttpsAgent]) {
  Object.defineProperty(shared.prototype, 'isImmutable', { value: true });
}

/** Bodies larger than this are cut off with an error (a CRM page or a check answer is far smaller). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The outgoing side of the engine: one per process, built by the host with the profile rule. */
export class OutboundRequests {
  /** For simple-oauth2 (passed through @hapi/wreck to `http.request`); undefined in dev mode. */
  readonly lookup: LookupFunction | undefined;
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(
    readonly rule: AddressRule,
    options: { resolve?: Resolver } = {},
  ) {
    // Dev mode keeps node's own lookup: the demo provider and test servers are on loopback.
    this.lookup = rule.allowInsecureLoopback
      ? undefined
      : guardedLookup(rule, options.resolve ?? systemResolver);
    // An agent's options reach every connection it opens, `lookup` included (node lets them win over
    // a request's own), so every new connection is resolved and guarded (SECURITY.md #42); a kept one
    // was guarded when it was opened and is reused only for the same host and port. A name re-pointed
    // at an internal address meanwhile cannot slip through: an open connection stays with the address
    // that was allowed, and the new address is reached only by a new connection, which is guarded.
    const agentOptions = {
      keepAlive: true,
      timeout: IDLE_CONNECTION_MS,
      maxSockets: MAX_SOCKETS_PER_ORIGIN,
      maxFreeSockets: MAX_FREE_SOCKETS_PER_ORIGIN,
      scheduling: 'lifo' as const,
      ...(this.lookup ? { lookup: this.lookup } : {}),
    };
    this.agents = { http: new SharedHttpAgent(agentOptions), https: new SharedHttpsAgent(agentOptions) };
  }

  check(value: string, field: string): CheckedUrl {
    return checkOutboundUrl(value, field, this.rule);
  }

  /**
   * The agent (with the guarded lookup) for a checked URL, for clients that do their own requests
   * such as jose's key-set fetch: they reach only addresses this rule allows (SECURITY.md #42).
   */
  agentFor(url: CheckedUrl): http.Agent {
    assertChecked(url);
    return url.href.startsWith('https:') ? this.agents.https : this.agents.http;
  }

  /** One of the profile's URL fields, rendered and checked; undefined when the profile has none. */
  profileUrl(profile: Profile, field: UrlField): CheckedUrl | undefined {
    const rendered = profileUrl(profile, field);
    return rendered === undefined ? undefined : this.check(rendered, field);
  }

  // async: a refused URL rejects the promise, as a network error would, rather than throwing.
  readonly fetch: OutboundFetch = async (url, init = {}) => {
    assertChecked(url);
    // Checked again under this client's rule: a URL checked elsewhere (or under the dev rule) with
    // an IP-literal host would reach no lookup (SECURITY.md #41).
    const target = new URL(this.check(url.href, url.field).href);
    const secure = target.protocol === 'https:';
    return new Promise<OutboundResponse>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        // A timeout or cancel rejects with the signal's reason, as fetch does (a TimeoutError).
        reject(init.signal?.aborted ? init.signal.reason : error);
      };
      const request = (secure ? https : http).request(
        target,
        {
          method: init.method ?? 'GET',
          headers: init.headers,
          agent: secure ? this.agents.https : this.agents.http,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) request.destroy(new Error('response body too large'));
            else chunks.push(chunk);
          });
          response.on('error', fail);
          response.on('aborted', () => fail(new Error('the response was cut short')));
          response.on('end', () => {
            if (settled) return;
            const status = response.statusCode ?? 0;
            // What a Response refuses to carry is a failed call, not an answer (a proxy would pass a
            // 6xx on, and node cannot send one below 100).
            if (status < 200 || status > 599) {
              fail(new RangeError(`the server answered status ${status}, outside 200–599`));
              return;
            }
            const empty = [101, 204, 205, 304].includes(status) || init.method === 'HEAD';
            settled = true;
            resolve(
              new BufferedResponse(
                status,
                response.statusMessage ?? '',
                response.rawHeaders,
                empty ? null : Buffer.concat(chunks),
              ),
            );
          });
        },
      );
      request.on('error', fail);
      request.end(init.body);
    });
  };
}

/**
 * A `lookup` for outgoing connections: resolves, then refuses the connection when any answer is
 * internal and neither the name nor the address is allow-listed. Any, not all: the connection may
 * go to whichever answer comes first or to the next one on a retry.
 */
export function guardedLookup(rule: AddressRule, resolve: Resolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: Parameters<LookupFunction>[2]) => {
    resolve(hostname, {
      family: typeof options.family === 'number' ? options.family : 0,
      hints: options.hints,
    }).then(
      (answers) => {
        for (const answer of answers) {
          const problem = answerProblem(hostname, answer.address, rule);
          if (problem) return callback(new OutboundRefusedError(problem), '', 0);
        }
        const [first] = answers;
        if (!first) {
          const error: NodeJS.ErrnoException = new Error(`${hostname} has no address`);
          error.code = 'ENOTFOUND';
          return callback(error, '', 0);
        }
        if (options.all)
          return callback(
            null,
            answers.map(({ address, family }) => ({ address, family })),
          );
        return callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
