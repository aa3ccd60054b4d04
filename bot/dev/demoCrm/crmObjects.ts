import type { SampleObjectType } from './sampleCrmData';

/** The CRM object types the demo serves, as HubSpot names them, and how a record is presented. */

export interface ObjectTypeInfo {
  scope: string;
  properties: readonly string[];
  /** Properties the free-text `query` of a search looks at. */
  searchable: readonly string[];
}

export const OBJECT_TYPES: Record<SampleObjectType, ObjectTypeInfo> = {
  contacts: {
    scope: 'crm.objects.contacts.read',
    properties: ['firstname', 'lastname', 'email', 'company', 'phone'],
    searchable: ['firstname', 'lastname', 'email', 'company', 'phone'],
  },
  companies: {
    scope: 'crm.objects.companies.read',
    properties: ['name', 'domain', 'industry', 'city'],
    searchable: ['name', 'domain'],
  },
  deals: {
    scope: 'crm.objects.deals.read',
    properties: ['dealname', 'amount', 'dealstage', 'closedate', 'pipeline', 'hubspot_owner_id'],
    searchable: ['dealname'],
  },
  tickets: {
    // HubSpot's ticket scope has no crm.objects prefix.
    scope: 'tickets',
    properties: [
      'subject',
      'content',
      'hs_pipeline',
      'hs_pipeline_stage',
      'hs_ticket_priority',
      'createdate',
      'hubspot_owner_id',
    ],
    searchable: ['subject', 'content'],
  },
};

// HubSpot also addresses the standard objects by type id.
const OBJECT_TYPE_IDS: Record<string, SampleObjectType> = {
  '0-1': 'contacts',
  '0-2': 'companies',
  '0-3': 'deals',
  '0-5': 'tickets',
};

export const BASE_PROPERTIES = ['hs_object_id', 'createdate', 'lastmodifieddate'] as const;

export function resolveObjectType(raw: string): SampleObjectType | undefined {
  const lower = raw.toLowerCase();
  if (Object.hasOwn(OBJECT_TYPES, lower)) return lower as SampleObjectType;
  return Object.hasOwn(OBJECT_TYPE_IDS, lower) ? OBJECT_TYPE_IDS[lower] : undefined;
}
