// A small client for HubSpot's CRM v3 objects API (and the demo CRM that imitates it), used by the CRM
// dialogs. It takes tokens from the engine, retries each kind of transient failure at most once by the
// engine's retry policy (profiles/retryPolicy.ts: a read is safe to repeat; 429 → wait Retry-After,
// 5xx/network → short back-off, a timeout is not repeated) and refreshes a rejected token once (401),
// validates what comes back, and reports every failure as a CrmError with a stable code. A token never
// appears in an error.
import {
  type CallFailure,
  type CheckedUrl,
  failureOfFetchError,
  failureOfStatus,
  type HttpPolicy,
  type OutboundFetch,
  repeatDelay,
  retryAfterMs,
  type TokenResult,
  withPath,
} from '../../profiles';
import {
  CRM_PROPERTIES,
  CrmError,
  errorBodySchema,
  pageSchema,
  type CrmObjectType,
  type CrmPage,
  type CrmTokenSource,
  type ListOptions,
  type OwnedOptions,
  type SearchRequest,
} from './crmApi';

export * from './crmApi';

export interface HubSpotClientOptions {
  /**
   * e.g. 'https://api.hubapi.com' or `${PUBLIC_URL}/demo/crm`, checked against the address rule
   * (`engine.profileUrl(profile, 'apiBaseUrl')`, SECURITY.md #41).
   */
  baseUrl: CheckedUrl;
  tokens: CrmTokenSource;
  /** The engine's outbound client (`engine.outboundFetch`), which refuses internal addresses. */
  fetch: OutboundFetch;
  /** Longest Retry-After the client waits for before giving up with `rate-limited`; default 10 s. */
  maxRetryAfterMs?: number;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /** Pause before retrying a 5xx or network failure; default 300 ms. */
  serverErrorBackoffMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 10_000;
const DEFAULT_SERVER_BACKOFF_MS = 300;
/** 429 without Retry-After: HubSpot's limits are per second or per ten seconds. */
const DEFAULT_RETRY_AFTER_MS = 1_000;
const DEFAULT_PAGE_SIZE = 10;

export class HubSpotClient {
  private readonly baseUrl: CheckedUrl;
  private readonly tokens: CrmTokenSource;
  private readonly doFetch: OutboundFetch;
  private readonly timeoutMs: number;
  /** One repeat per kind of failure (rate limit; 5xx or network), never after a timeout. */
  private readonly policy: HttpPolicy;

  constructor(options: HubSpotClientOptions) {
    this.baseUrl = options.baseUrl;
    this.tokens = options.tokens;
    this.doFetch = options.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.policy = {
      timeoutMs: this.timeoutMs,
      attempts: 2,
      backoffMs: options.serverErrorBackoffMs ?? DEFAULT_SERVER_BACKOFF_MS,
      maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
      unsaidRetryAfterMs: DEFAULT_RETRY_AFTER_MS,
      // A timeout has already cost the user `timeoutMs`; another attempt would double it.
      repeatTimeouts: false,
    };
  }

  /** GET /crm/v3/objects/{type} */
  async listObjects(type: CrmObjectType, options: ListOptions = {}): Promise<CrmPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.after !== undefined) query.set('after', options.after);
    if (options.properties && options.properties.length > 0)
      query.set('properties', options.properties.join(','));
    const search = query.toString();
    const suffix = search === '' ? '' : `?${search}`;
    return this.request('GET', `/crm/v3/objects/${encodeURIComponent(type)}${suffix}`);
  }

  /** POST /crm/v3/objects/{type}/search */
  async searchObjects(type: CrmObjectType, body: SearchRequest): Promise<CrmPage> {
    return this.request('POST', `/crm/v3/objects/${encodeURIComponent(type)}/search`, body);
  }

  /** The user's deals (all deals without an owner id), soonest close date first; `total` counts them all. */
  async myDeals(options: OwnedOptions = {}): Promise<CrmPage> {
    return this.searchObjects('deals', {
      ...ownerFilter(options.ownerId),
      sorts: [{ propertyName: 'closedate', direction: 'ASCENDING' }],
      properties: CRM_PROPERTIES.deals,
      limit: options.limit ?? DEFAULT_PAGE_SIZE,
    });
  }

  /** Contacts whose first or last name has a word starting with each word of `name`. */
  async findContacts(name: string, options: { limit?: number } = {}): Promise<CrmPage> {
    const words = name.trim().split(/\s+/).map(tokenOf).filter(Boolean);
    if (words.length === 0) throw new CrmError('bad-request', 'a name to search for is required');
    // HubSpot ANDs filters within a group and ORs groups. One group per way of assigning the words to
    // first and last name: "ada" → firstname OR lastname; "ada lovelace" → also the two-word matches.
    const groups: NonNullable<SearchRequest['filterGroups']> = [];
    if (words.length === 1) {
      const token = `${words[0] ?? ''}*`;
      groups.push({ filters: [{ propertyName: 'firstname', operator: 'CONTAINS_TOKEN', value: token }] });
      groups.push({ filters: [{ propertyName: 'lastname', operator: 'CONTAINS_TOKEN', value: token }] });
    } else {
      // "Ada Lovelace" or "Lovelace Ada": first word and last word, in either role.
      const first = `${words[0] ?? ''}*`;
      const last = `${words[words.length - 1] ?? ''}*`;
      for (const [given, family] of [
        [first, last],
        [last, first],
      ] as const) {
        groups.push({
          filters: [
            { propertyName: 'firstname', operator: 'CONTAINS_TOKEN', value: given },
            { propertyName: 'lastname', operator: 'CONTAINS_TOKEN', value: family },
          ],
        });
      }
    }
    return this.searchObjects('contacts', {
      filterGroups: groups,
      sorts: [{ propertyName: 'lastname', direction: 'ASCENDING' }],
      properties: CRM_PROPERTIES.contacts,
      limit: options.limit ?? DEFAULT_PAGE_SIZE,
    });
  }

  /** Companies by name; `total` counts them all. */
  async companies(options: { limit?: number } = {}): Promise<CrmPage> {
    return this.searchObjects('companies', {
      sorts: [{ propertyName: 'name', direction: 'ASCENDING' }],
      properties: CRM_PROPERTIES.companies,
      limit: options.limit ?? DEFAULT_PAGE_SIZE,
    });
  }

  /** The user's tickets (all tickets without an owner id), newest first. */
  async myTickets(options: OwnedOptions = {}): Promise<CrmPage> {
    return this.searchObjects('tickets', {
      ...ownerFilter(options.ownerId),
      sorts: [{ propertyName: 'createdate', direction: 'DESCENDING' }],
      properties: CRM_PROPERTIES.tickets,
      limit: options.limit ?? DEFAULT_PAGE_SIZE,
    });
  }

  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<CrmPage> {
    let token = usableToken(await this.tokens.get());
    let refreshed = false;
    let rateLimited = 0;
    let failed = 0;

    // Each kind of retry happens at most once, so this runs at most four times.
    for (;;) {
      const res = await this.send(method, path, token, body);
      if (!(res instanceof Response)) {
        const delay = repeatDelay('api-read', res, (failed += 1), this.policy);
        if (delay === null) {
          throw new CrmError(
            'unavailable',
            res.kind === 'outcome-unknown' && res.timedOut
              ? `HubSpot did not answer within ${formatDuration(this.timeoutMs)}`
              : 'HubSpot could not be reached',
          );
        }
        await sleep(delay);
        continue;
      }

      if (res.status === 401) {
        await res.body?.cancel();
        if (refreshed) {
          throw new CrmError(
            'unauthorized',
            'HubSpot rejected the access token again after it was refreshed',
            {
              status: 401,
            },
          );
        }
        refreshed = true;
        const rejected = token;
        token = usableToken(await this.tokens.refreshAfterRejection(rejected));
        continue;
      }

      const failure = failureOfStatus(res.status, res.headers.get('retry-after'));
      if (failure) {
        await res.body?.cancel();
        const rateLimit = res.status === 429;
        const delay = repeatDelay(
          'api-read',
          failure,
          rateLimit ? (rateLimited += 1) : (failed += 1),
          this.policy,
        );
        if (delay !== null) {
          await sleep(delay);
          continue;
        }
        if (rateLimit) {
          const waitMs = (failure.kind === 'retry-after' ? failure.delayMs : null) ?? DEFAULT_RETRY_AFTER_MS;
          throw new CrmError(
            'rate-limited',
            `HubSpot is rate limiting requests; try again in ${Math.ceil(waitMs / 1000)} s`,
            { status: 429, retryAfterMs: waitMs },
          );
        }
        throw new CrmError(
          'unavailable',
          `HubSpot is not answering properly right now (HTTP ${res.status})`,
          {
            status: res.status,
          },
        );
      }

      if (res.status === 403) {
        const detail = await errorMessage(res, token);
        throw new CrmError(
          'forbidden',
          detail ?? 'HubSpot denied access: the connection lacks a required scope',
          {
            status: 403,
          },
        );
      }

      if (res.status < 200 || res.status >= 300) {
        const detail = await errorMessage(res, token);
        throw new CrmError(
          'bad-request',
          `HubSpot rejected the request (HTTP ${res.status})${detail ? `: ${detail}` : ''}`,
          { status: res.status },
        );
      }

      return parsePage(res);
    }
  }

  /** One HTTP exchange; a network failure or timeout comes back as what the retry policy reads. */
  private async send(
    method: 'GET' | 'POST',
    path: string,
    token: string,
    body: unknown,
  ): Promise<Response | CallFailure> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await this.doFetch(withPath(this.baseUrl, path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const failure = failureOfFetchError(error);
      if (failure.kind === 'answered') {
        // The API's host is internal and not allow-listed (SECURITY.md #42): no retry, and the address
        // stays out of the chat.
        throw new CrmError(
          'unavailable',
          'HubSpot cannot be reached from this service; ask an administrator',
        );
      }
      return failure;
    }
  }
}

function usableToken(result: TokenResult): string {
  if (result.ok) return result.accessToken;
  throw new CrmError(result.reason, result.message, { connectionId: result.connectionId });
}

function ownerFilter(ownerId: string | undefined): Pick<SearchRequest, 'filterGroups'> {
  if (ownerId === undefined) return {};
  return {
    filterGroups: [{ filters: [{ propertyName: 'hubspot_owner_id', operator: 'EQ', value: ownerId }] }],
  };
}

/** HubSpot tokens are words; a `*` typed by the user is not a wildcard they meant. */
function tokenOf(word: string): string {
  return word.replace(/\*/g, '').slice(0, 100);
}

async function parsePage(res: Response): Promise<CrmPage> {
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new CrmError('bad-response', 'HubSpot answered with something that is not JSON', {
      status: res.status,
    });
  }
  const parsed = pageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') || 'the document' : 'the document';
    throw new CrmError('bad-response', `HubSpot answered an unexpected document (at ${where})`, {
      status: res.status,
    });
  }
  const page: CrmPage = { results: parsed.data.results };
  if (parsed.data.total !== undefined) page.total = parsed.data.total;
  if (parsed.data.paging?.next) page.paging = { next: parsed.data.paging.next };
  return page;
}

/** HubSpot's `message` from an error body, shortened, with the token removed should it ever appear. */
async function errorMessage(res: Response, token: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await res.text();
  } catch {
    return undefined;
  }
  let message: string | undefined;
  try {
    message = errorBodySchema.safeParse(JSON.parse(text)).data?.message;
  } catch {
    return undefined;
  }
  if (!message) return undefined;
  return redact(message, token).replace(/\s+/g, ' ').trim().slice(0, 300);
}

function redact(text: string, token: string): string {
  return token.length > 0 ? text.split(token).join('[redacted]') : text;
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date (profiles/retryPolicy.ts `retryAfterMs`). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  return retryAfterMs(value ?? undefined, now) ?? undefined;
}

function formatDuration(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
