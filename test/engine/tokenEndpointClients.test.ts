// The simple-oauth2 client of a token endpoint is built once per endpoint and client and reused
// (issue 12: building one validates its options with joi on every call), and a changed client secret
// or endpoint gets a client of its own (the cache key must not let an old secret be sent).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutboundRequests } from '../../profiles/outboundRequests';
import { DEFAULT_HTTP_POLICY, requestRefreshToken } from '../../profiles/oauth/tokenEndpoint';
// The mocked module (jest.mock below is hoisted above the imports): counts the clients built.
import { AuthorizationCode } from 'simple-oauth2';

jest.mock('simple-oauth2', () => {
  const actual = jest.requireActual<typeof import('simple-oauth2')>('simple-oauth2');
  return {
    ...actual,
    AuthorizationCode: jest.fn(
      (options: ConstructorParameters<typeof actual.AuthorizationCode>[0]) =>
        new actual.AuthorizationCode(options),
    ),
  };
});

let server: http.Server;
let base = '';
const seen: { path: string; authorization: string }[] = [];

beforeAll(async () => {
  // A real token endpoint on loopback that answers every refresh and records who called it.
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization ?? '' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'at', token_type: 'bearer', expires_in: 60 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

test('one client per endpoint and client secret; a new secret or endpoint is used at once', async () => {
  const outbound = new OutboundRequests({ allowInsecureLoopback: true });
  const client = {
    clientId: 'app',
    clientSecret: 'first-secret',
    authMethod: 'client_secret_basic' as const,
  };
  const built = AuthorizationCode as unknown as jest.Mock;
  built.mockClear();
  const refresh = (url: string, secret: string) =>
    requestRefreshToken(
      outbound.check(url, 'tokenUrl'),
      { ...client, clientSecret: secret },
      'rt',
      DEFAULT_HTTP_POLICY,
      outbound,
    );
  await refresh(`${base}/token`, 'first-secret');
  await refresh(`${base}/token`, 'first-secret');
  await refresh(`${base}/token`, 'first-secret');
  expect(built).toHaveBeenCalledTimes(1);
  await refresh(`${base}/token`, 'second-secret');
  await refresh(`${base}/other-token`, 'second-secret');
  expect(built).toHaveBeenCalledTimes(3);
  expect(seen.map((call) => [call.path, call.authorization])).toEqual([
    ['/token', basic('app', 'first-secret')],
    ['/token', basic('app', 'first-secret')],
    ['/token', basic('app', 'first-secret')],
    ['/token', basic('app', 'second-secret')],
    ['/other-token', basic('app', 'second-secret')],
  ]);
});
