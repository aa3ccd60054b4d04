// The demo CRM's engagements (notes, calls, emails, meetings, tasks) and reading one record, on a real
// restify server with real access tokens from the real demo authorization server (oidc-provider).
import { crmCalls, type ApiError, type ApiPage, type ApiRecord } from './demoCrmCalls';
import {
  ALL_CRM_SCOPES,
  CONTACTS,
  DEALS,
  startDemoCrmHarness,
  type DemoCrmHarness,
  type IssuedTokens,
} from './demoCrmHarness';

let harness: DemoCrmHarness;
let full: IssuedTokens;
const { get, search, idsOf } = crmCalls(() => harness);

beforeAll(async () => {
  harness = await startDemoCrmHarness();
  full = await harness.issueTokens(ALL_CRM_SCOPES);
});

afterAll(async () => {
  await harness?.close();
});

const page = async (path: string, token = full.accessToken) => {
  const answer = await get<ApiPage>(path, token);
  expect(answer.status).toBe(200);
  return answer.body;
};

describe('engagement objects', () => {
  it.each([
    ['notes', 5, ['hs_note_body', 'hs_timestamp', 'hubspot_owner_id']],
    [
      'calls',
      4,
      [
        'hs_call_title',
        'hs_call_body',
        'hs_call_duration',
        'hs_call_direction',
        'hs_call_status',
        'hs_timestamp',
      ],
    ],
    [
      'emails',
      4,
      ['hs_email_subject', 'hs_email_text', 'hs_email_direction', 'hs_email_status', 'hs_timestamp'],
    ],
    [
      'meetings',
      4,
      [
        'hs_meeting_title',
        'hs_meeting_start_time',
        'hs_meeting_end_time',
        'hs_meeting_outcome',
        'hs_timestamp',
      ],
    ],
    ['tasks', 5, ['hs_task_subject', 'hs_task_status', 'hs_task_priority', 'hs_task_type', 'hs_timestamp']],
  ])('lists %s with HubSpot property names', async (type, count, names) => {
    const { results } = await page(`/crm/v3/objects/${type}?limit=100`);
    expect(results).toHaveLength(count);
    for (const record of results) {
      expect(record.archived).toBe(false);
      expect(record.properties.hs_object_id).toBe(record.id);
      expect(record.properties.hubspot_owner_id).toMatch(/^7100[1-4]$/);
      for (const name of names) expect(record.properties).toHaveProperty(name);
    }
  });

  it('serves a call in HubSpot shape: duration in milliseconds, hs_createdate and hs_lastmodifieddate', async () => {
    const call = (await get<ApiRecord>('/crm/v3/objects/calls/6002', full.accessToken)).body;
    expect(call).toEqual({
      id: '6002',
      properties: {
        hs_call_title: 'Expansion discovery call',
        hs_call_body: 'Mapped the teams that will use the expansion.',
        hs_call_duration: '2700000',
        hs_call_direction: 'OUTBOUND',
        hs_call_status: 'COMPLETED',
        hs_call_from_number: '+1 212 555 0900',
        hs_call_to_number: '+1 212 555 0102',
        hs_timestamp: '2025-06-17T15:00:00.000Z',
        hubspot_owner_id: '71002',
        hs_object_id: '6002',
        hs_createdate: '2025-06-17T15:00:00.000Z',
        hs_lastmodifieddate: '2025-06-17T16:00:00.000Z',
      },
      createdAt: '2025-06-17T15:00:00.000Z',
      updatedAt: '2025-06-17T16:00:00.000Z',
      archived: false,
    });
  });

  it('answers to HubSpot object type ids', async () => {
    const counts: Record<string, number> = {};
    for (const id of ['0-46', '0-48', '0-49', '0-47', '0-27']) {
      counts[id] = (await page(`/crm/v3/objects/${id}?limit=100`)).results.length;
    }
    expect(counts).toEqual({ '0-46': 5, '0-48': 4, '0-49': 4, '0-47': 4, '0-27': 5 });
  });

  it('finds the notes and meetings of one contact through associations.contact', async () => {
    const filter = (value: string) => [{ propertyName: 'associations.contact', operator: 'EQ', value }];
    expect(await idsOf('notes', filter('1001'), full.accessToken)).toEqual(['5001']);
    expect(await idsOf('meetings', filter('1007'), full.accessToken)).toEqual(['8002']);
    expect(
      await idsOf(
        'tasks',
        [{ propertyName: 'associations.deal', operator: 'IN', values: ['3001', '3004'] }],
        full.accessToken,
      ),
    ).toEqual(['9001', '9004']);
  });

  it('searches engagements by their properties and their default text properties', async () => {
    const open = [
      { propertyName: 'hs_task_status', operator: 'NEQ', value: 'COMPLETED' },
      { propertyName: 'hs_task_priority', operator: 'EQ', value: 'HIGH' },
    ];
    expect(await idsOf('tasks', open, full.accessToken)).toEqual(['9001', '9005']);
    const inbound = [{ propertyName: 'hs_email_direction', operator: 'EQ', value: 'INCOMING_EMAIL' }];
    expect(await idsOf('emails', inbound, full.accessToken)).toEqual(['7002']);
    const longCalls = [{ propertyName: 'hs_call_duration', operator: 'GTE', value: 1500000 }];
    expect(await idsOf('calls', longCalls, full.accessToken)).toEqual(['6001', '6002']);
    const byText = (await search('tasks', { query: 'onboarding' }, full.accessToken)).body;
    expect(byText.results.map((r) => r.id)).toEqual(['9003']);
    const meetings = await search(
      'meetings',
      {
        sorts: [{ propertyName: 'hs_meeting_start_time', direction: 'DESCENDING' }],
        properties: ['hs_meeting_title'],
      },
      full.accessToken,
    );
    expect(meetings.body.results.map((r) => r.properties.hs_meeting_title)).toEqual([
      'Renewal contract review',
      'Pilot success criteria',
      'Expansion kickoff',
      'Platform demo',
    ]);
  });
});

describe('GET /crm/v3/objects/:objectType/:objectId', () => {
  it('reads one record with only the requested properties', async () => {
    const { status, body } = await get<ApiRecord>(
      '/crm/v3/objects/notes/5001?properties=hs_note_body',
      full.accessToken,
    );
    expect(status).toBe(200);
    expect(body.properties).toEqual({
      hs_note_body: 'Ada confirmed the renewal budget; the legal review of the contract starts next week.',
      hs_object_id: '5001',
      hs_createdate: '2025-06-16T10:00:00.000Z',
      hs_lastmodifieddate: '2025-06-16T11:00:00.000Z',
    });
  });

  it('reads a contact by e-mail address with idProperty=email', async () => {
    const { status, body } = await get<ApiRecord>(
      `/crm/v3/objects/contacts/${encodeURIComponent('Grace@COBOL.example')}?idProperty=email`,
      full.accessToken,
    );
    expect(status).toBe(200);
    expect(body.id).toBe('1002');
    expect(body.properties.lastname).toBe('Hopper');
  });

  it('answers 404 OBJECT_NOT_FOUND for an id no record has', async () => {
    const { status, body } = await get<ApiError>('/crm/v3/objects/deals/3999', full.accessToken);
    expect(status).toBe(404);
    expect(body).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND' });
    expect(body.message).toContain('3999');
  });

  it('answers 400 naming objectId for an id that is not a number', async () => {
    const { status, body } = await get<ApiError>('/crm/v3/objects/deals/abc', full.accessToken);
    expect(status).toBe(400);
    expect(body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(body.message).toMatch(/^objectId: "abc" is not a record id/);
    expect(body.errors?.[0]?.in).toBe('objectId');
    expect(body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 400 naming idProperty for a property that is not unique', async () => {
    const { status, body } = await get<ApiError>(
      '/crm/v3/objects/contacts/Ada?idProperty=firstname',
      full.accessToken,
    );
    expect(status).toBe(400);
    expect(body.message).toBe('idProperty: "firstname" is not a unique property of contacts');
  });
});

describe('scopes of the engagements', () => {
  it('reads notes, calls, meetings and tasks with the contacts scope, but not emails', async () => {
    const contactsOnly = await harness.issueTokens(CONTACTS, 'bob');
    for (const type of ['notes', 'calls', 'meetings', 'tasks']) {
      expect((await get(`/crm/v3/objects/${type}`, contactsOnly.accessToken)).status).toBe(200);
    }
    const emails = await get<ApiError>('/crm/v3/objects/emails', contactsOnly.accessToken);
    expect(emails.status).toBe(403);
    expect(emails.body).toMatchObject({ status: 'error', category: 'MISSING_SCOPES' });
    expect(emails.body.message).toContain('Missing: sales-email-read.');
    expect(emails.body.errors?.[0]?.context?.requiredScopes).toEqual([CONTACTS, 'sales-email-read']);
    expect((await search('emails', {}, contactsOnly.accessToken)).status).toBe(403);
    expect((await get('/crm/v3/objects/emails/7001', contactsOnly.accessToken)).status).toBe(403);
  });

  it('refuses every engagement type without the contacts scope, naming it', async () => {
    const dealsOnly = await harness.issueTokens(DEALS, 'carol');
    for (const type of ['notes', 'calls', 'emails', 'meetings', 'tasks']) {
      const { status, body } = await get<ApiError>(`/crm/v3/objects/${type}/1`, dealsOnly.accessToken);
      expect(status).toBe(403);
      expect(body.message).toContain(`Missing: ${CONTACTS}`);
    }
    expect((await search('notes', {}, dealsOnly.accessToken)).status).toBe(403);
  });
});
