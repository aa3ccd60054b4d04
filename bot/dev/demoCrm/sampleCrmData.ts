// Sample records served by the demo CRM API (bot/dev/demoCrm/demoCrm.ts). Plain data in HubSpot's shape:
// every property value is a string, ids are numeric strings, dates are ISO 8601 in UTC. Deal stages and
// ticket stages use the ids of HubSpot's default pipelines ("closedwon", "1" = New, ...).
//
// The demo has ONE shared sample account: every signed-in user sees the same records, and "my deals" or
// "my tickets" are simply all of them. The hubspot_owner_id values exist so that filters on the owner
// behave as in HubSpot, but no demo login maps to them.

export type SampleObjectType = 'contacts' | 'companies' | 'deals' | 'tickets';

export interface SampleRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  properties: Record<string, string>;
}

export const SAMPLE_OWNER_IDS = ['71001', '71002'] as const;

export const SAMPLE_CRM_DATA: Readonly<Record<SampleObjectType, readonly SampleRecord[]>> = {
  contacts: [
    contact(
      '1001',
      'Ada',
      'Lovelace',
      'ada@analytical.example',
      'Analytical Engines Ltd',
      '+44 20 7946 0001',
    ),
    contact('1002', 'Grace', 'Hopper', 'grace@cobol.example', 'Compiler Works', '+1 212 555 0102'),
    contact('1003', 'Alan', 'Turing', 'alan@bletchley.example', 'Bletchley Analytics', '+44 1908 555 003'),
    contact('1004', 'Katherine', 'Johnson', 'katherine@orbit.example', 'Orbit Dynamics', '+1 757 555 0104'),
    contact('1005', 'Linus', 'Pauling', 'linus@helix.example', 'Helix Labs', '+1 541 555 0105'),
    contact('1006', 'Margaret', 'Hamilton', 'margaret@apollo.example', 'Orbit Dynamics', '+1 617 555 0106'),
    contact('1007', 'Tim', 'Berners-Lee', 'tim@web.example', 'Compiler Works', '+41 22 555 0107'),
    contact('1008', 'Hedy', 'Lamarr', 'hedy@spread.example', 'Spread Spectrum GmbH', '+43 1 555 0108'),
    contact('1009', 'Claude', 'Shannon', 'claude@entropy.example', 'Bletchley Analytics', '+1 617 555 0109'),
    contact('1010', 'Barbara', 'Liskov', 'barbara@substitution.example', 'Helix Labs', '+1 617 555 0110'),
    contact(
      '1011',
      'Edsger',
      'Dijkstra',
      'edsger@shortest.example',
      'Analytical Engines Ltd',
      '+31 20 555 0111',
    ),
    contact('1012', 'Radia', 'Perlman', 'radia@spanning.example', 'Spread Spectrum GmbH', '+1 425 555 0112'),
  ],
  companies: [
    company('2001', 'Analytical Engines Ltd', 'analytical.example', 'Computer Hardware', 'London'),
    company('2002', 'Compiler Works', 'cobol.example', 'Computer Software', 'New York'),
    company(
      '2003',
      'Bletchley Analytics',
      'bletchley.example',
      'Information Technology and Services',
      'Milton Keynes',
    ),
    company('2004', 'Orbit Dynamics', 'orbit.example', 'Aviation & Aerospace', 'Hampton'),
    company('2005', 'Helix Labs', 'helix.example', 'Biotechnology', 'Corvallis'),
    company('2006', 'Spread Spectrum GmbH', 'spread.example', 'Telecommunications', 'Vienna'),
  ],
  deals: [
    deal('3001', 'Analytical Engines renewal', '12500', 'contractsent', '2025-07-31T00:00:00.000Z', '71001'),
    deal(
      '3002',
      'Compiler Works expansion',
      '48000',
      'presentationscheduled',
      '2025-08-15T00:00:00.000Z',
      '71001',
    ),
    deal(
      '3003',
      'Bletchley Analytics pilot',
      '7200.50',
      'qualifiedtobuy',
      '2025-09-01T00:00:00.000Z',
      '71002',
    ),
    deal(
      '3004',
      'Orbit Dynamics platform',
      '125000',
      'decisionmakerboughtin',
      '2025-07-15T00:00:00.000Z',
      '71001',
    ),
    deal(
      '3005',
      'Helix Labs onboarding',
      '3900',
      'appointmentscheduled',
      '2025-10-10T00:00:00.000Z',
      '71002',
    ),
    deal('3006', 'Spread Spectrum licences', '22000', 'closedwon', '2025-05-30T00:00:00.000Z', '71001'),
    deal('3007', 'Compiler Works training', '5400', 'closedlost', '2025-04-18T00:00:00.000Z', '71002'),
    deal('3008', 'Orbit Dynamics support plan', '18000', 'closedwon', '2025-06-02T00:00:00.000Z', '71001'),
  ],
  tickets: [
    ticket(
      '4001',
      'Cannot export the quarterly report',
      'The CSV export stops at 1,000 rows.',
      '1',
      'HIGH',
      '2025-06-03T08:15:00.000Z',
    ),
    ticket(
      '4002',
      'Invoice shows the wrong VAT number',
      'Please correct the VAT id on invoice 2025-118.',
      '2',
      'MEDIUM',
      '2025-06-05T13:40:00.000Z',
    ),
    ticket(
      '4003',
      'SSO login loops back to the start page',
      'Users in the EU tenant cannot sign in since Monday.',
      '3',
      'URGENT',
      '2025-06-09T07:05:00.000Z',
    ),
    ticket(
      '4004',
      'Feature request: dark mode',
      'Several users asked for a dark theme.',
      '1',
      'LOW',
      '2025-06-10T16:20:00.000Z',
    ),
    ticket(
      '4005',
      'API rate limit reached during sync',
      'The nightly sync hits 429 responses after 02:00.',
      '3',
      'HIGH',
      '2025-06-12T02:30:00.000Z',
    ),
    ticket(
      '4006',
      'Password reset e-mail not received',
      'Resolved: the address was on a suppression list.',
      '4',
      'MEDIUM',
      '2025-05-28T11:00:00.000Z',
    ),
  ],
};

function stamps(id: string): { createdAt: string; updatedAt: string } {
  // Stable, distinct timestamps derived from the id so that sorting by date is deterministic.
  const n = Number(id) % 1000;
  const created = Date.UTC(2025, 0, 1 + n, 9, 0, 0);
  return {
    createdAt: new Date(created).toISOString(),
    updatedAt: new Date(created + (n + 1) * 3_600_000).toISOString(),
  };
}

function contact(
  id: string,
  firstname: string,
  lastname: string,
  email: string,
  company: string,
  phone: string,
): SampleRecord {
  return { id, ...stamps(id), properties: { firstname, lastname, email, company, phone } };
}

function company(id: string, name: string, domain: string, industry: string, city: string): SampleRecord {
  return { id, ...stamps(id), properties: { name, domain, industry, city } };
}

function deal(
  id: string,
  dealname: string,
  amount: string,
  dealstage: string,
  closedate: string,
  ownerId: string,
): SampleRecord {
  return {
    id,
    ...stamps(id),
    properties: { dealname, amount, dealstage, closedate, pipeline: 'default', hubspot_owner_id: ownerId },
  };
}

function ticket(
  id: string,
  subject: string,
  content: string,
  stage: string,
  priority: string,
  createdate: string,
): SampleRecord {
  return {
    id,
    createdAt: createdate,
    updatedAt: new Date(Date.parse(createdate) + 86_400_000).toISOString(),
    properties: {
      subject,
      content,
      hs_pipeline: '0',
      hs_pipeline_stage: stage,
      hs_ticket_priority: priority,
      createdate,
      hubspot_owner_id: SAMPLE_OWNER_IDS[Number(id) % 2] ?? '71001',
    },
  };
}
