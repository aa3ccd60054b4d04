// The demo CRM API (bot/dev/demoCrm/demoCrm.ts) on a real restify server, called with real access tokens from
// the real demo authorization server.
import {
  ALL_CRM_SCOPES,
  CONTACTS,
  TICKETS,
  startDemoCrmHarness,
  type DemoCrmHarness,
  type IssuedTokens,
} from './demoCrmHarness';

interface ApiRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

interface ApiPage {
  results: ApiRecord[];
  total?: number;
  paging?: { next: { after: string; link: string } };
}

interface ApiError {
  status: string;
  message: string;
  category: string;
  errors?: { message: string; in?: string }[];
}

let harness: DemoCrmHarness;
let full: IssuedTokens;

beforeAll(async () => {
  harness = await startDemoCrmHarness();
  full = await harness.issueTokens(ALL_CRM_SCOPES);
});

afterAll(async () => {
  await harness?.close();
});

/** `token: null` sends no Authorization header. */
async function get(path: string, token: string | null = full.accessToken) {
  const res = await fetch(`${harness.crmBaseUrl}${path}`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

async function search(objectType: string, body: unknown, token: string = full.accessToken) {
  const res = await fetch(`${harness.crmBaseUrl}/crm/v3/objects/${objectType}/search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

describe('GET /crm/v3/objects/:objectType', () => {
  it('lists ten records by default with a cursor to the next page', async () => {
    const { status, headers, body } = await get('/crm/v3/objects/contacts');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    const page = body as ApiPage;
    expect(page.results.map((r) => r.id)).toEqual([
      '1001',
      '1002',
      '1003',
      '1004',
      '1005',
      '1006',
      '1007',
      '1008',
      '1009',
      '1010',
    ]);
    expect(page.paging?.next.after).toBe('10');
    expect(page.paging?.next.link).toBe('/demo/crm/crm/v3/objects/contacts?limit=10&after=10');
    expect(page.total).toBeUndefined();
  });

  it('returns records in HubSpot shape: string properties plus hs_object_id, createdate, lastmodifieddate', async () => {
    const page = (await get('/crm/v3/objects/contacts?limit=1')).body as ApiPage;
    expect(page.results[0]).toEqual({
      id: '1001',
      properties: {
        firstname: 'Ada',
        lastname: 'Lovelace',
        email: 'ada@analytical.example',
        company: 'Analytical Engines Ltd',
        phone: '+44 20 7946 0001',
        hubspot_owner_id: '71001',
        hs_object_id: '1001',
        createdate: '2025-01-02T09:00:00.000Z',
        lastmodifieddate: '2025-01-02T11:00:00.000Z',
      },
      createdAt: '2025-01-02T09:00:00.000Z',
      updatedAt: '2025-01-02T11:00:00.000Z',
      archived: false,
    });
  });

  it('follows the after cursor to the last page, which has no paging', async () => {
    const page = (await get('/crm/v3/objects/contacts?limit=10&after=10')).body as ApiPage;
    expect(page.results.map((r) => r.properties.lastname)).toEqual(['Dijkstra', 'Perlman']);
    expect(page.paging).toBeUndefined();
  });

  it('returns only the requested properties (comma list or repeated), ignoring unknown names', async () => {
    const comma = (await get('/crm/v3/objects/deals?limit=1&properties=dealname,amount,nonsense'))
      .body as ApiPage;
    expect(comma.results[0]?.properties).toEqual({
      dealname: 'Analytical Engines renewal',
      amount: '12500',
      hs_object_id: '3001',
      createdate: '2025-01-02T09:00:00.000Z',
      lastmodifieddate: '2025-01-02T11:00:00.000Z',
    });
    const repeated = (await get('/crm/v3/objects/deals?limit=1&properties=dealname&properties=dealstage'))
      .body as ApiPage;
    expect(Object.keys(repeated.results[0]?.properties ?? {}).sort()).toEqual(
      ['createdate', 'dealname', 'dealstage', 'hs_object_id', 'lastmodifieddate'].sort(),
    );
  });

  it('serves every object type, also by HubSpot object type id', async () => {
    const counts: Record<string, number> = {};
    for (const type of ['contacts', 'companies', 'deals', 'tickets', '0-3']) {
      const { status, body } = await get(`/crm/v3/objects/${type}?limit=100`);
      expect(status).toBe(200);
      counts[type] = (body as ApiPage).results.length;
    }
    expect(counts).toEqual({ contacts: 12, companies: 6, deals: 8, tickets: 6, '0-3': 8 });
  });

  it('rejects a limit above 100 with a validation error naming limit', async () => {
    const { status, body } = await get('/crm/v3/objects/contacts?limit=101');
    expect(status).toBe(400);
    expect(body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect((body as ApiError).message).toContain('limit');
  });

  it('answers 400 for an unknown object type', async () => {
    const { status, body } = await get('/crm/v3/objects/widgets');
    expect(status).toBe(400);
    expect(body).toMatchObject({
      category: 'VALIDATION_ERROR',
      message: 'Unable to infer object type from: widgets',
    });
  });
});

describe('POST /crm/v3/objects/:objectType/search', () => {
  it('filters with EQ and reports the total', async () => {
    const { status, body } = await search('deals', {
      filterGroups: [{ filters: [{ propertyName: 'dealstage', operator: 'EQ', value: 'closedwon' }] }],
      properties: ['dealname', 'dealstage'],
    });
    expect(status).toBe(200);
    const page = body as ApiPage;
    expect(page.total).toBe(2);
    expect(page.results.map((r) => r.properties.dealname)).toEqual([
      'Spread Spectrum licences',
      'Orbit Dynamics support plan',
    ]);
  });

  it('ANDs filters within a group and ORs the groups', async () => {
    const page = (
      await search('deals', {
        filterGroups: [
          {
            filters: [
              { propertyName: 'amount', operator: 'GT', value: 20000 },
              { propertyName: 'dealstage', operator: 'NEQ', value: 'closedwon' },
            ],
          },
          { filters: [{ propertyName: 'amount', operator: 'LT', value: '4000' }] },
        ],
      })
    ).body as ApiPage;
    expect(page.results.map((r) => r.id)).toEqual(['3002', '3004', '3005']);
    expect(page.total).toBe(3);
  });

  it('matches CONTAINS_TOKEN on whole words, with * as a wildcard', async () => {
    const exact = (
      await search('contacts', {
        filterGroups: [{ filters: [{ propertyName: 'lastname', operator: 'CONTAINS_TOKEN', value: 'hop' }] }],
      })
    ).body as ApiPage;
    expect(exact.total).toBe(0);
    const wildcard = (
      await search('contacts', {
        filterGroups: [
          { filters: [{ propertyName: 'lastname', operator: 'CONTAINS_TOKEN', value: 'hop*' }] },
        ],
      })
    ).body as ApiPage;
    expect(wildcard.results.map((r) => r.properties.firstname)).toEqual(['Grace']);
  });

  it('compares dates given as epoch milliseconds', async () => {
    const page = (
      await search('deals', {
        filterGroups: [
          {
            filters: [{ propertyName: 'closedate', operator: 'LT', value: String(Date.UTC(2025, 5, 1)) }],
          },
        ],
      })
    ).body as ApiPage;
    expect(page.results.map((r) => r.id)).toEqual(['3006', '3007']);
  });

  it('searches the default text properties with query', async () => {
    const page = (await search('companies', { query: 'orbit' })).body as ApiPage;
    expect(page.results.map((r) => r.properties.name)).toEqual(['Orbit Dynamics']);
  });

  it('sorts, pages with after and keeps the total', async () => {
    const body = {
      sorts: [{ propertyName: 'amount', direction: 'DESCENDING' }],
      properties: ['amount'],
      limit: 3,
    };
    const first = (await search('deals', body)).body as ApiPage;
    expect(first.results.map((r) => r.properties.amount)).toEqual(['125000', '48000', '22000']);
    expect(first.total).toBe(8);
    expect(first.paging?.next.after).toBe('3');
    const last = (await search('deals', { ...body, after: '6' })).body as ApiPage;
    expect(last.results.map((r) => r.properties.amount)).toEqual(['5400', '3900']);
    expect(last.paging).toBeUndefined();
  });

  it('rejects an unknown operator with a validation error naming the field', async () => {
    const { status, body } = await search('contacts', {
      filterGroups: [{ filters: [{ propertyName: 'firstname', operator: 'LIKE', value: 'Ada' }] }],
    });
    expect(status).toBe(400);
    const error = body as ApiError;
    expect(error).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(error.message).toContain('filterGroups[0].filters[0].operator');
    expect(error.errors?.[0]?.in).toBe('filterGroups[0].filters[0].operator');
  });

  it('rejects a misspelt field by name', async () => {
    const { status, body } = await search('contacts', { filtergroups: [] });
    expect(status).toBe(400);
    expect((body as ApiError).message).toContain('filtergroups');
  });

  it('rejects a limit of the wrong type by name', async () => {
    const { status, body } = await search('contacts', { limit: 'ten' });
    expect(status).toBe(400);
    expect((body as ApiError).message).toContain('limit');
  });

  it('rejects a filter on a property the object type does not have', async () => {
    const { status, body } = await search('tickets', {
      filterGroups: [{ filters: [{ propertyName: 'dealname', operator: 'EQ', value: 'x' }] }],
    });
    expect(status).toBe(400);
    expect((body as ApiError).message).toBe(
      'filterGroups[0].filters[0].propertyName: unknown property "dealname" for tickets',
    );
  });

  it('rejects a body that is not JSON', async () => {
    const { status, body } = await search('contacts', '{"filterGroups": [');
    expect(status).toBe(400);
    expect(body).toMatchObject({ category: 'VALIDATION_ERROR' });
  });
});

describe('authentication and scopes', () => {
  it('answers 401 with a Bearer challenge and no error code when there is no token (RFC 6750 §3.1)', async () => {
    const { status, headers, body } = await get('/crm/v3/objects/contacts', null);
    expect(status).toBe(401);
    expect(headers.get('www-authenticate')).toBe('Bearer realm="demo-crm"');
    expect(body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
  });

  it('answers 401 invalid_token for a token the provider never issued', async () => {
    const { status, headers } = await get('/crm/v3/objects/contacts', 'not-a-real-token');
    expect(status).toBe(401);
    expect(headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('does not accept a refresh token as a bearer token', async () => {
    const { status, headers } = await get('/crm/v3/objects/contacts', full.refreshToken);
    expect(status).toBe(401);
    expect(headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('answers 403 MISSING_SCOPES naming the scope the object type needs', async () => {
    const contactsOnly = await harness.issueTokens(CONTACTS, 'bob');
    expect(contactsOnly.scope).toBe(CONTACTS);
    expect((await get('/crm/v3/objects/contacts', contactsOnly.accessToken)).status).toBe(200);

    const deals = await get('/crm/v3/objects/deals', contactsOnly.accessToken);
    expect(deals.status).toBe(403);
    expect(deals.body).toMatchObject({ status: 'error', category: 'MISSING_SCOPES' });
    expect((deals.body as ApiError).message).toContain('crm.objects.deals.read');

    const searchDeals = await search('deals', {}, contactsOnly.accessToken);
    expect(searchDeals.status).toBe(403);
  });

  it('uses HubSpot’s "tickets" scope for tickets', async () => {
    const ticketsOnly = await harness.issueTokens(TICKETS, 'carol');
    expect((await get('/crm/v3/objects/tickets', ticketsOnly.accessToken)).status).toBe(200);
    const contacts = await get('/crm/v3/objects/contacts', ticketsOnly.accessToken);
    expect(contacts.status).toBe(403);
    expect((contacts.body as ApiError).message).toContain(CONTACTS);
  });

  it('introspects a token once and reuses the answer for the following requests', async () => {
    const tokens = await harness.issueTokens(ALL_CRM_SCOPES, 'dave');
    await harness.authServer.resetStats();
    for (let i = 0; i < 3; i += 1) {
      expect((await get('/crm/v3/objects/companies', tokens.accessToken)).status).toBe(200);
    }
    expect((await harness.authServer.stats()).introspection).toBe(1);
  });

  it('answers 503 when the token cannot be checked, and checks again on the next request', async () => {
    const tokens = await harness.issueTokens(ALL_CRM_SCOPES, 'erin');
    await harness.authServer.injectFault({ introspection: { status: 500, times: 1 } });
    try {
      const failed = await get('/crm/v3/objects/companies', tokens.accessToken);
      expect(failed.status).toBe(503);
      expect(JSON.stringify(failed.body)).not.toContain(tokens.accessToken);
      expect((await get('/crm/v3/objects/companies', tokens.accessToken)).status).toBe(200);
    } finally {
      await harness.authServer.resetFaults();
    }
  });
});

describe('expired tokens', () => {
  let shortLived: DemoCrmHarness;

  beforeAll(async () => {
    // Long enough for the first request to land before expiry on a loaded CI machine (a 1 s token
    // sometimes expired before it), short enough to wait out.
    shortLived = await startDemoCrmHarness({ accessTokenTtl: 4 });
  });

  afterAll(async () => {
    await shortLived?.close();
  });

  it('rejects a token after it expires although its earlier answer is still cached', async () => {
    const tokens = await shortLived.issueTokens(ALL_CRM_SCOPES);
    const issuedBy = Date.now();
    const url = `${shortLived.crmBaseUrl}/crm/v3/objects/deals`;
    const headers = { authorization: `Bearer ${tokens.accessToken}` };
    expect((await fetch(url, { headers })).status).toBe(200);
    // Until the token has surely expired: it was issued before `issuedBy`, for 4 s.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, issuedBy + 4_200 - Date.now())));
    const res = await fetch(url, { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});
