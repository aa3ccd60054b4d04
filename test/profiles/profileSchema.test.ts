// Profile validation and URL templates: defaults, field paths in errors, and SECURITY.md #35–#38.
// Each protection has a test that fails when the check is removed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthProfilesError, isAuthProfilesError } from '../../profiles/errors';
import {
  parseProfile,
  parseSystemOverride,
  RESERVED_AUTHORIZATION_PARAMS,
  urlProblem,
  isProfileId,
} from '../../profiles/profileSchema';
import { renderUrlTemplate, templateVariables } from '../../profiles/urlTemplates';

const STRICT = { allowInsecureLoopback: false };
const DEV = { allowInsecureLoopback: true };

function base(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'acme',
    displayName: 'Acme CRM',
    authorizationUrl: 'https://auth.acme.example/oauth/authorize',
    tokenUrl: 'https://auth.acme.example/oauth/token',
    clientId: 'acme-client',
    ...extra,
  };
}

/** The AuthProfilesError a call throws (fails the test when it does not throw one). */
function caught(work: () => unknown): AuthProfilesError {
  try {
    work();
  } catch (error) {
    if (isAuthProfilesError(error)) return error;
    throw error;
  }
  throw new Error('expected an AuthProfilesError, but nothing was thrown');
}

/** The field paths an invalid profile names. */
function invalidPaths(input: unknown, options = STRICT): string[] {
  const error = caught(() => parseProfile(input, options));
  expect(error.code).toBe('invalid-profile');
  expect(error.status).toBe(400);
  return error.issues.map((issue) => issue.path);
}

describe('defaults', () => {
  test('a minimal profile gets every documented default', () => {
    const profile = parseProfile(base(), STRICT);
    expect(profile).toMatchObject({
      id: 'acme',
      kind: 'custom',
      refreshUrl: 'https://auth.acme.example/oauth/token',
      scopes: [],
      optionalScopes: [],
      scopeSeparator: ' ',
      pkce: true,
      tokenEndpointAuthMethod: 'client_secret_basic',
      authorization: 'per-user',
      tokenTypes: ['bearer'],
      defaultTokenTtlSeconds: 3600,
      authorizationParams: {},
      variables: {},
      variableValues: {},
      issuerParameterSupported: false,
    });
    expect(profile.revocationUrl).toBeUndefined();
  });

  test('an explicit refreshUrl is kept, not replaced by tokenUrl', () => {
    const profile = parseProfile(base({ refreshUrl: 'https://auth.acme.example/oauth/refresh' }), STRICT);
    expect(profile.refreshUrl).toBe('https://auth.acme.example/oauth/refresh');
    expect(profile.tokenUrl).toBe('https://auth.acme.example/oauth/token');
  });

  test('explicit values win over defaults', () => {
    const profile = parseProfile(
      base({
        scopes: ['a', 'b'],
        pkce: false,
        tokenEndpointAuthMethod: 'client_secret_post',
        authorization: 'pre-authorized',
        tokenTypes: ['Bearer', 'mac'],
        defaultTokenTtlSeconds: 600,
      }),
      STRICT,
    );
    expect(profile).toMatchObject({
      scopes: ['a', 'b'],
      pkce: false,
      tokenEndpointAuthMethod: 'client_secret_post',
      authorization: 'pre-authorized',
      tokenTypes: ['Bearer', 'mac'],
      defaultTokenTtlSeconds: 600,
    });
  });
});

describe('errors name the field', () => {
  test('a bad scope names its index', () => {
    expect(invalidPaths(base({ scopes: ['ok', 'has space'] }))).toEqual(['scopes.1']);
  });

  test('a bad URL names the URL field', () => {
    expect(invalidPaths(base({ authorizationUrl: 'not a url' }))).toEqual(['authorizationUrl']);
  });

  test('the message carries the path, so a 400 body tells the caller what to fix', () => {
    const error = caught(() => parseProfile(base({ scopes: ['ok', 'has"quote'] }), STRICT));
    expect(error.message).toContain('scopes.1');
  });

  test('several bad fields are all named', () => {
    const paths = invalidPaths(
      base({ pkce: 'yes', tokenUrl: 'http://auth.acme.example/token', id: 'Bad Id' }),
    );
    expect(paths.sort()).toEqual(['id', 'pkce']);
    // URL semantics run once the shape is right.
    expect(invalidPaths(base({ tokenUrl: 'http://auth.acme.example/token' }))).toEqual(['tokenUrl']);
  });
});

describe('SECURITY.md #35: URLs must be https without credentials or fragments', () => {
  const cases: [string, string, RegExp][] = [
    ['plain http', 'http://auth.acme.example/authorize', /https/],
    ['javascript:', 'javascript:alert(document.cookie)', /https/],
    ['data:', 'data:text/html,<script>alert(1)</script>', /https/],
    ['credentials', 'https://user:pass@auth.acme.example/authorize', /credentials/],
    ['user only', 'https://user@auth.acme.example/authorize', /credentials/],
    ['fragment', 'https://auth.acme.example/authorize#frag', /fragment/],
    ['empty fragment', 'https://auth.acme.example/authorize#', /fragment/],
    ['relative', '/oauth/authorize', /absolute/],
  ];
  for (const field of [
    'authorizationUrl',
    'tokenUrl',
    'refreshUrl',
    'revocationUrl',
    'checkUrl',
    'apiBaseUrl',
  ]) {
    test.each(cases)(`${field}: %s is rejected naming the field`, (_name, url, message) => {
      const error = caught(() => parseProfile(base({ [field]: url }), STRICT));
      expect(error.code).toBe('invalid-profile');
      expect(error.issues).toEqual([{ path: field, message: expect.stringMatching(message) }]);
    });
  }

  test('issuer is held to the same rule', () => {
    expect(invalidPaths(base({ issuer: 'http://auth.acme.example' }))).toEqual(['issuer']);
  });

  test('http on loopback is accepted only when allowInsecureLoopback is on', () => {
    for (const url of [
      'http://localhost:4000/token',
      'http://127.0.0.1:4000/token',
      'http://127.0.0.2/token',
      'http://[::1]:4000/token',
    ]) {
      expect(parseProfile(base({ tokenUrl: url }), DEV).tokenUrl).toBe(url);
      expect(invalidPaths(base({ tokenUrl: url }), STRICT)).toEqual(['tokenUrl']);
    }
  });

  test('names that only look like loopback are not loopback', () => {
    for (const url of [
      'http://127.evil.example/token',
      'http://127.0.0.1.evil.example/token',
      'http://localhost.evil.example/token',
      'http://10.0.0.1/token',
    ]) {
      expect(invalidPaths(base({ tokenUrl: url }), DEV)).toEqual(['tokenUrl']);
    }
    expect(urlProblem('http://127.evil.example/', DEV)).toMatch(/https/);
  });

  test('a template that renders to a loopback-looking DNS name is rejected too', () => {
    const profile = base({
      tokenUrl: 'http://127.0.0.{{octet}}/token',
      variables: { octet: {} },
    });
    // With a value such as `evil.example` this would be http://127.0.0.evil.example/token.
    expect(invalidPaths(profile, DEV)).toEqual(['tokenUrl']);
  });

  test('https with a port and a query is fine', () => {
    const url = 'https://auth.acme.example:8443/authorize?audience=api';
    expect(parseProfile(base({ authorizationUrl: url }), STRICT).authorizationUrl).toBe(url);
  });
});

describe('SECURITY.md #36: unknown fields, wrong types, reserved parameters', () => {
  test('unknown top-level fields are each named', () => {
    expect(invalidPaths(base({ clientSecretPlain: 'x', admin: true })).sort()).toEqual([
      'admin',
      'clientSecretPlain',
    ]);
  });

  test('unknown nested fields are named with their path', () => {
    expect(invalidPaths(base({ variables: { tenant: { description: 'x', default: 'y' } } }))).toEqual([
      'variables.tenant.default',
    ]);
  });

  test.each([
    ['pkce', 'true'],
    ['scopes', 'read write'],
    ['defaultTokenTtlSeconds', '3600'],
    ['defaultTokenTtlSeconds', 1.5],
    ['defaultTokenTtlSeconds', 10],
    ['authorization', 'everyone'],
    ['tokenEndpointAuthMethod', 'private_key_jwt'],
    ['authorizationParams', ['a']],
    ['displayName', 42],
    ['tokenTypes', []],
  ])('%s = %p is a wrong type or value', (field, value) => {
    expect(invalidPaths(base({ [field]: value }))).toEqual([field]);
  });

  test('a profile that is not an object is rejected', () => {
    for (const value of [null, [], 'profile', 42]) {
      expect(caught(() => parseProfile(value, STRICT)).code).toBe('invalid-profile');
    }
  });

  test.each([...RESERVED_AUTHORIZATION_PARAMS])('authorizationParams.%s is reserved', (name) => {
    expect(invalidPaths(base({ authorizationParams: { [name]: 'x' } }))).toEqual([
      `authorizationParams.${name}`,
    ]);
  });

  test('reserved names are matched case-insensitively', () => {
    expect(invalidPaths(base({ authorizationParams: { Redirect_URI: 'https://evil.example' } }))).toEqual([
      'authorizationParams.Redirect_URI',
    ]);
  });

  test('other authorization params are kept', () => {
    const profile = parseProfile(
      base({ authorizationParams: { prompt: 'consent', access_type: 'offline' } }),
      STRICT,
    );
    expect(profile.authorizationParams).toEqual({ prompt: 'consent', access_type: 'offline' });
  });

  test('a system override is limited to its own fields', () => {
    const error = caught(() =>
      parseSystemOverride({ id: 'hubspot', tokenUrl: 'https://evil.example/token' }),
    );
    expect(error.code).toBe('invalid-profile');
    expect(error.issues.map((issue) => issue.path)).toEqual(['tokenUrl']);
    expect(parseSystemOverride({ id: 'hubspot', scopes: ['oauth'] }).scopes).toEqual(['oauth']);
  });

  test('a system override carries only the fields it names (no defaults that would reset the bundle)', () => {
    expect(parseSystemOverride({ id: 'hubspot', scopes: ['oauth'] })).toEqual({
      id: 'hubspot',
      scopes: ['oauth'],
    });
  });
});

describe('SECURITY.md #37: template variables', () => {
  const zendesk = (values: Record<string, string> = {}) =>
    base({
      authorizationUrl: 'https://{{subdomain}}.zendesk.com/oauth/authorizations/new',
      tokenUrl: 'https://{{subdomain}}.zendesk.com/oauth/tokens',
      variables: { subdomain: {} },
      variableValues: values,
    });

  test('a declared variable is accepted', () => {
    const profile = parseProfile(zendesk({ subdomain: 'acme' }), STRICT);
    expect(profile.variableValues).toEqual({ subdomain: 'acme' });
  });

  test('a template using an undeclared variable is rejected, naming the field and the variable', () => {
    const error = caught(() =>
      parseProfile(base({ tokenUrl: 'https://{{region}}.acme.example/token' }), STRICT),
    );
    expect(error.issues).toEqual([{ path: 'tokenUrl', message: expect.stringContaining('"region"') }]);
  });

  test('a value for an undeclared variable is rejected', () => {
    expect(invalidPaths(base({ variableValues: { region: 'eu' } }))).toEqual(['variableValues.region']);
  });

  test.each([
    ['slash', 'acme/evil'],
    ['question mark', 'acme?x=1'],
    ['hash', 'acme#x'],
    ['dot-dot', '..'],
    ['dot-dot inside', 'a..b'],
    ['at', 'evil.example@acme'],
    ['colon', 'acme:8080'],
    ['empty', ''],
    ['space', 'ac me'],
    ['percent', 'acme%2F'],
    ['backslash', 'acme\\evil'],
    ['leading dot', '.acme'],
  ])('a value with %s is rejected in the profile and at render time', (_name, value) => {
    expect(invalidPaths(zendesk({ subdomain: value }))).toEqual(['variableValues.subdomain']);
    const error = caught(() =>
      renderUrlTemplate('https://{{subdomain}}.zendesk.com/oauth/tokens', 'tokenUrl', { subdomain: value }),
    );
    expect(error.code).toBe('invalid-template-variable');
  });

  test('a legitimate value is rendered into the URL, URL-encoded', () => {
    expect(
      renderUrlTemplate('https://{{subdomain}}.zendesk.com/oauth/tokens', 'tokenUrl', {
        subdomain: 'acme-eu',
      }),
    ).toBe('https://acme-eu.zendesk.com/oauth/tokens');
    expect(
      renderUrlTemplate('https://login.example.com/{{tenant}}/token', 'tokenUrl', {
        tenant: 'contoso.onmicrosoft.com',
      }),
    ).toBe('https://login.example.com/contoso.onmicrosoft.com/token');
    // Not HTML-escaped: `~` and `_` come through as themselves.
    expect(renderUrlTemplate('https://x.example/{{v}}/y', 'f', { v: 'a_b~c' })).toBe(
      'https://x.example/a_b~c/y',
    );
  });

  test('a missing value is an error, never an empty segment', () => {
    const error = caught(() => renderUrlTemplate('https://{{subdomain}}.zendesk.com/', 'tokenUrl', {}));
    expect(error.code).toBe('invalid-template-variable');
    expect(error.message).toContain('"subdomain"');
  });

  test('a template without placeholders comes back unchanged', () => {
    expect(renderUrlTemplate('https://a.example/b?c=d', 'f', {})).toBe('https://a.example/b?c=d');
  });
});

describe('SECURITY.md #38: only plain placeholders are compiled', () => {
  test.each([
    ['helper', 'https://a.example/{{lookup this "x"}}'],
    ['helper with a hash', 'https://a.example/{{x y=1}}'],
    ['block', 'https://a.example/{{#each items}}{{this}}{{/each}}'],
    ['if block', 'https://a.example/{{#if x}}y{{/if}}'],
    ['inverse block', 'https://a.example/{{^x}}y{{/x}}'],
    ['partial', 'https://a.example/{{> evil}}'],
    ['partial block', 'https://a.example/{{#> evil}}x{{/evil}}'],
    ['triple stash', 'https://a.example/{{{x}}}'],
    ['ampersand unescaped', 'https://a.example/{{&x}}'],
    ['this.constructor', 'https://a.example/{{this.constructor}}'],
    ['this/constructor', 'https://a.example/{{this/constructor}}'],
    ['./x', 'https://a.example/{{./x}}'],
    ['parent ../x', 'https://a.example/{{../x}}'],
    ['__proto__', 'https://a.example/{{__proto__}}'],
    ['constructor.constructor', 'https://a.example/{{constructor.constructor}}'],
    ['dotted path', 'https://a.example/{{x.y}}'],
    ['this', 'https://a.example/{{this}}'],
    ['data variable', 'https://a.example/{{@root}}'],
    ['string literal', 'https://a.example/{{"x"}}'],
    ['number literal', 'https://a.example/{{1}}'],
    ['comment', 'https://a.example/{{! note }}'],
    ['decorator', 'https://a.example/{{* decorate}}'],
    ['unclosed', 'https://a.example/{{x'],
  ])('%s is rejected', (_name, template) => {
    const error = caught(() => templateVariables(template, 'authorizationUrl'));
    expect(error.code).toBe('invalid-template-variable');
    expect(error.issues).toEqual([{ path: 'authorizationUrl', message: expect.any(String) }]);
    // The same template in a profile (even with every name declared) is an invalid profile.
    const paths = invalidPaths(
      base({
        authorizationUrl: template,
        variables: { x: {}, constructor: {}, items: {}, evil: {} },
      }),
    );
    expect(paths).toEqual(['authorizationUrl']);
  });

  test('a plain placeholder is accepted and named', () => {
    expect(templateVariables('https://{{a}}.example/{{b}}/{{a}}', 'f')).toEqual(['a', 'b']);
  });

  test('prototype members are never rendered: a name without an own value is missing', () => {
    for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
      const error = caught(() => renderUrlTemplate(`https://a.example/{{${name}}}`, 'f', {}));
      expect(error.code).toBe('invalid-template-variable');
      expect(error.message).toBe(`f needs a value for variable "${name}"`);
    }
  });

  test('inherited values are not values', () => {
    const values = Object.create({ subdomain: 'inherited' }) as Record<string, string>;
    const error = caught(() => renderUrlTemplate('https://{{subdomain}}.zendesk.com/', 'f', values));
    expect(error.message).toBe('f needs a value for variable "subdomain"');
  });

  test('a variable named like a prototype member renders only its own value', () => {
    expect(renderUrlTemplate('https://a.example/{{constructor}}/x', 'f', { constructor: 'own' })).toBe(
      'https://a.example/own/x',
    );
  });

  test('the installed handlebars is at least 4.7.10', () => {
    const manifest = JSON.parse(
      readFileSync(join(require.resolve('handlebars'), '..', '..', 'package.json'), 'utf8'),
    ) as { name: string; version: string };
    expect(manifest.name).toBe('handlebars');
    expect(atLeast(manifest.version, '4.7.10')).toBe(true);
    // The comparison itself is numeric, not lexical.
    expect(atLeast('4.7.9', '4.7.10')).toBe(false);
    expect(atLeast('4.10.0', '4.7.10')).toBe(true);
    expect(atLeast('5.0.0', '4.7.10')).toBe(true);
    expect(atLeast('4.7.10-beta.1', '4.7.10')).toBe(false);
  });
});

/** Semver `version >= minimum` for release versions; a pre-release of the minimum is below it. */
function atLeast(version: string, minimum: string): boolean {
  const parse = (value: string) => {
    const match = /^(\d+)\.(\d+)\.(\d+)(-.+)?$/.exec(value);
    if (!match) throw new Error(`not a semver version: ${value}`);
    return { parts: [Number(match[1]), Number(match[2]), Number(match[3])], pre: match[4] !== undefined };
  };
  const a = parse(version);
  const b = parse(minimum);
  for (let i = 0; i < 3; i += 1) {
    const left = a.parts[i] as number;
    const right = b.parts[i] as number;
    if (left !== right) return left > right;
  }
  return !a.pre || b.pre;
}

describe('outside dev, profile URLs may not aim at internal addresses (SSRF through profiles)', () => {
  test.each([
    'https://localhost/token',
    'https://127.0.0.1/token',
    'https://10.1.2.3/token',
    'https://172.20.0.5/token',
    'https://192.168.1.10/token',
    'https://169.254.169.254/latest/meta-data',
    'https://100.64.0.1/token',
    'https://[::1]/token',
    'https://[fd00::1]/token',
    'https://[fe80::1]/token',
    'https://[::ffff:10.0.0.1]/token',
    'https://metadata.google.internal/token',
    'https://printer.local/token',
  ])('%s is refused naming the field', (url) => {
    expect(invalidPaths(base({ tokenUrl: url }))).toEqual(['tokenUrl']);
    expect(caught(() => parseProfile(base({ tokenUrl: url }), STRICT)).issues[0]?.message).toBe(
      'must not point at a loopback, private or link-local address',
    );
  });

  test('public hosts and addresses are accepted, and dev mode keeps loopback', () => {
    for (const url of [
      'https://api.hubapi.com/oauth/v1/token',
      'https://8.8.8.8/token',
      'https://172.32.0.1/token',
    ]) {
      expect(parseProfile(base({ tokenUrl: url }), STRICT).tokenUrl).toBe(url);
    }
    expect(parseProfile(base({ tokenUrl: 'http://127.0.0.1:9000/token' }), DEV).tokenUrl).toBe(
      'http://127.0.0.1:9000/token',
    );
  });
});

describe('provider quirks and OpenID Connect fields (issue 7 points 10 and 15)', () => {
  test('scope openid needs an issuer and a jwksUrl, to verify ID tokens (SECURITY.md #50)', () => {
    expect(invalidPaths(base({ scopes: ['openid', 'email'] })).sort()).toEqual(['issuer', 'jwksUrl']);
    expect(invalidPaths(base({ optionalScopes: ['openid'], issuer: 'https://auth.acme.example' }))).toEqual([
      'jwksUrl',
    ]);
    const profile = parseProfile(
      base({
        scopes: ['openid'],
        issuer: 'https://auth.acme.example',
        jwksUrl: 'https://auth.acme.example/.well-known/jwks.json',
      }),
      STRICT,
    );
    expect(profile.jwksUrl).toBe('https://auth.acme.example/.well-known/jwks.json');
  });

  test('jwksUrl is held to the URL rule of every profile URL', () => {
    expect(invalidPaths(base({ jwksUrl: 'http://auth.acme.example/jwks' }))).toEqual(['jwksUrl']);
    expect(invalidPaths(base({ jwksUrl: 'https://10.0.0.8/jwks' }))).toEqual(['jwksUrl']);
  });

  test('apiBaseUrlFrom names a token-response member, never one that holds a token', () => {
    expect(parseProfile(base({ apiBaseUrlFrom: 'instance_url' }), STRICT).apiBaseUrlFrom).toBe(
      'instance_url',
    );
    for (const secret of ['access_token', 'refresh_token', 'id_token']) {
      const error = caught(() => parseProfile(base({ apiBaseUrlFrom: secret }), STRICT));
      expect(error.issues).toEqual([{ path: 'apiBaseUrlFrom', message: 'must not name a token' }]);
    }
    expect(invalidPaths(base({ apiBaseUrlFrom: 'Instance-URL' }))).toEqual(['apiBaseUrlFrom']);
  });

  test('responseSuccessField is a JSON member name; none by default', () => {
    expect(parseProfile(base(), STRICT).responseSuccessField).toBeUndefined();
    expect(parseProfile(base({ responseSuccessField: 'ok' }), STRICT).responseSuccessField).toBe('ok');
    expect(invalidPaths(base({ responseSuccessField: 'ok.value' }))).toEqual(['responseSuccessField']);
  });
});

// One profile-id definition (profiles/profileSchema.ts PROFILE_ID): the schema, and every route that takes
// an id in its path (admin API, admin pages, OAuth callback) through `isProfileId`, accept the same ids.
describe('the profile id', () => {
  const ids: [id: string, valid: boolean][] = [
    ['acme', true],
    ['a', true],
    ['acme-crm-2', true],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
    ['Acme', false],
    ['-acme', false],
    ['acme-', false],
    ['acme_crm', false],
    ['acme crm', false],
    ['', false],
  ];
  test.each(ids)('"%s" is a profile id: %s', (id, valid) => {
    expect(isProfileId(id)).toBe(valid);
    if (valid) expect(parseProfile(base({ id }), STRICT).id).toBe(id);
    else expect(invalidPaths(base({ id }))).toContain('id');
  });
});
