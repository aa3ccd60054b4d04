// Calls to the demo CRM of a running test harness (test/crm/demoCrmHarness.ts), and the HubSpot shapes
// it answers with. Shared by the demo CRM suites.
import type { DemoCrmHarness } from './demoCrmHarness';

export interface ApiRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface ApiPage {
  results: ApiRecord[];
  total?: number;
  paging?: { next: { after: string; link: string } };
}

export interface ApiError {
  status: string;
  message: string;
  category: string;
  correlationId: string;
  errors?: { message: string; in?: string; context?: { requiredScopes?: string[] } }[];
}

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export function crmCalls(harness: () => DemoCrmHarness) {
  /** `token: null` sends no Authorization header. */
  async function get<T = unknown>(path: string, token: string | null): Promise<Answer<T>> {
    const res = await fetch(`${harness().crmBaseUrl}${path}`, {
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as T };
  }

  async function search<T = ApiPage>(objectType: string, body: unknown, token: string): Promise<Answer<T>> {
    const res = await fetch(`${harness().crmBaseUrl}/crm/v3/objects/${objectType}/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as T };
  }

  /** The ids a search with these filters finds (all pages of up to 200). */
  async function idsOf(
    objectType: string,
    filters: Record<string, unknown>[],
    token: string,
    extra: Record<string, unknown> = {},
  ): Promise<string[]> {
    const { status, body } = await search(
      objectType,
      { filterGroups: filters.length > 0 ? [{ filters }] : [], limit: 200, ...extra },
      token,
    );
    if (status !== 200) throw new Error(`search answered ${status}: ${JSON.stringify(body)}`);
    return body.results.map((r) => r.id);
  }

  return { get, search, idsOf };
}
