// Sample records served by the demo CRM API (bot/dev/demoCrm/demoCrm.ts). Plain data in HubSpot's shape:
// every property value is a string, ids are numeric strings, dates are ISO 8601 in UTC. Deal stages and
// ticket stages use the ids of HubSpot's default pipelines ("closedwon", "1" = New, ...).
//
// The demo has ONE shared sample account: every signed-in user may read every record, as in HubSpot.
// Records belong to owners (hubspot_owner_id, see sampleOwners.ts: 71001 alice, 71002 bob, 71003 carol,
// 71004 dave), so "my deals" is a search filtered on the signed-in user's owner id. The engagements
// (notes, calls, emails, meetings, tasks) are in sampleEngagements.ts.
import { SAMPLE_ENGAGEMENTS } from './sampleEngagements';

export type SampleObjectType =
  'contacts' | 'companies' | 'deals' | 'tickets' | 'notes' | 'calls' | 'emails' | 'meetings' | 'tasks';

export interface SampleRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  properties: Record<string, string>;
  /** Engagements only: the records they are associated with, by object type. */
  associations?: Partial<Record<'contacts' | 'companies' | 'deals' | 'tickets', readonly string[]>>;
}

const ALICE = '71001';
const BOB = '71002';
const CAROL = '71003';
const DAVE = '71004';

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
    deal('3001', 'Analytical Engines renewal', '12500', 'contractsent', '2025-07-31T00:00:00.000Z', ALICE),
    deal(
      '3002',
      'Compiler Works expansion',
      '48000',
      'presentationscheduled',
      '2025-08-15T00:00:00.000Z',
      ALICE,
    ),
    deal('3003', 'Bletchley Analytics pilot', '7200.50', 'qualifiedtobuy', '2025-09-01T00:00:00.000Z', BOB),
    deal(
      '3004',
      'Orbit Dynamics platform',
      '125000',
      'decisionmakerboughtin',
      '2025-07-15T00:00:00.000Z',
      CAROL,
    ),
    deal('3005', 'Helix Labs onboarding', '3900', 'appointmentscheduled', '2025-10-10T00:00:00.000Z', BOB),
    deal('3006', 'Spread Spectrum licences', '22000', 'closedwon', '2025-05-30T00:00:00.000Z', ALICE),
    deal('3007', 'Compiler Works training', '5400', 'closedlost', '2025-04-18T00:00:00.000Z', BOB),
    deal('3008', 'Orbit Dynamics support plan', '18000', 'closedwon', '2025-06-02T00:00:00.000Z', CAROL),
  ],
  tickets: [
    ticket(
      '4001',
      'Cannot export the quarterly report',
      'The CSV export stops at 1,000 rows.',
      '1',
      'HIGH',
      '2025-06-03T08:15:00.000Z',
      DAVE,
    ),
    ticket(
      '4002',
      'Invoice shows the wrong VAT number',
      'Please correct the VAT id on invoice 2025-118.',
      '2',
      'MEDIUM',
      '2025-06-05T13:40:00.000Z',
      BOB,
    ),
    ticket(
      '4003',
      'SSO login loops back to the start page',
      'Users in the EU tenant cannot sign in since Monday.',
      '3',
      'URGENT',
      '2025-06-09T07:05:00.000Z',
      DAVE,
    ),
    ticket(
      '4004',
      'Feature request: dark mode',
      'Several users asked for a dark theme.',
      '1',
      'LOW',
      '2025-06-10T16:20:00.000Z',
      ALICE,
    ),
    ticket(
      '4005',
      'API rate limit reached during sync',
      'The nightly sync hits 429 responses after 02:00.',
      '3',
      'HIGH',
      '2025-06-12T02:30:00.000Z',
      CAROL,
    ),
    ticket(
      '4006',
      'Password reset e-mail not received',
      'Resolved: the address was on a suppression list.',
      '4',
      'MEDIUM',
      '2025-05-28T11:00:00.000Z',
      DAVE,
    ),
  ],
  ...SAMPLE_ENGAGEMENTS,
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
  // Contacts rotate over the four active owners: 1001 alice, 1002 bob, 1003 carol, 1004 dave, 1005 alice...
  const owner = [ALICE, BOB, CAROL, DAVE][(Number(id) - 1) % 4] ?? ALICE;
  return {
    id,
    ...stamps(id),
    properties: { firstname, lastname, email, company, phone, hubspot_owner_id: owner },
  };
}

function company(id: string, name: string, domain: string, industry: string, city: string): SampleRecord {
  // Companies rotate over the three sales owners: 2001 alice, 2002 bob, 2003 carol, 2004 alice...
  const owner = [ALICE, BOB, CAROL][(Number(id) - 1) % 3] ?? ALICE;
  return { id, ...stamps(id), properties: { name, domain, industry, city, hubspot_owner_id: owner } };
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
  ownerId: string,
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
      hubspot_owner_id: ownerId,
    },
  };
}
