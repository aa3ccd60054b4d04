// The demo CRM's owners (HubSpot's CRM v3 owners API), its token-info endpoint, and "my" records: a
// signed-in demo user finds their owner by the e-mail address token info gives them, and a search on
// hubspot_owner_id returns only their records. Real restify server, real tokens from the real demo
// authorization server (oidc-provider), real introspection.
import { crmCalls, type ApiError } from './demoCrmCalls';
import {
  ALL_CRM_SCOPES,
  DEALS,
  OWNERS,
  startDemoCrmHarness,
  type DemoCrmHarness,
  type IssuedTokens,
} from './demoCrmHarness';

interface Owner {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  userId: number | null;
  userIdIncludingInactive: number;
  type: string;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  teams?: { id: string; name: string; primary: boolean }[];
}

interface OwnerPage {
  results: Owner[];
  paging?: { next: { after: string; link: string } };
}

interface TokenInfo {
  user: string;
  user_id: number;
  hub_id: number;
  hub_domain: string;
  app_id: number;
  scopes: string[];
  token_type: string;
  expires_in: number;
}

let harness: DemoCrmHarness;
let alice: IssuedTokens;
const { get, idsOf } = crmCalls(() => harness);

beforeAll(async () => {
  harness = await startDemoCrmHarness();
  alice = await harness.issueTokens(ALL_CRM_SCOPES, 'alice');
});

afterAll(async () => {
  await harness?.close();
});

describe('GET /crm/v3/owners', () => {
  it('lists the active owners in HubSpot shape, without paging when all fit', async () => {
    const { status, body } = await get<OwnerPage>('/crm/v3/owners', alice.accessToken);
    expect(status).toBe(200);
    expect(body.results.map((o) => [o.id, o.email, o.userId])).toEqual([
      ['71001', 'alice@demo-crm.example', 9100001],
      ['71002', 'bob@demo-crm.example', 9100002],
      ['71003', 'carol@demo-crm.example', 9100003],
      ['71004', 'dave@demo-crm.example', 9100004],
    ]);
    expect(body.results[2]).toEqual({
      id: '71003',
      email: 'carol@demo-crm.example',
      type: 'PERSON',
      firstName: 'Carol',
      lastName: 'Chen',
      userId: 9100003,
      userIdIncludingInactive: 9100003,
      createdAt: '2024-11-03T08:00:00.000Z',
      updatedAt: '2025-01-03T08:00:00.000Z',
      archived: false,
      teams: [
        { id: '401', name: 'Sales', primary: true },
        { id: '402', name: 'Customer Support', primary: false },
      ],
    });
    expect(body.paging).toBeUndefined();
  });

  it('pages with limit and after', async () => {
    const first = (await get<OwnerPage>('/crm/v3/owners?limit=3', alice.accessToken)).body;
    expect(first.results.map((o) => o.id)).toEqual(['71001', '71002', '71003']);
    expect(first.paging?.next).toEqual({ after: '3', link: '/demo/crm/crm/v3/owners?limit=3&after=3' });
    const last = (await get<OwnerPage>('/crm/v3/owners?limit=3&after=3', alice.accessToken)).body;
    expect(last.results.map((o) => o.id)).toEqual(['71004']);
    expect(last.paging).toBeUndefined();
  });

  it('filters by e-mail address, ignoring case', async () => {
    const { body } = await get<OwnerPage>('/crm/v3/owners?email=Bob%40Demo-CRM.example', alice.accessToken);
    expect(body.results.map((o) => o.id)).toEqual(['71002']);
    const nobody = await get<OwnerPage>('/crm/v3/owners?email=zed%40demo-crm.example', alice.accessToken);
    expect(nobody.body.results).toEqual([]);
  });

  it('lists archived owners only with archived=true, whose userId is null', async () => {
    const { body } = await get<OwnerPage>('/crm/v3/owners?archived=true', alice.accessToken);
    expect(body.results.map((o) => [o.id, o.userId, o.userIdIncludingInactive, o.archived])).toEqual([
      ['71009', null, 9100009, true],
    ]);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['after=x', 'after'],
    ['archived=maybe', 'archived'],
  ])('answers 400 for %s, naming %s', async (query, field) => {
    const { status, body } = await get<ApiError>(`/crm/v3/owners?${query}`, alice.accessToken);
    expect(status).toBe(400);
    expect(body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(body.message).toMatch(new RegExp(`^Invalid input: ${field}: `));
  });

  it('needs crm.objects.owners.read, and says so', async () => {
    const dealsOnly = await harness.issueTokens(DEALS, 'bob');
    for (const path of ['/crm/v3/owners', '/crm/v3/owners/71001']) {
      const { status, body } = await get<ApiError>(path, dealsOnly.accessToken);
      expect(status).toBe(403);
      expect(body).toMatchObject({ status: 'error', category: 'MISSING_SCOPES' });
      expect(body.errors?.[0]?.context?.requiredScopes).toEqual([OWNERS]);
    }
    expect((await get('/crm/v3/owners', null)).status).toBe(401);
  });
});

describe('GET /crm/v3/owners/:ownerId', () => {
  it('reads an owner by id, and by user id with idProperty=userId', async () => {
    const byId = await get<Owner>('/crm/v3/owners/71004', alice.accessToken);
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({ id: '71004', email: 'dave@demo-crm.example', userId: 9100004 });
    const byUser = await get<Owner>('/crm/v3/owners/9100004?idProperty=userId', alice.accessToken);
    expect(byUser.body.id).toBe('71004');
    expect((await get('/crm/v3/owners/9100004', alice.accessToken)).status).toBe(404);
  });

  it('reads an archived owner only with archived=true', async () => {
    expect((await get('/crm/v3/owners/71009', alice.accessToken)).status).toBe(404);
    const archived = await get<Owner>('/crm/v3/owners/71009?archived=true', alice.accessToken);
    expect(archived.body).toMatchObject({ id: '71009', archived: true, userId: null });
  });

  it('answers 404 OBJECT_NOT_FOUND for an owner nobody is', async () => {
    const { status, body } = await get<ApiError>('/crm/v3/owners/71999', alice.accessToken);
    expect(status).toBe(404);
    expect(body).toMatchObject({ category: 'OBJECT_NOT_FOUND', message: 'No owner has id 71999.' });
  });

  it('answers 400 naming ownerId or idProperty for bad input', async () => {
    const badId = await get<ApiError>('/crm/v3/owners/alice', alice.accessToken);
    expect(badId.status).toBe(400);
    expect(badId.body.message).toBe('Invalid input: ownerId: must be a whole number');
    const badProperty = await get<ApiError>('/crm/v3/owners/71001?idProperty=email', alice.accessToken);
    expect(badProperty.status).toBe(400);
    expect(badProperty.body.errors?.[0]?.in).toBe('idProperty');
  });
});

describe('GET /oauth/v1/access-tokens/:token (token info)', () => {
  it('names the portal and the signed-in user by e-mail address, and never repeats the token', async () => {
    const res = await fetch(`${harness.crmBaseUrl}/oauth/v1/access-tokens/${alice.accessToken}`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(alice.accessToken);
    const info = JSON.parse(text) as TokenInfo;
    expect(info).toMatchObject({
      user: 'alice@demo-crm.example',
      user_id: 9100001,
      hub_id: 9000001,
      hub_domain: 'demo-crm.example',
      app_id: 1700001,
      token_type: 'access',
    });
    expect(info.scopes.sort()).toEqual(ALL_CRM_SCOPES.split(' ').sort());
    expect(info.expires_in).toBeGreaterThan(500);
    expect(info.expires_in).toBeLessThanOrEqual(600);
  });

  it('gives a login that is no owner an address and a stable user id of its own', async () => {
    const zed = await harness.issueTokens(DEALS, 'zed');
    const first = await get<TokenInfo>(`/oauth/v1/access-tokens/${zed.accessToken}`, null);
    expect(first.body.user).toBe('zed@demo-crm.example');
    expect(first.body.user_id).toBeGreaterThanOrEqual(9200000);
    const again = await harness.issueTokens(DEALS, 'zed');
    expect((await get<TokenInfo>(`/oauth/v1/access-tokens/${again.accessToken}`, null)).body.user_id).toBe(
      first.body.user_id,
    );
  });

  it('answers 404 for a token the provider never issued or a refresh token, 400 for one that cannot be', async () => {
    expect((await get('/oauth/v1/access-tokens/not-a-real-token', null)).status).toBe(404);
    expect((await get(`/oauth/v1/access-tokens/${alice.refreshToken}`, null)).status).toBe(404);
    const bad = await get<ApiError>('/oauth/v1/access-tokens/%22quoted%22', null);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('token: not an access token');
  });
});

describe('"my" records: the signed-in user’s owner id as a search filter', () => {
  /** What the HubSpot actions do: token info → owner by e-mail → search on hubspot_owner_id. */
  async function mine(login: string, objectType: string): Promise<{ ownerId?: string; ids: string[] }> {
    const tokens = await harness.issueTokens(ALL_CRM_SCOPES, login);
    const info = (await get<TokenInfo>(`/oauth/v1/access-tokens/${tokens.accessToken}`, null)).body;
    const owners = await get<OwnerPage>(
      `/crm/v3/owners?email=${encodeURIComponent(info.user)}`,
      tokens.accessToken,
    );
    const ownerId = owners.body.results[0]?.id;
    if (ownerId === undefined) return { ids: [] };
    const filter = [{ propertyName: 'hubspot_owner_id', operator: 'EQ', value: ownerId }];
    return { ownerId, ids: await idsOf(objectType, filter, tokens.accessToken) };
  }

  it('gives each sales owner only their deals', async () => {
    expect(await mine('alice', 'deals')).toEqual({ ownerId: '71001', ids: ['3001', '3002', '3006'] });
    expect(await mine('bob', 'deals')).toEqual({ ownerId: '71002', ids: ['3003', '3005', '3007'] });
    expect(await mine('carol', 'deals')).toEqual({ ownerId: '71003', ids: ['3004', '3008'] });
  });

  it('gives the support owner only their tickets, and other owners theirs', async () => {
    expect((await mine('dave', 'tickets')).ids).toEqual(['4001', '4003', '4006']);
    expect((await mine('alice', 'tickets')).ids).toEqual(['4004']);
    expect((await mine('alice', 'tasks')).ids).toEqual(['9001', '9002']);
  });

  it('gives a login that owns nothing no owner and so no records', async () => {
    expect(await mine('zed', 'deals')).toEqual({ ids: [] });
  });
});
