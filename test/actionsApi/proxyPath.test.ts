// The proxy's path rule on its own (bot/actionsApi/proxyPath.ts): every way out of the API base is
// refused with the problem named; ordinary API paths pass unchanged. The same attempts are sent as raw
// HTTP request targets through the whole service in proxy.test.ts.
import type { IncomingMessage } from 'node:http';
import { checkPath, proxyTargetOf, upstreamUrl } from '../../bot/actionsApi/proxyPath';

const BASE = 'https://api.example.com/v1';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    const e = error as { status?: number; code?: string; message?: string };
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid-proxy-path');
    return e.message ?? '';
  }
  throw new Error('not refused');
}

describe('escape attempts are refused, naming the problem', () => {
  test.each([
    ['/../admin', /\. or \.\. segments/],
    ['/a/..', /\. or \.\. segments/],
    ['/./a', /\. or \.\. segments/],
    ['/%2e%2e/admin', /\. or \.\. segments/],
    ['/%2E%2E/admin', /\. or \.\. segments/],
    ['/.%2e/admin', /\. or \.\. segments/],
    ['/%252e%252e/admin', /\. or \.\. segments/],
    ['/%25252e%25252e/admin', /\. or \.\. segments/],
    ['/a%2f..%2fadmin', /\. or \.\. segments/],
    ['/a/..;/admin', /\. or \.\. segments/],
    ['/a/.;x/b', /\. or \.\. segments/],
    ['//evil.example/x', /empty segment/],
    ['/a//b', /empty segment/],
    ['/%2f%2fevil.example', /empty segment/],
    ['/http://evil.example/', /empty segment/],
    ['/https:%2f%2fevil.example', /empty segment/],
    ['/a\\..\\b', /backslash/],
    ['/a%5c..%5cb', /backslash/],
    ['/a%5Cb', /backslash/],
    ['/a%00b', /control characters/],
    ['/a%0d%0aHost:%20evil', /control characters/],
    ['/a%zz', /malformed percent-encoding/],
    ['/%2525252525252e', /too many times/],
  ])('%s', (path, problem) => {
    expect(refusal(() => checkPath(path))).toMatch(problem);
  });

  test('a built URL must keep the origin and stay under the base path', () => {
    // Past checkPath these cannot happen; upstreamUrl proves it on the URL actually requested.
    expect(refusal(() => upstreamUrl(BASE, { path: '/../x', search: '' }))).toMatch(
      /under the profile's API base path/,
    );
    expect(refusal(() => upstreamUrl(BASE, { path: '@evil.example/x', search: '' }))).toMatch(
      /API (host|base path)/,
    );
    expect(refusal(() => upstreamUrl('https://api.example.com/v1', { path: '2/x', search: '' }))).toMatch(
      /under the profile's API base path/,
    );
  });

  test('a fragment or a target outside the proxy prefix is refused', () => {
    const req = (url: string) => ({ url }) as IncomingMessage;
    expect(refusal(() => proxyTargetOf(req('/api/proxy/crm/a#frag')))).toMatch(/fragment/);
    expect(refusal(() => proxyTargetOf(req(`/api/proxy/crm/${'a'.repeat(9000)}`)))).toMatch(/longer than/);
  });
});

describe('ordinary paths pass as sent', () => {
  test.each([
    ['/crm/v3/objects/deals', '?limit=10', `${BASE}/crm/v3/objects/deals?limit=10`],
    ['/users/a%40b.example/items', '', `${BASE}/users/a%40b.example/items`],
    ['/files/report.v2.json', '', `${BASE}/files/report.v2.json`],
    ['/a/', '?q=http://x//y', `${BASE}/a/?q=http://x//y`],
    ['', '', BASE],
  ])('%s%s', (path, search, url) => {
    expect(() => checkPath(path)).not.toThrow();
    expect(upstreamUrl(BASE, { path, search })).toBe(url);
  });

  test('the raw target is split into profile, path and query', () => {
    const req = { url: '/api/proxy/crm/crm/v3/objects/deals?limit=2&after=x' } as IncomingMessage;
    expect(proxyTargetOf(req)).toEqual({
      profileId: 'crm',
      path: '/crm/v3/objects/deals',
      search: '?limit=2&after=x',
    });
  });
});
