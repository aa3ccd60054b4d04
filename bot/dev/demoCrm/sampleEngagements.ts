// Sample engagements of the demo CRM (HubSpot's CRM v3 notes, calls, emails, meetings and tasks), each
// with HubSpot's property names and value sets, an owner (sampleOwners.ts) and the contacts, companies,
// deals or tickets it is associated with (ids from sampleCrmData.ts). Values are strings, as in HubSpot:
// hs_call_duration is in milliseconds; hs_timestamp is when the activity happened (for a task, its due date).
import type { SampleObjectType, SampleRecord } from './sampleCrmData';

type Associations = NonNullable<SampleRecord['associations']>;
type EngagementType = Extract<SampleObjectType, 'notes' | 'calls' | 'emails' | 'meetings' | 'tasks'>;

const ALICE = '71001';
const BOB = '71002';
const CAROL = '71003';
const DAVE = '71004';

export const SAMPLE_ENGAGEMENTS: Readonly<Record<EngagementType, readonly SampleRecord[]>> = {
  notes: [
    note(
      '5001',
      '2025-06-16T10:00:00.000Z',
      ALICE,
      { contacts: ['1001'], companies: ['2001'], deals: ['3001'] },
      'Ada confirmed the renewal budget; the legal review of the contract starts next week.',
    ),
    note(
      '5002',
      '2025-06-18T14:30:00.000Z',
      BOB,
      { contacts: ['1002'], deals: ['3002'] },
      'Grace wants the expansion quote split per department.',
    ),
    note(
      '5003',
      '2025-06-20T09:15:00.000Z',
      CAROL,
      { contacts: ['1004'], companies: ['2004'], deals: ['3004'] },
      'Katherine asked for the platform SLA in writing before sign-off.',
    ),
    note(
      '5004',
      '2025-06-10T11:45:00.000Z',
      DAVE,
      { contacts: ['1006'], tickets: ['4003'] },
      "Margaret's team reproduced the SSO loop; a workaround was sent.",
    ),
    note(
      '5005',
      '2025-06-24T16:00:00.000Z',
      ALICE,
      { contacts: ['1008'], companies: ['2006'] },
      'Hedy prefers calls on Tuesdays and Thursdays.',
    ),
  ],
  calls: [
    engagement(
      '6001',
      '2025-06-15T09:30:00.000Z',
      ALICE,
      { contacts: ['1001'], deals: ['3001'] },
      {
        hs_call_title: 'Renewal check-in with Ada',
        hs_call_body: 'Walked through the renewal terms and the new price list.',
        hs_call_duration: '1500000',
        hs_call_direction: 'OUTBOUND',
        hs_call_status: 'COMPLETED',
        hs_call_from_number: '+44 20 7946 0900',
        hs_call_to_number: '+44 20 7946 0001',
      },
    ),
    engagement(
      '6002',
      '2025-06-17T15:00:00.000Z',
      BOB,
      { contacts: ['1002'], deals: ['3002'] },
      {
        hs_call_title: 'Expansion discovery call',
        hs_call_body: 'Mapped the teams that will use the expansion.',
        hs_call_duration: '2700000',
        hs_call_direction: 'OUTBOUND',
        hs_call_status: 'COMPLETED',
        hs_call_from_number: '+1 212 555 0900',
        hs_call_to_number: '+1 212 555 0102',
      },
    ),
    engagement(
      '6003',
      '2025-06-19T13:10:00.000Z',
      CAROL,
      { contacts: ['1009'], companies: ['2003'] },
      {
        hs_call_title: 'Pilot scoping',
        hs_call_body: 'No answer; left a voicemail.',
        hs_call_duration: '0',
        hs_call_direction: 'OUTBOUND',
        hs_call_status: 'NO_ANSWER',
        hs_call_from_number: '+44 1908 555 900',
        hs_call_to_number: '+1 617 555 0109',
      },
    ),
    engagement(
      '6004',
      '2025-06-04T10:20:00.000Z',
      DAVE,
      { contacts: ['1012'], tickets: ['4001'] },
      {
        hs_call_title: 'Export issue follow-up',
        hs_call_body: 'The customer called about the CSV export limit.',
        hs_call_duration: '600000',
        hs_call_direction: 'INBOUND',
        hs_call_status: 'COMPLETED',
        hs_call_from_number: '+1 425 555 0112',
        hs_call_to_number: '+1 425 555 0900',
      },
    ),
  ],
  emails: [
    email(
      '7001',
      '2025-06-16T12:00:00.000Z',
      ALICE,
      ['1001'],
      'EMAIL',
      'Your renewal proposal',
      'Hi Ada, please find the renewal proposal attached.',
      'alice@demo-crm.example',
      'ada@analytical.example',
    ),
    email(
      '7002',
      '2025-06-17T08:05:00.000Z',
      ALICE,
      ['1001'],
      'INCOMING_EMAIL',
      'Re: Your renewal proposal',
      'Thanks, we will review it with our legal team.',
      'ada@analytical.example',
      'alice@demo-crm.example',
    ),
    email(
      '7003',
      '2025-04-10T09:00:00.000Z',
      BOB,
      ['1007'],
      'EMAIL',
      'Training dates',
      'Tim, here are the proposed dates for the training.',
      'bob@demo-crm.example',
      'tim@web.example',
    ),
    email(
      '7004',
      '2025-05-29T07:45:00.000Z',
      DAVE,
      ['1010'],
      'EMAIL',
      'Password reset e-mails',
      'Barbara, we removed the address from the suppression list.',
      'dave@demo-crm.example',
      'barbara@substitution.example',
    ),
  ],
  meetings: [
    meeting(
      '8001',
      ALICE,
      { contacts: ['1001'], deals: ['3001'] },
      'Renewal contract review',
      'Go through the legal comments.',
      'Video call',
      '2025-07-02T10:00:00.000Z',
      '2025-07-02T11:00:00.000Z',
      'SCHEDULED',
    ),
    meeting(
      '8002',
      BOB,
      { contacts: ['1002', '1007'], deals: ['3002'] },
      'Expansion kickoff',
      'Agree on the rollout plan.',
      'Compiler Works, New York',
      '2025-06-25T14:00:00.000Z',
      '2025-06-25T15:30:00.000Z',
      'COMPLETED',
    ),
    meeting(
      '8003',
      CAROL,
      { contacts: ['1004'], deals: ['3004'] },
      'Platform demo',
      'Demo for the Orbit Dynamics engineering leads.',
      'Video call',
      '2025-06-12T16:00:00.000Z',
      '2025-06-12T17:00:00.000Z',
      'COMPLETED',
    ),
    meeting(
      '8004',
      CAROL,
      { contacts: ['1003'], companies: ['2003'] },
      'Pilot success criteria',
      'Agree how the pilot is judged.',
      'Bletchley Park, Milton Keynes',
      '2025-06-27T09:00:00.000Z',
      '2025-06-27T09:30:00.000Z',
      'RESCHEDULED',
    ),
  ],
  tasks: [
    task(
      '9001',
      '2025-07-05T17:00:00.000Z',
      ALICE,
      { contacts: ['1001'], deals: ['3001'] },
      'Send the countersigned renewal',
      'NOT_STARTED',
      'HIGH',
      'EMAIL',
      'Attach the signed PDF and the invoice schedule.',
    ),
    task(
      '9002',
      '2025-07-08T10:00:00.000Z',
      ALICE,
      { contacts: ['1008'] },
      'Call Hedy about the licences',
      'NOT_STARTED',
      'MEDIUM',
      'CALL',
    ),
    task(
      '9003',
      '2025-07-10T12:00:00.000Z',
      BOB,
      { contacts: ['1005'], deals: ['3005'] },
      'Prepare the onboarding plan for Helix Labs',
      'IN_PROGRESS',
      'MEDIUM',
      'TODO',
      'Two workshops, then weekly check-ins.',
    ),
    task(
      '9004',
      '2025-06-22T17:00:00.000Z',
      CAROL,
      { deals: ['3004'] },
      'Draft the platform SLA',
      'COMPLETED',
      'HIGH',
      'TODO',
      'Uptime, response times and service credits.',
    ),
    task(
      '9005',
      '2025-06-13T15:00:00.000Z',
      DAVE,
      { contacts: ['1006'], tickets: ['4003'] },
      'Confirm the SSO fix with Margaret',
      'WAITING',
      'HIGH',
      'CALL',
    ),
  ],
};

function engagement(
  id: string,
  timestamp: string,
  ownerId: string,
  associations: Associations,
  properties: Record<string, string>,
): SampleRecord {
  // Logged when it happened, last edited an hour later.
  return {
    id,
    createdAt: timestamp,
    updatedAt: new Date(Date.parse(timestamp) + 3_600_000).toISOString(),
    properties: { ...properties, hs_timestamp: timestamp, hubspot_owner_id: ownerId },
    associations,
  };
}

function note(id: string, timestamp: string, ownerId: string, associations: Associations, body: string) {
  return engagement(id, timestamp, ownerId, associations, { hs_note_body: body });
}

function email(
  id: string,
  timestamp: string,
  ownerId: string,
  contacts: string[],
  direction: 'EMAIL' | 'INCOMING_EMAIL' | 'FORWARDED_EMAIL',
  subject: string,
  text: string,
  from: string,
  to: string,
): SampleRecord {
  return engagement(
    id,
    timestamp,
    ownerId,
    { contacts },
    {
      hs_email_subject: subject,
      hs_email_text: text,
      hs_email_direction: direction,
      hs_email_status: 'SENT',
      hs_email_from_email: from,
      hs_email_to_email: to,
    },
  );
}

function meeting(
  id: string,
  ownerId: string,
  associations: Associations,
  title: string,
  body: string,
  location: string,
  start: string,
  end: string,
  outcome: 'SCHEDULED' | 'COMPLETED' | 'RESCHEDULED' | 'NO_SHOW' | 'CANCELED',
): SampleRecord {
  return engagement(id, start, ownerId, associations, {
    hs_meeting_title: title,
    hs_meeting_body: body,
    hs_meeting_location: location,
    hs_meeting_start_time: start,
    hs_meeting_end_time: end,
    hs_meeting_outcome: outcome,
  });
}

function task(
  id: string,
  due: string,
  ownerId: string,
  associations: Associations,
  subject: string,
  status: 'NOT_STARTED' | 'IN_PROGRESS' | 'WAITING' | 'COMPLETED' | 'DEFERRED',
  priority: 'LOW' | 'MEDIUM' | 'HIGH',
  type: 'EMAIL' | 'CALL' | 'TODO',
  body?: string,
): SampleRecord {
  return engagement(id, due, ownerId, associations, {
    hs_task_subject: subject,
    hs_task_status: status,
    hs_task_priority: priority,
    hs_task_type: type,
    // A task without notes has no hs_task_body at all (HAS_PROPERTY / NOT_HAS_PROPERTY tell them apart).
    ...(body === undefined ? {} : { hs_task_body: body }),
  });
}
