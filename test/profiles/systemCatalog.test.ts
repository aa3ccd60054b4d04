// The bundled (system) profiles: each one valid in production mode, HubSpot exactly as documented,
// credentials from the environment only, and templated endpoints usable once their values are set.
import { generateKeySpec, KeyRing, parseEncryptionKeys } from '../../profiles/encryption';
import { isAuthProfilesError } from '../../profiles/errors';
import {
  assertUsable,
  bundledProfiles,
  ProfileCatalog,
  profileUrl,
  type Profile,
} from '../../profiles/profileCatalog';
import { parseProfile, URL_FIELDS } from '../../profiles/profileSchema';
import { SqliteStore } from '../../profiles/store/sqliteStore';
import bundled from '../../profiles/systemCatalog.json';

const PRODUCTION = { allowInsecureLoopback: false };

let store: SqliteStore;
let keyRing: KeyRing;

beforeEach(() => {
  store = new SqliteStore(':memory:');
  keyRing = new KeyRing(parseEncryptionKeys(generateKeySpec('test1')));
});

afterEach(async () => {
  await store.close();
});

function catalog(env: Record<string, string> = {}): ProfileCatalog {
  return new ProfileCatalog({ store, keyRing, env, validation: PRODUCTION });
}

/** Every endpoint of a profile, rendered with its variable values (or the given sample ones). */
function endpoints(profile: Profile): string[] {
  return URL_FIELDS.map((field) => profileUrl(profile, field)).filter(
    (url): url is string => url !== undefined,
  );
}

test('the catalog bundles the documented providers', () => {
  expect(bundled.map((profile) => profile.id).sort()).toEqual(
    ['github', 'google', 'hubspot', 'microsoft-entra', 'salesforce', 'slack', 'zendesk'].sort(),
  );
});

test.each(bundled.map((raw) => [raw.id, raw] as const))(
  '%s validates with allowInsecureLoopback off and names no secret',
  (_id, raw) => {
    const profile = parseProfile(raw, PRODUCTION);
    expect(profile.kind).toBe('system');
    // System profiles take credentials from the environment; a secret in the bundle would ship to everyone.
    expect(raw).not.toHaveProperty('clientSecret');
    expect(raw).not.toHaveProperty('clientId');
    expect(profile.clientIdEnv).toMatch(/^[A-Z][A-Z0-9_]*_CLIENT_ID$/);
    expect(profile.clientSecretEnv).toMatch(/^[A-Z][A-Z0-9_]*_CLIENT_SECRET$/);
    for (const field of URL_FIELDS) {
      const url = profile[field];
      if (url !== undefined) expect(url).toMatch(/^https:\/\//);
    }
  },
);

test.each(bundled.map((raw) => [raw.id] as const))(
  '%s is a usable system profile once its environment is set, with https endpoints',
  async (id) => {
    const raw = bundled.find((profile) => profile.id === id) as {
      clientIdEnv: string;
      clientSecretEnv: string;
    };
    const profiles = catalog({ [raw.clientIdEnv]: `${id}-client`, [raw.clientSecretEnv]: `${id}-secret` });
    const profile = await profiles.get(id);
    expect(profile.source).toBe('system');
    expect(profile.clientId).toBe(`${id}-client`);
    expect(profile.clientSecret).toBe(`${id}-secret`);
    if (profile.missing.length === 0) {
      const urls = endpoints(profile);
      expect(urls.length).toBeGreaterThanOrEqual(3);
      for (const url of urls) expect(new URL(url).protocol).toBe('https:');
    } else {
      // Only a variable without a value may be missing (Zendesk's subdomain).
      expect(profile.missing.every((entry) => entry.startsWith('variableValues.'))).toBe(true);
    }
  },
);

describe('HubSpot', () => {
  test('has exactly the documented endpoints, no PKCE and CRM read scopes', async () => {
    const hubspot = await catalog().get('hubspot');
    expect(hubspot.authorizationUrl).toBe('https://app.hubspot.com/oauth/authorize');
    expect(hubspot.tokenUrl).toBe('https://api.hubapi.com/oauth/v1/token');
    expect(hubspot.refreshUrl).toBe('https://api.hubapi.com/oauth/v1/token');
    expect(hubspot.pkce).toBe(false);
    expect(hubspot.kind).toBe('system');
    expect(hubspot.authorization).toBe('per-user');
    expect(hubspot.scopes).toEqual(
      expect.arrayContaining([
        'oauth',
        'crm.objects.contacts.read',
        'crm.objects.companies.read',
        'crm.objects.deals.read',
      ]),
    );
    // Read only: nothing that writes to the CRM.
    expect(hubspot.scopes.filter((scope) => scope.endsWith('.write'))).toEqual([]);
    expect(hubspot.clientIdEnv).toBe('HUBSPOT_CLIENT_ID');
    expect(hubspot.clientSecretEnv).toBe('HUBSPOT_CLIENT_SECRET');
  });

  test('credentials come from HUBSPOT_CLIENT_ID / HUBSPOT_CLIENT_SECRET', async () => {
    const hubspot = await catalog({
      HUBSPOT_CLIENT_ID: 'hub-id-123',
      HUBSPOT_CLIENT_SECRET: 'hub-secret-456',
    }).get('hubspot');
    expect(hubspot.clientId).toBe('hub-id-123');
    expect(hubspot.clientSecret).toBe('hub-secret-456');
    expect(hubspot.missing).toEqual([]);
    expect(() => assertUsable(hubspot)).not.toThrow();
  });

  test('without the environment it is unusable and says which variables to set', async () => {
    const hubspot = await catalog({ GOOGLE_CLIENT_ID: 'not-hubspot' }).get('hubspot');
    expect(hubspot.clientId).toBeUndefined();
    expect(hubspot.clientSecret).toBeUndefined();
    expect(hubspot.missing).toEqual([
      'clientId (set HUBSPOT_CLIENT_ID)',
      'clientSecret (set HUBSPOT_CLIENT_SECRET)',
    ]);
    let error: unknown;
    try {
      assertUsable(hubspot);
    } catch (caught) {
      error = caught;
    }
    expect(isAuthProfilesError(error, 'invalid-configuration')).toBe(true);
    expect((error as Error).message).toContain('HUBSPOT_CLIENT_ID');
    expect((error as Error).message).toContain('HUBSPOT_CLIENT_SECRET');
  });

  test('only the secret missing names only the secret', async () => {
    const hubspot = await catalog({ HUBSPOT_CLIENT_ID: 'hub-id-123' }).get('hubspot');
    expect(hubspot.missing).toEqual(['clientSecret (set HUBSPOT_CLIENT_SECRET)']);
  });
});

describe('the other providers', () => {
  test('Google', async () => {
    const google = await catalog().get('google');
    expect(google.authorizationUrl).toBe('https://accounts.google.com/o/oauth2/v2/auth');
    expect(google.tokenUrl).toBe('https://oauth2.googleapis.com/token');
    expect(google.refreshUrl).toBe('https://oauth2.googleapis.com/token');
    expect(google.pkce).toBe(true);
    expect(google.authorizationParams).toEqual({ access_type: 'offline', prompt: 'consent' });
    // OpenID Connect: its ID tokens are verified against Google's published keys (SECURITY.md #50).
    expect(google.scopes).toContain('openid');
    expect(google.issuer).toBe('https://accounts.google.com');
    expect(google.jwksUrl).toBe('https://www.googleapis.com/oauth2/v3/certs');
  });

  test('Microsoft Entra renders its tenant variable from its value', async () => {
    const entra = await catalog({ ENTRA_CLIENT_ID: 'id', ENTRA_CLIENT_SECRET: 'secret' }).get(
      'microsoft-entra',
    );
    expect(entra.variables).toHaveProperty('tenant');
    expect(entra.variableValues).toEqual({ tenant: 'organizations' });
    expect(entra.missing).toEqual([]);
    expect(profileUrl(entra, 'authorizationUrl')).toBe(
      'https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize',
    );
    expect(profileUrl(entra, 'tokenUrl')).toBe(
      'https://login.microsoftonline.com/organizations/oauth2/v2.0/token',
    );
    expect(profileUrl(entra, 'refreshUrl')).toBe(
      'https://login.microsoftonline.com/organizations/oauth2/v2.0/token',
    );
    // Multi-tenant ID tokens carry each tenant's own issuer, which no fixed `issuer` can match: no
    // openid until the ID token can be verified (SECURITY.md #50); Graph needs only User.Read.
    expect(entra.scopes).toEqual(['offline_access', 'User.Read']);
  });

  test('GitHub', async () => {
    const github = await catalog().get('github');
    expect(github.authorizationUrl).toBe('https://github.com/login/oauth/authorize');
    expect(github.tokenUrl).toBe('https://github.com/login/oauth/access_token');
  });

  test('Salesforce', async () => {
    const salesforce = await catalog().get('salesforce');
    expect(salesforce.authorizationUrl).toBe('https://login.salesforce.com/services/oauth2/authorize');
    expect(salesforce.tokenUrl).toBe('https://login.salesforce.com/services/oauth2/token');
    expect(salesforce.revocationUrl).toBe('https://login.salesforce.com/services/oauth2/revoke');
    // Each org's API lives on its own instance, named in the token response (issue 7 point 15).
    expect(salesforce.apiBaseUrlFrom).toBe('instance_url');
  });

  test('Slack', async () => {
    const slack = await catalog().get('slack');
    expect(slack.authorizationUrl).toBe('https://slack.com/oauth/v2/authorize');
    expect(slack.tokenUrl).toBe('https://slack.com/api/oauth.v2.access');
    expect(slack.scopeSeparator).toBe(',');
    // Slack answers HTTP 200 {"ok": false} to a dead token (issue 7 point 15).
    expect(slack.responseSuccessField).toBe('ok');
  });
});

describe('Zendesk and its {{subdomain}}', () => {
  const env = { ZENDESK_CLIENT_ID: 'zd-id', ZENDESK_CLIENT_SECRET: 'zd-secret' };

  test('is unusable until variableValues.subdomain is set', async () => {
    const zendesk = await catalog(env).get('zendesk');
    expect(zendesk.authorizationUrl).toBe('https://{{subdomain}}.zendesk.com/oauth/authorizations/new');
    expect(zendesk.missing).toEqual(['variableValues.subdomain']);
    expect(() => assertUsable(zendesk)).toThrow(/variableValues\.subdomain/);
    let error: unknown;
    try {
      profileUrl(zendesk, 'tokenUrl');
    } catch (caught) {
      error = caught;
    }
    expect(isAuthProfilesError(error, 'invalid-template-variable')).toBe(true);
  });

  test('renders https://acme.zendesk.com/... once an override sets the subdomain', async () => {
    await store.profiles.put(
      {
        id: 'zendesk',
        kind: 'override',
        document: { id: 'zendesk', variableValues: { subdomain: 'acme' } },
        clientSecret: null,
        createdAt: 1,
        updatedAt: 1,
        updatedBy: 'admin:test',
      },
      0,
    );
    const zendesk = await catalog(env).get('zendesk');
    expect(zendesk.missing).toEqual([]);
    expect(zendesk.source).toBe('store');
    expect(profileUrl(zendesk, 'authorizationUrl')).toBe('https://acme.zendesk.com/oauth/authorizations/new');
    expect(profileUrl(zendesk, 'tokenUrl')).toBe('https://acme.zendesk.com/oauth/tokens');
    expect(profileUrl(zendesk, 'refreshUrl')).toBe('https://acme.zendesk.com/oauth/tokens');
    expect(profileUrl(zendesk, 'apiBaseUrl')).toBe('https://acme.zendesk.com/api/v2');
    expect(profileUrl(zendesk, 'checkUrl')).toBe('https://acme.zendesk.com/api/v2/users/me.json');
  });

  test('a subdomain that would change the host is refused', async () => {
    await store.profiles.put(
      {
        id: 'zendesk',
        kind: 'override',
        document: { id: 'zendesk', variableValues: { subdomain: 'evil.example/x' } },
        clientSecret: null,
        createdAt: 1,
        updatedAt: 1,
        updatedBy: 'admin:test',
      },
      0,
    );
    let error: unknown;
    try {
      await catalog(env).get('zendesk');
    } catch (caught) {
      error = caught;
    }
    expect(isAuthProfilesError(error)).toBe(true);
    expect((error as { issues: { path: string }[] }).issues.map((issue) => issue.path)).toEqual([
      'variableValues.subdomain',
    ]);
  });
});

describe('the HubSpot action catalogue (issue 11 point 2)', () => {
  const hubspot = bundledProfiles({ allowInsecureLoopback: false }, []).get('hubspot');

  it('declares read actions for every object users need, in CRM v3 paths', () => {
    expect(hubspot?.actions.map((a) => `${a.entity}.${a.action} ${a.method} ${a.path}`)).toEqual([
      'contacts.find POST /crm/v3/objects/contacts/search',
      'contacts.by-email POST /crm/v3/objects/contacts/search',
      'companies.list POST /crm/v3/objects/companies/search',
      'companies.find POST /crm/v3/objects/companies/search',
      'deals.list-mine POST /crm/v3/objects/deals/search',
      'deals.list POST /crm/v3/objects/deals/search',
      'tickets.list-mine POST /crm/v3/objects/tickets/search',
      'tickets.list POST /crm/v3/objects/tickets/search',
      'notes.list POST /crm/v3/objects/notes/search',
      'calls.list POST /crm/v3/objects/calls/search',
      'meetings.list POST /crm/v3/objects/meetings/search',
      'tasks.list-mine POST /crm/v3/objects/tasks/search',
      'emails.list POST /crm/v3/objects/emails/search',
      'owners.list GET /crm/v3/owners',
      'owners.by-email GET /crm/v3/owners',
    ]);
    expect(hubspot?.actions.every((a) => a.access === 'read')).toBe(true);
  });

  it('"my" actions filter by the signed-in owner, found by the account email', () => {
    expect(hubspot?.currentUser).toEqual({
      path: '/crm/v3/owners',
      query: { email: '{{account.email}}' },
      idPath: 'results.0.id',
      scopes: ['crm.objects.owners.read'],
    });
    const mine = hubspot?.actions.filter((a) => a.action === 'list-mine') ?? [];
    expect(mine.map((a) => a.entity)).toEqual(['deals', 'tickets', 'tasks']);
    for (const action of mine) {
      expect(action.body).toMatchObject({
        filterGroups: [
          { filters: [{ propertyName: 'hubspot_owner_id', operator: 'EQ', value: '{{currentUser}}' }] },
        ],
      });
      expect(action.scopes).toContain('crm.objects.owners.read');
    }
  });

  it('each action needs only scopes the profile asks for or may ask for later', () => {
    const grantable = new Set([...(hubspot?.scopes ?? []), ...(hubspot?.optionalScopes ?? [])]);
    for (const action of hubspot?.actions ?? []) {
      expect(action.scopes.filter((scope) => !grantable.has(scope))).toEqual([]);
    }
  });
});
