// The demo CRM's search (POST /crm/v3/objects/{type}/search): every filter operator HubSpot documents,
// the free-text query over the default text properties, and the HubSpot-shaped 400 for bad input.
// Real restify server, real tokens from the real demo authorization server (oidc-provider).
import { crmCalls, type ApiError } from './demoCrmCalls';
import {
  ALL_CRM_SCOPES,
  startDemoCrmHarness,
  type DemoCrmHarness,
  type IssuedTokens,
} from './demoCrmHarness';

let harness: DemoCrmHarness;
let full: IssuedTokens;
const { search, idsOf } = crmCalls(() => harness);

beforeAll(async () => {
  harness = await startDemoCrmHarness();
  full = await harness.issueTokens(ALL_CRM_SCOPES);
});

afterAll(async () => {
  await harness?.close();
});

const ids = (type: string, ...filters: Record<string, unknown>[]) => idsOf(type, filters, full.accessToken);

describe('filter operators', () => {
  it('compares with GT, GTE, LT and LTE, numbers as numbers', async () => {
    expect(await ids('deals', { propertyName: 'amount', operator: 'GT', value: '22000' })).toEqual([
      '3002',
      '3004',
    ]);
    expect(await ids('deals', { propertyName: 'amount', operator: 'GTE', value: 22000 })).toEqual([
      '3002',
      '3004',
      '3006',
    ]);
    expect(await ids('deals', { propertyName: 'amount', operator: 'LT', value: 5400 })).toEqual(['3005']);
    expect(await ids('deals', { propertyName: 'amount', operator: 'LTE', value: '5400' })).toEqual([
      '3005',
      '3007',
    ]);
  });

  it('takes a range with BETWEEN (value and highValue, both included), dates as ISO or epoch ms', async () => {
    const june = {
      propertyName: 'closedate',
      operator: 'BETWEEN',
      value: '2025-05-30T00:00:00.000Z',
      highValue: String(Date.UTC(2025, 6, 15)),
    };
    expect(await ids('deals', june)).toEqual(['3004', '3006', '3008']);
  });

  it('matches any of a list with IN and none of it with NOT_IN, ignoring case', async () => {
    const won = { propertyName: 'dealstage', operator: 'IN', values: ['closedwon', 'CLOSEDLOST'] };
    expect(await ids('deals', won)).toEqual(['3006', '3007', '3008']);
    const open = { propertyName: 'dealstage', operator: 'NOT_IN', values: ['closedwon', 'closedlost'] };
    expect(await ids('deals', open)).toEqual(['3001', '3002', '3003', '3004', '3005']);
  });

  it('tells records with a property from records without it (HAS_PROPERTY, NOT_HAS_PROPERTY)', async () => {
    expect(await ids('tasks', { propertyName: 'hs_task_body', operator: 'HAS_PROPERTY' })).toEqual([
      '9001',
      '9003',
      '9004',
    ]);
    expect(await ids('tasks', { propertyName: 'hs_task_body', operator: 'NOT_HAS_PROPERTY' })).toEqual([
      '9002',
      '9005',
    ]);
  });

  it('matches words with CONTAINS_TOKEN (* a wildcard, also leading) and excludes them with NOT_CONTAINS_TOKEN', async () => {
    expect(
      await ids('contacts', { propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@cobol.example' }),
    ).toEqual(['1002']);
    expect(
      await ids('contacts', { propertyName: 'company', operator: 'CONTAINS_TOKEN', value: 'orbit' }),
    ).toEqual(['1004', '1006']);
    const notLabs = { propertyName: 'company', operator: 'NOT_CONTAINS_TOKEN', value: 'lab*' };
    expect(await ids('contacts', notLabs)).not.toContain('1005');
    expect((await ids('contacts', notLabs)).length).toBe(10);
  });

  it('finds the owner’s open deals by combining EQ and NEQ in one group', async () => {
    expect(
      await ids(
        'deals',
        { propertyName: 'hubspot_owner_id', operator: 'EQ', value: '71001' },
        { propertyName: 'dealstage', operator: 'NEQ', value: 'closedwon' },
      ),
    ).toEqual(['3001', '3002']);
  });
});

describe('query', () => {
  it('searches the contacts’ default text properties: names, e-mail, phone and company', async () => {
    const byQuery = async (query: string) =>
      (await search('contacts', { query }, full.accessToken)).body.results.map((r) => r.id);
    expect(await byQuery('cobol')).toEqual(['1002']);
    expect(await byQuery('Orbit')).toEqual(['1004', '1006']);
    expect(await byQuery('555 0110')).toEqual(['1010']);
    expect(await byQuery('ada lovelace')).toEqual(['1001']);
    expect(await byQuery('nobody-at-all')).toEqual([]);
  });

  it('combines query with filters', async () => {
    const { body } = await search(
      'contacts',
      {
        query: 'example',
        filterGroups: [{ filters: [{ propertyName: 'hubspot_owner_id', operator: 'EQ', value: '71004' }] }],
      },
      full.accessToken,
    );
    expect(body.results.map((r) => r.id)).toEqual(['1004', '1008', '1012']);
    expect(body.total).toBe(3);
  });
});

describe('bad input gets a HubSpot-shaped 400 naming the problem', () => {
  async function refused(type: string, body: unknown): Promise<ApiError> {
    const answer = await search<ApiError>(type, body, full.accessToken);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(answer.body.correlationId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    return answer.body;
  }
  const one = (filter: Record<string, unknown>) => ({ filterGroups: [{ filters: [filter] }] });

  it('an unknown operator', async () => {
    const error = await refused(
      'notes',
      one({ propertyName: 'hs_note_body', operator: 'STARTS_WITH', value: 'a' }),
    );
    expect(error.errors?.[0]?.in).toBe('filterGroups[0].filters[0].operator');
  });

  it('IN without values, EQ without a value, BETWEEN without highValue', async () => {
    const inWithout = await refused(
      'deals',
      one({ propertyName: 'dealstage', operator: 'IN', value: 'closedwon' }),
    );
    expect(inWithout.errors?.map((e) => [e.in, e.message])).toEqual([
      ['filterGroups[0].filters[0].value', 'not used by operator IN'],
      ['filterGroups[0].filters[0].values', 'required by operator IN'],
    ]);
    const eq = await refused('deals', one({ propertyName: 'dealstage', operator: 'EQ' }));
    expect(eq.message).toBe('Invalid input: filterGroups[0].filters[0].value: required by operator EQ');
    const between = await refused('deals', one({ propertyName: 'amount', operator: 'BETWEEN', value: 1 }));
    expect(between.message).toContain('filterGroups[0].filters[0].highValue: required by operator BETWEEN');
  });

  it('HAS_PROPERTY with a value, and an empty values list', async () => {
    const has = await refused(
      'tasks',
      one({ propertyName: 'hs_task_body', operator: 'HAS_PROPERTY', value: 'x' }),
    );
    expect(has.message).toContain('filterGroups[0].filters[0].value: not used by operator HAS_PROPERTY');
    const empty = await refused('deals', one({ propertyName: 'dealstage', operator: 'IN', values: [] }));
    expect(empty.message).toContain('filterGroups[0].filters[0].values');
  });

  it('a property the object type does not have, in a filter or a sort', async () => {
    const filter = await refused('calls', one({ propertyName: 'hs_note_body', operator: 'HAS_PROPERTY' }));
    expect(filter.message).toBe(
      'filterGroups[0].filters[0].propertyName: unknown property "hs_note_body" for calls',
    );
    const association = await refused(
      'deals',
      one({ propertyName: 'associations.contact', operator: 'EQ', value: '1' }),
    );
    expect(association.message).toContain('unknown property "associations.contact" for deals');
    const sort = await refused('tasks', { sorts: [{ propertyName: 'hs_task_due', direction: 'ASCENDING' }] });
    expect(sort.message).toBe('sorts[0].propertyName: unknown property "hs_task_due" for tasks');
  });

  it.each([0, 201, 2.5])('limit %p', async (limit) => {
    const error = await refused('meetings', { limit });
    expect(error.message).toMatch(/^Invalid input: limit: /);
  });

  it('more filter groups than HubSpot allows', async () => {
    const group = { filters: [{ propertyName: 'amount', operator: 'HAS_PROPERTY' }] };
    const error = await refused('deals', { filterGroups: Array.from({ length: 6 }, () => group) });
    expect(error.message).toMatch(/^Invalid input: filterGroups: /);
  });
});
