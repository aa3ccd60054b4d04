import { z } from 'zod';
import type { TokenResult, TokenUnavailableReason } from '../../profiles';

// What the CRM commands exchange with HubSpot's CRM v3 objects API: object types, records, pages,
// search requests, the properties asked for, the documents accepted back, and the errors (stable codes).

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

const propertyValue = z
  .union([z.string(), z.number(), z.boolean()])
  .nullable()
  .transform((v) => (v === null ? null : String(v)));

export const pageSchema = z.object({
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

export const errorBodySchema = z.object({ message: z.string().optional(), category: z.string().optional() });
