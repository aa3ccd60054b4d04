// Profiles with declared actions for the admin surfaces' tests (issue 11 point 3): a custom one, a
// test-only bundled one (given to the harness as an extra bundled profile), on example hosts that are
// never called (switching actions on and off sends nothing to the provider).

/** One read action on by default, one write action off by default, one read that uses currentUser. */
export function testActions(titlePrefix = ''): Record<string, unknown>[] {
  return [
    {
      entity: 'deals',
      action: 'list',
      title: `${titlePrefix}Deals`,
      description: 'Every deal, newest first',
      path: '/crm/v3/objects/deals',
      query: { limit: '{{limit}}' },
      params: { limit: { type: 'integer', default: 10, minimum: 1, maximum: 100 } },
      scopes: ['deals.read'],
      results: { path: 'results', fields: [{ path: 'properties.dealname', label: 'Name' }] },
    },
    {
      entity: 'deals',
      action: 'create',
      title: 'Create a deal',
      access: 'write',
      method: 'POST',
      path: '/crm/v3/objects/deals',
      body: { properties: { dealname: '{{name}}' } },
      params: { name: { type: 'string', required: true } },
      scopes: ['deals.write'],
      results: { fields: [{ path: 'id', label: 'Id' }] },
    },
    {
      entity: 'owners',
      action: 'me',
      title: 'My owner record',
      path: '/crm/v3/owners/{{currentUser}}',
      scopes: ['owners.read'],
      results: { fields: [{ path: 'email', label: 'Email' }] },
    },
  ];
}

export const TEST_CURRENT_USER = {
  path: '/crm/v3/owners',
  query: { email: '{{account.email}}' },
  idPath: 'results.0.id',
};

/** A custom profile with actions, as the admin API or a profile file takes it. */
export function customActionProfile(
  id: string,
  secret: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    displayName: `Custom ${id}`,
    authorizationUrl: `https://auth.${id}.example/authorize`,
    tokenUrl: `https://auth.${id}.example/token`,
    clientId: `${id}-client`,
    clientSecret: secret,
    scopes: ['deals.read'],
    apiBaseUrl: `https://api.${id}.example`,
    actions: testActions(),
    currentUser: TEST_CURRENT_USER,
    ...extra,
  };
}

/** A bundled profile that exists in tests only (not in profiles/systemCatalog.json). */
export const BUNDLED_ACTION_PROFILE: Record<string, unknown> = {
  id: 'bundled-crm',
  displayName: 'Bundled CRM',
  authorizationUrl: 'https://auth.bundled-crm.example/authorize',
  tokenUrl: 'https://auth.bundled-crm.example/token',
  scopes: ['deals.read'],
  apiBaseUrl: 'https://api.bundled-crm.example',
  actions: testActions(),
  currentUser: TEST_CURRENT_USER,
};
