// A small client for HubSpot's CRM v3 objects API (and the demo CRM that imitates it), used by the CRM
// dialogs. It takes tokens from the engine, retries each kind of transient failure at most once
// (401 → refresh the token, 429 → wait Retry-After, 5xx/network → short back-off), validates what comes
// back, and reports every failure as a CrmError with a stable code. A token never appears in an error.
import { z } from 'zod';

import {
  type CheckedUrl,
  isAuthProfilesError,
  type OutboundFetch,
  type TokenResult,
  type TokenUnavailableReason,
  withPath,
} from '../../profiles';

export type CrmObjectType = 'contacts' | 'companies' | 'deals' | 'tickets';

export type CrmErrorCode =
  | TokenUnavailableReason
  /** The API refused the token again after one refresh. */
  | 'unauthorized'
  /** The token lacks a scope for this object type (message says which, when the API does). */
  | 'forbidden'
  /** 429 twice, or a Retry-After longer than the client will wait (see `retryAfterMs`). */
  | 'rate-limited'
  /** 5xx twice, a network failure or a timeout. */
  | 'unavailable'
  /** The API answered 2xx with something that is not a CRM result. */
  | 'bad-response'
  /** The API rejected the request itself (another 4xx, e.g. a validation error). */
  | 'bad-request';

export class CrmError extends Error {
  override readonly name = 'CrmError';

  constructor(
    readonly code: CrmErrorCode,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number; connectionId?: string } = {},
  ) {
    super(message);
  }
}

export function isCrmError(error: unknown): error is CrmError {
  return error instanceof CrmError;
}

export interface CrmTokenSource {
  get(): Promise<TokenResult>;
  /** The API answered 401 to `token`: refresh it (once) and return the new one. */
  refreshAfterRejection(token: string): Promise<TokenResult>;
}

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

export interface CrmRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt?: string;
  updatedAt?: string;
  archived?: boolean;
}

export interface CrmPage {
  results: CrmRecord[];
  /** Number of matches (search only). */
  total?: number;
  paging?: { next?: { after: string; link?: string } };
}

export interface ListOptions {
  limit?: number;
  properties?: readonly string[];
  after?: string;
}

export type SearchOperator = 'EQ' | 'NEQ' | 'CONTAINS_TOKEN' | 'GT' | 'LT';

export interface SearchRequest {
  filterGroups?: { filters: { propertyName: string; operator: SearchOperator; value: string | number }[] }[];
  query?: string;
  sorts?: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }[];
  properties?: readonly string[];
  limit?: number;
  after?: string;
}

export interface OwnedOptions {
  /** HubSpot owner id of the user; without it every record is returned (the demo's shared account). */
  ownerId?: string;
  limit?: number;
}

export const CRM_PROPERTIES: Readonly<Record<CrmObjectType, readonly string[]>> = {
  deals: [
    'dealname',
    'amount',
    'dealstage',
    'closedate',
    'pipeline',
    'hubspot_owner_id',
    'deal_currency_code',
  ],
  contacts: ['firstname', 'lastname', 'email', 'company', 'phone'],
  companies: ['name', 'domain', 'industry', 'city'],
  tickets: [
    'subject',
    'content',
    'hs_pipeline_stage',
    'hs_ticket_priority',
    'createdate',
    'hubspot_owner_id',
  ],
};

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 10_000;
const DEFAULT_SERVER_BACKOFF_MS = 300;
/** 429 without Retry-After: HubSpot's limits are per second or per ten seconds. */
const DEFAULT_RETRY_AFTER_MS = 1_000;
const DEFAULT_PAGE_SIZE = 10;

const propertyValue = z
  .union([z.string(), z.number(), z.boolean()])
  .nullable()
  .transform((v) => (v === null ? null : String(v)));

const pageSchema = z.object({
  results: z.array(
    z.object({
      id: z.union([z.string().min(1), z.number()]).transform(String),
      properties: z.record(z.string(), propertyValue),
      createdAt: z.string().optional(),
      updatedAt: z.string().optional(),
      archived: z.boolean().optional(),
    }),
  ),
  total: z.number().int().nonnegative().optional(),
  paging: z
    .object({ next: z.object({ after: z.string(), link: z.string().optional() }).optional() })
    .optional(),
});

const errorBodySchema = z.object({ message: z.string().optional(), category: z.string().optional() });

export class HubSpotClient {
  private readonly baseUrl: CheckedUrl;
  private readonly tokens: CrmTokenSource;
  private readonly doFetch: OutboundFetch;
  private readonly maxRetryAfterMs: number;
  private readonly timeoutMs: number;
  private readonly serverErrorBackoffMs: number;

  constructor(options: HubSpotClientOptions) {
    this.baseUrl = options.baseUrl;
    this.tokens = options.tokens;
    this.doFetch = options.fetch;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.serverErrorBackoffMs = options.serverErrorBackoffMs ?? DEFAULT_SERVER_BACKOFF_MS;
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
    let waitedForRateLimit = false;
    let retriedServerError = false;

    // Each kind of retry happens at most once, so this runs at most four times.
    for (;;) {
      const res = await this.send(method, path, token, body, retriedServerError);
      if (res === 'network-error') {
        retriedServerError = true;
        await sleep(this.serverErrorBackoffMs);
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

      if (res.status === 429) {
        const retryAfterMs =
          parseRetryAfter(res.headers.get('retry-after'), Date.now()) ?? DEFAULT_RETRY_AFTER_MS;
        await res.body?.cancel();
        if (waitedForRateLimit || retryAfterMs > this.maxRetryAfterMs) {
          const seconds = Math.ceil(retryAfterMs / 1000);
          throw new CrmError('rate-limited', `HubSpot is rate limiting requests; try again in ${seconds} s`, {
            status: 429,
            retryAfterMs,
          });
        }
        waitedForRateLimit = true;
        await sleep(retryAfterMs);
        continue;
      }

      if (res.status >= 500) {
        await res.body?.cancel();
        if (retriedServerError) {
          throw new CrmError(
            'unavailable',
            `HubSpot is not answering properly right now (HTTP ${res.status})`,
            {
              status: res.status,
            },
          );
        }
        retriedServerError = true;
        await sleep(this.serverErrorBackoffMs);
        continue;
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

  /** One HTTP exchange; a network failure or timeout is returned once for a retry, then thrown. */
  private async send(
    method: 'GET' | 'POST',
    path: string,
    token: string,
    body: unknown,
    isRetry: boolean,
  ): Promise<Response | 'network-error'> {
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
      if (isAuthProfilesError(error, 'outbound-refused')) {
        // The API's host is internal and not allow-listed (SECURITY.md #42): no retry, and the address
        // stays out of the chat.
        throw new CrmError(
          'unavailable',
          'HubSpot cannot be reached from this service; ask an administrator',
        );
      }
      // AbortSignal.timeout() rejects with a DOMException named TimeoutError (not always instanceof Error).
      const timedOut = (error as { name?: unknown } | null)?.name === 'TimeoutError';
      // A timeout has already cost the user `timeoutMs`; another attempt would double it.
      if (!timedOut && !isRetry) return 'network-error';
      throw new CrmError(
        'unavailable',
        timedOut
          ? `HubSpot did not answer within ${formatDuration(this.timeoutMs)}`
          : 'HubSpot could not be reached',
      );
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

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function formatDuration(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
