import type { SampleObjectType } from './sampleCrmData';

/**
 * The CRM object types the demo serves, as HubSpot names them: the read scopes each one needs, its
 * properties, and which of them the free-text `query` of a search looks at.
 *
 * Scopes follow HubSpot's documentation: the four CRM objects have their own read scope (tickets' is
 * plain "tickets"); the engagements (notes, calls, meetings, tasks) are read with the contacts scope;
 * emails also need "sales-email-read" for their content, which the demo simplifies to "required"
 * (HubSpot redacts the content instead). Owners (crm.objects.owners.read) are served by crmOwners.ts.
 */

export interface ObjectTypeInfo {
  /** Every one of these must be granted. */
  scopes: readonly string[];
  properties: readonly string[];
  /** Properties the free-text `query` of a search looks at (HubSpot's default searchable properties). */
  searchable: readonly string[];
  /** Unique properties a record can be read by (`idProperty`), besides hs_object_id. */
  idProperties: readonly string[];
  /**
   * HubSpot's `associations.<type>` search pseudo-properties this type answers to; only engagements
   * have them here, and they are what makes a type an engagement (hs_createdate, hs_lastmodifieddate).
   */
  associations: readonly AssociationName[];
}

export type AssociationName = 'contact' | 'company' | 'deal' | 'ticket';

const CONTACTS_READ = 'crm.objects.contacts.read';
const ENGAGEMENT_ASSOCIATIONS: readonly AssociationName[] = ['contact', 'company', 'deal', 'ticket'];

export const OBJECT_TYPES: Record<SampleObjectType, ObjectTypeInfo> = {
  contacts: {
    scopes: [CONTACTS_READ],
    properties: ['firstname', 'lastname', 'email', 'company', 'phone', 'hubspot_owner_id'],
    searchable: ['firstname', 'lastname', 'email', 'company', 'phone'],
    idProperties: ['email'],
    associations: [],
  },
  companies: {
    scopes: ['crm.objects.companies.read'],
    properties: ['name', 'domain', 'industry', 'city', 'hubspot_owner_id'],
    searchable: ['name', 'domain'],
    idProperties: ['domain'],
    associations: [],
  },
  deals: {
    scopes: ['crm.objects.deals.read'],
    properties: ['dealname', 'amount', 'dealstage', 'closedate', 'pipeline', 'hubspot_owner_id'],
    searchable: ['dealname', 'dealstage', 'pipeline'],
    idProperties: [],
    associations: [],
  },
  tickets: {
    // HubSpot's ticket scope has no crm.objects prefix.
    scopes: ['tickets'],
    properties: [
      'subject',
      'content',
      'hs_pipeline',
      'hs_pipeline_stage',
      'hs_ticket_priority',
      'createdate',
      'hubspot_owner_id',
    ],
    searchable: ['subject', 'content', 'hs_pipeline_stage'],
    idProperties: [],
    associations: [],
  },
  notes: {
    scopes: [CONTACTS_READ],
    properties: ['hs_note_body', 'hs_timestamp', 'hubspot_owner_id'],
    searchable: ['hs_note_body'],
    idProperties: [],
    associations: ENGAGEMENT_ASSOCIATIONS,
  },
  calls: {
    scopes: [CONTACTS_READ],
    properties: [
      'hs_call_title',
      'hs_call_body',
      'hs_call_duration',
      'hs_call_direction',
      'hs_call_status',
      'hs_call_from_number',
      'hs_call_to_number',
      'hs_timestamp',
      'hubspot_owner_id',
    ],
    searchable: ['hs_call_title', 'hs_call_body'],
    idProperties: [],
    associations: ENGAGEMENT_ASSOCIATIONS,
  },
  emails: {
    scopes: [CONTACTS_READ, 'sales-email-read'],
    properties: [
      'hs_email_subject',
      'hs_email_text',
      'hs_email_direction',
      'hs_email_status',
      'hs_email_from_email',
      'hs_email_to_email',
      'hs_timestamp',
      'hubspot_owner_id',
    ],
    searchable: ['hs_email_subject', 'hs_email_text'],
    idProperties: [],
    associations: ENGAGEMENT_ASSOCIATIONS,
  },
  meetings: {
    scopes: [CONTACTS_READ],
    properties: [
      'hs_meeting_title',
      'hs_meeting_body',
      'hs_meeting_location',
      'hs_meeting_start_time',
      'hs_meeting_end_time',
      'hs_meeting_outcome',
      'hs_timestamp',
      'hubspot_owner_id',
    ],
    searchable: ['hs_meeting_title', 'hs_meeting_body'],
    idProperties: [],
    associations: ENGAGEMENT_ASSOCIATIONS,
  },
  tasks: {
    scopes: [CONTACTS_READ],
    properties: [
      'hs_task_subject',
      'hs_task_body',
      'hs_task_status',
      'hs_task_priority',
      'hs_task_type',
      'hs_timestamp',
      'hubspot_owner_id',
    ],
    searchable: ['hs_task_subject', 'hs_task_body'],
    idProperties: [],
    associations: ENGAGEMENT_ASSOCIATIONS,
  },
};

// HubSpot also addresses the standard objects by type id.
const OBJECT_TYPE_IDS: Record<string, SampleObjectType> = {
  '0-1': 'contacts',
  '0-2': 'companies',
  '0-3': 'deals',
  '0-5': 'tickets',
  '0-27': 'tasks',
  '0-46': 'notes',
  '0-47': 'meetings',
  '0-48': 'calls',
  '0-49': 'emails',
};

/** `associations.contact` → the sample record field that lists the associated ids. */
export const ASSOCIATION_TYPES: Record<AssociationName, 'contacts' | 'companies' | 'deals' | 'tickets'> = {
  contact: 'contacts',
  company: 'companies',
  deal: 'deals',
  ticket: 'tickets',
};

const OBJECT_BASE_PROPERTIES = ['hs_object_id', 'createdate', 'lastmodifieddate'] as const;
// HubSpot's engagements name their record dates with the hs_ prefix.
const ENGAGEMENT_BASE_PROPERTIES = ['hs_object_id', 'hs_createdate', 'hs_lastmodifieddate'] as const;

/** What every record of the type carries, requested or not: its id and when it was created and changed. */
export function basePropertiesOf(objectType: SampleObjectType): readonly string[] {
  return OBJECT_TYPES[objectType].associations.length > 0
    ? ENGAGEMENT_BASE_PROPERTIES
    : OBJECT_BASE_PROPERTIES;
}

export function resolveObjectType(raw: string): SampleObjectType | undefined {
  const lower = raw.toLowerCase();
  if (Object.hasOwn(OBJECT_TYPES, lower)) return lower as SampleObjectType;
  return Object.hasOwn(OBJECT_TYPE_IDS, lower) ? OBJECT_TYPE_IDS[lower] : undefined;
}

/** Whether `name` is something a filter or sort of `objectType` may name. */
export function isKnownProperty(objectType: SampleObjectType, name: string): boolean {
  const info = OBJECT_TYPES[objectType];
  if (info.properties.includes(name) || basePropertiesOf(objectType).includes(name)) return true;
  const association = /^associations\.(\w+)$/.exec(name)?.[1];
  return association !== undefined && (info.associations as readonly string[]).includes(association);
}
