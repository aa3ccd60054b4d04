// The actions chat's sign-in tests ask for. Chat's CRM commands are a profile's actions now (issue 11
// point 6), so a test profile that "show my deals" should reach declares them. Like the old command, the
// action needs only the scope these tests' provider grants (no {{currentUser}}, whose owners scope it
// does not); the HubSpot catalogue's own actions are tested against the demo CRM (test/bot/actionChat.test.ts).
export const DEALS_ACTION = {
  entity: 'deals',
  action: 'list-mine',
  title: 'My deals',
  method: 'POST',
  path: '/crm/v3/objects/deals/search',
  body: { limit: '{{limit}}' },
  params: { limit: { type: 'integer', default: 10, minimum: 1, maximum: 100 } },
  scopes: ['crm.objects.deals.read'],
  results: {
    path: 'results',
    totalPath: 'total',
    titleField: 'properties.dealname',
    fields: [{ path: 'properties.amount', label: 'Amount', format: 'currency' }],
  },
  phrases: ['show my deals', 'list my deals'],
};

export const CHAT_ACTIONS = { actions: [DEALS_ACTION] };

/** A write action (POST with a JSON body and a required parameter), for the engine and execute API tests. */
export const CREATE_NOTE_ACTION = {
  entity: 'notes',
  action: 'create',
  title: 'Add a note',
  access: 'write',
  method: 'POST',
  path: '/notes',
  body: { text: '{{text}}' },
  params: { text: { type: 'string', required: true } },
  results: { fields: [{ path: 'id', label: 'Id' }] },
};

/** An action that needs crm.objects.tickets.read besides deals: the scopes-on-demand tests' second scope. */
export const TICKETS_ACTION = {
  entity: 'tickets',
  action: 'list',
  title: 'My tickets',
  path: '/tickets',
  scopes: ['crm.objects.deals.read', 'crm.objects.tickets.read'],
  results: { path: 'results', fields: [{ path: 'subject', label: 'Subject' }] },
};
