// The address rule for profile URLs (SECURITY.md #41, #42): template-variable hosts are judged rendered,
// host names are normalised before the check, every special-purpose range is refused in production,
// and the operator's allow-list lets named internal providers through. Each test fails when the
// corresponding part of profiles/outboundAddress.ts or the rendered check in profileSchema.ts is removed.
import { AuthProfilesError, isAuthProfilesError } from '../../profiles/errors';
import {
  addressKind,
  answerProblem,
  OutboundAllowListError,
  parseOutboundAllowList,
  REFUSED_HOST_MESSAGE,
} from '../../profiles/outboundAddress';
import { checkOutboundUrl, withPath } from '../../profiles/outboundRequests';
import { parseProfile, URL_FIELDS } from '../../profiles/profileSchema';

const PRODUCTION = { allowInsecureLoopback: false };
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

function caught(work: () => unknown): AuthProfilesError {
  try {
    work();
  } catch (error) {
    if (isAuthProfilesError(error)) return error;
    throw error;
  }
  throw new Error('expected an AuthProfilesError, but nothing was thrown');
}

function issuesOf(input: unknown, options = PRODUCTION) {
  const error = caught(() => parseProfile(input, options));
  expect(error.code).toBe('invalid-profile');
  return error.issues;
}

describe('#41: a host that comes from a template variable meets the same rule as a literal one', () => {
  test.each(URL_FIELDS.map((field) => [field]))(
    '%s = https://{{h}}/… with h = 127.0.0.1 or 169.254.169.254 is refused in production, naming the field',
    (field) => {
      for (const h of ['127.0.0.1', '169.254.169.254', '10.0.0.5', 'localhost', 'metadata.google.internal']) {
        const profile = base({
          [field]: `https://{{h}}/${field}`,
          variables: { h: {} },
          variableValues: { h },
        });
        const issues = issuesOf(profile);
        expect(issues).toEqual([
          { path: field, message: `${REFUSED_HOST_MESSAGE} (as rendered with {{h}})` },
        ]);
        expect(caught(() => parseProfile(profile, PRODUCTION)).message).toContain(`${field}: must not point`);
      }
    },
  );

  test('the same profile with a public value is accepted, and dev mode keeps loopback', () => {
    const profile = (h: string) =>
      base({ tokenUrl: 'https://{{h}}/token', variables: { h: {} }, variableValues: { h } });
    expect(parseProfile(profile('auth.acme.example'), PRODUCTION).tokenUrl).toBe('https://{{h}}/token');
    expect(parseProfile(profile('127.0.0.1'), DEV).variableValues).toEqual({ h: '127.0.0.1' });
  });

  test('a host variable without a value yet is judged on a neutral sample, and again when the value comes', () => {
    const template = base({ tokenUrl: 'https://{{h}}/token', variables: { h: {} } });
    expect(parseProfile(template, PRODUCTION).variableValues).toEqual({});
    expect(issuesOf({ ...template, variableValues: { h: '169.254.169.254' } }).map((i) => i.path)).toEqual([
      'tokenUrl',
    ]);
  });

  test('at request time the rendered URL is checked again: checkOutboundUrl refuses it too', () => {
    const error = caught(() => checkOutboundUrl('https://127.0.0.1/token', 'tokenUrl', PRODUCTION));
    expect(error.code).toBe('outbound-refused');
    expect(error.message).toBe(`tokenUrl ${REFUSED_HOST_MESSAGE}`);
    expect(checkOutboundUrl('https://auth.acme.example/token', 'tokenUrl', PRODUCTION).href).toBe(
      'https://auth.acme.example/token',
    );
  });

  test('a path appended to a checked base URL cannot change its host', () => {
    const api = checkOutboundUrl('https://api.acme.example/v3', 'apiBaseUrl', PRODUCTION);
    expect(withPath(api, '/crm/objects?limit=5').href).toBe(
      'https://api.acme.example/v3/crm/objects?limit=5',
    );
    // Glued onto a base without a path, these would change the host; the re-check catches both.
    const bare = checkOutboundUrl('https://api.acme.example', 'apiBaseUrl', PRODUCTION);
    expect(caught(() => withPath(bare, '@127.0.0.1/x')).message).toBe(
      'apiBaseUrl must not contain credentials',
    );
    expect(caught(() => withPath(bare, '.evil.example/x')).message).toBe(
      'apiBaseUrl: a path may not change the host',
    );
  });
});

describe('#42: host names are normalised before the check', () => {
  test.each([
    'https://localhost./token',
    'https://localhost../token',
    'https://LOCALHOST/token',
    'https://LocalHost./token',
    'https://metadata.google.internal./token',
    'https://Metadata.Google.Internal/token',
    'https://printer.local./token',
    'https://PRINTER.LOCAL/token',
    'https://router.home.arpa./token',
    'https://box.localdomain/token',
    'https://api.localhost./token',
    // IDNA: fullwidth and enclosed letters map to `localhost` (UTS #46), a soft hyphen disappears.
    'https://ｌｏｃａｌｈｏｓｔ/token',
    'https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/token',
    'https://local\u00adhost/token',
    'https://metadata.google.ｉｎｔｅｒｎａｌ/token',
    // IPv4 shorthands and a trailing dot on an address.
    'https://127.0.0.1./token',
    'https://0x7f.1/token',
    'https://2130706433/token',
    'https://0177.0.0.1/token',
    // Single-label names are completed by the resolver's search domains (metadata, redis, …).
    'https://metadata/token',
    'https://metadata./token',
  ])('%s is refused in production', (url) => {
    expect(issuesOf(base({ tokenUrl: url }))).toEqual([{ path: 'tokenUrl', message: REFUSED_HOST_MESSAGE }]);
  });

  test('names with empty labels are refused as malformed', () => {
    for (const url of ['https://.localhost/token', 'https://a..example/token']) {
      expect(issuesOf(base({ tokenUrl: url }))).toEqual([
        { path: 'tokenUrl', message: 'must name a valid host' },
      ]);
    }
  });

  test('public names that merely contain those words are accepted', () => {
    for (const url of [
      'https://localhost.example.com/token',
      'https://internal.example.com/token',
      'https://local.example.com./token',
      'https://metadata.google.com/token',
    ]) {
      expect(parseProfile(base({ tokenUrl: url }), PRODUCTION).tokenUrl).toBe(url);
    }
  });
});

describe('#42: every special-purpose range is refused in production', () => {
  test.each([
    // The ranges the review found open.
    ['[fec0::1]', 'site-local'],
    ['[feff::1]', 'site-local'],
    ['[::127.0.0.1]', 'IPv4-compatible'],
    ['[::8.8.8.8]', 'IPv4-compatible'],
    ['[::ffff:127.0.0.1]', 'IPv4-mapped'],
    ['[::ffff:8.8.8.8]', 'IPv4-mapped'],
    ['[64:ff9b::7f00:1]', 'NAT64'],
    ['[64:ff9b::808:808]', 'NAT64'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.254', 'benchmarking'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['100.127.255.254', 'shared (carrier-grade NAT)'],
    // Already refused before, kept.
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.10', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', '"this network"'],
    ['0.1.2.3', '"this network"'],
    ['[::1]', 'loopback'],
    ['[::]', 'unspecified'],
    ['[fd00::1]', 'unique local (private)'],
    ['[fc00::1]', 'unique local (private)'],
    ['[fe80::1]', 'link-local'],
    ['[febf::1]', 'link-local'],
    // Documentation, multicast, broadcast, tunnels, local-use NAT64, discard.
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['[2001:db8::1]', 'documentation'],
    ['[3fff::1]', 'documentation'],
    ['192.0.0.170', 'IETF protocol assignments'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['[ff02::1]', 'multicast'],
    ['255.255.255.255', 'reserved (and broadcast)'],
    ['240.0.0.1', 'reserved (and broadcast)'],
    ['[2002:7f00:1::1]', '6to4'],
    ['[2001:0:4136:e378::1]', 'Teredo'],
    ['[64:ff9b:1::a00:1]', 'NAT64 (local use)'],
    ['[100::1]', 'discard-only'],
  ])('%s (%s) is refused naming the field', (host, kind) => {
    expect(issuesOf(base({ checkUrl: `https://${host}/me` }))).toEqual([
      { path: 'checkUrl', message: REFUSED_HOST_MESSAGE },
    ]);
    expect(addressKind(new URL(`https://${host}/`).hostname.replace(/^\[|\]$/g, ''))).toBe(kind);
  });

  test.each([
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.1',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '[2606:4700:4700::1111]',
    '[2a00:1450:4001::200e]',
    '[fbff::1]',
    '[64:ff9c::1]',
  ])('the public neighbour %s is accepted', (host) => {
    const url = `https://${host}/me`;
    expect(parseProfile(base({ checkUrl: url }), PRODUCTION).checkUrl).toBe(url);
  });
});

describe('#42: the operator allow-list (OUTBOUND_ALLOWLIST)', () => {
  const list = parseOutboundAllowList([
    'idp.corp.example',
    '*.intra.example',
    '10.20.0.0/16',
    'fd12:3456::/32',
    '192.168.7.7',
    'keycloak.internal.',
  ]);
  const WITH_LIST = { allowInsecureLoopback: false, outboundAllowList: list };

  test('allow-listed addresses, networks and names pass; everything else stays refused', () => {
    for (const url of [
      'https://10.20.30.40/token',
      'https://[fd12:3456::9]/token',
      'https://192.168.7.7/token',
      'https://keycloak.internal/token',
      'https://KEYCLOAK.internal./token',
    ]) {
      expect(parseProfile(base({ tokenUrl: url }), WITH_LIST).tokenUrl).toBe(url);
    }
    for (const url of [
      'https://10.21.0.1/token',
      'https://192.168.7.8/token',
      'https://other.internal/token',
    ]) {
      expect(issuesOf(base({ tokenUrl: url }), WITH_LIST).map((i) => i.path)).toEqual(['tokenUrl']);
    }
  });

  test('a resolved answer is allowed by the name it was asked for or by its network', () => {
    expect(answerProblem('idp.corp.example', '10.9.9.9', WITH_LIST)).toBeUndefined();
    expect(answerProblem('IDP.corp.example.', '127.0.0.1', WITH_LIST)).toBeUndefined();
    expect(answerProblem('a.b.intra.example', '172.16.0.1', WITH_LIST)).toBeUndefined();
    expect(answerProblem('api.public.example', '10.20.1.1', WITH_LIST)).toBeUndefined();
    expect(answerProblem('api.public.example', '10.21.1.1', WITH_LIST)).toBe(
      'api.public.example resolves to 10.21.1.1, a private address; outbound requests to internal addresses are refused unless allow-listed',
    );
    // The wildcard covers names below it, not the domain itself.
    expect(answerProblem('intra.example', '10.0.0.1', WITH_LIST)).toMatch(/resolves to 10\.0\.0\.1/);
    expect(answerProblem('api.public.example', '93.184.216.34', PRODUCTION)).toBeUndefined();
    expect(answerProblem('api.public.example', '127.0.0.1', DEV)).toBeUndefined();
  });

  test('bad entries are refused naming the entry', () => {
    for (const [entry, message] of [
      ['10.0.0.0/33', /entry "10\.0\.0\.0\/33" has a bad prefix length \(0-32 for IPv4\)/],
      ['fd00::/129', /entry "fd00::\/129" has a bad prefix length \(0-128 for IPv6\)/],
      ['10.0.0.0/x', /entry "10\.0\.0\.0\/x" has a bad prefix length/],
      ['idp.corp.example/24', /entry "idp\.corp\.example\/24" is not a host name/],
      ['https://idp.corp.example', /entry "https:\/\/idp\.corp\.example" is not a host name/],
      ['idp corp', /entry "idp corp" is not a host name/],
      ['*.', /entry "\*\." is not a host name/],
      ['-bad-.example', /entry "-bad-\.example" is not a host name/],
      ['0x7f.1', /entry "0x7f\.1" is not a host name/],
    ] as const) {
      let thrown: unknown;
      try {
        parseOutboundAllowList(['ok.example', entry]);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(OutboundAllowListError);
      expect((thrown as Error).message).toMatch(message);
    }
  });

  test('IDNA names are stored in their ASCII form', () => {
    const idna = parseOutboundAllowList(['bücher.corp.example']);
    expect([...idna.names]).toEqual(['xn--bcher-kva.corp.example']);
    expect(
      answerProblem('xn--bcher-kva.corp.example', '10.0.0.1', { ...PRODUCTION, outboundAllowList: idna }),
    ).toBe(undefined);
  });
});
