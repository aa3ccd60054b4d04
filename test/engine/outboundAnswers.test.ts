// What OutboundRequests.fetch answers (issue 12: a buffered answer instead of a WHATWG Response built
// per call): it reads like a Response for everything the engine uses, against a real HTTP server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutboundRequests } from '../../profiles/outboundRequests';

let server: http.Server;
let base: string;
const outbound = new OutboundRequests({ allowInsecureLoopback: true });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/bom') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"ü"}')]));
      return;
    }
    if (req.url === '/odd') {
      res.writeHead(600, { 'content-type': 'text/plain' });
      res.end('odd');
      return;
    }
    if (req.url === '/empty') {
      res.writeHead(204, { 'x-trace': 'n1' });
      res.end();
      return;
    }
    res.writeHead(req.url === '/busy' ? 429 : 200, 'Custom Reason', [
      ['content-type', 'application/json; charset=utf-8'],
      ['retry-after', '7'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ name: 'Zoë 漢字', n: 3 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const get = (path: string, method: 'GET' | 'HEAD' = 'GET') =>
  outbound.fetch(outbound.check(`${base}${path}`, 'apiBaseUrl'), { method });

test('status, reason, ok, headers (repeated ones too) and the body as text, JSON or bytes', async () => {
  const answer = await get('/ok');
  expect([answer.status, answer.statusText, answer.ok]).toEqual([200, 'Custom Reason', true]);
  expect(answer.headers.get('Content-Type')).toBe('application/json; charset=utf-8');
  expect(answer.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  expect(answer.bodyUsed).toBe(false);
  expect(await answer.json()).toEqual({ name: 'Zoë 漢字', n: 3 });
  expect(answer.bodyUsed).toBe(true);

  const busy = await get('/busy');
  expect([busy.status, busy.ok, busy.headers.get('retry-after')]).toEqual([429, false, '7']);
  expect(Buffer.from(await busy.arrayBuffer()).toString('utf8')).toBe('{"name":"Zoë 漢字","n":3}');
});

test('a body is read once, whichever way, as a Response is', async () => {
  const twice = await get('/ok');
  await twice.text();
  await expect(twice.text()).rejects.toThrow(TypeError);
  await expect(twice.json()).rejects.toThrow(TypeError);

  const streamed = await get('/ok');
  const reader = streamed.body?.getReader();
  const chunk = await reader?.read();
  expect(Buffer.from(chunk?.value ?? []).toString('utf8')).toContain('Zoë');
  expect((await reader?.read())?.done).toBe(true);
  await expect(streamed.text()).rejects.toThrow(TypeError);

  const cancelled = await get('/ok');
  await cancelled.body?.cancel();
  expect(cancelled.bodyUsed).toBe(true);
  await expect(cancelled.text()).rejects.toThrow(TypeError);
});

test('no body for 204 and HEAD: null stream, empty text', async () => {
  const empty = await get('/empty');
  expect([empty.status, empty.body, empty.headers.get('x-trace')]).toEqual([204, null, 'n1']);
  expect(await empty.text()).toBe('');
  const head = await get('/ok', 'HEAD');
  expect([head.status, head.body]).toEqual([200, null]);
});

test('a body that starts with a UTF-8 byte-order mark reads as a Response reads it', async () => {
  expect(await (await get('/bom')).json()).toEqual({ a: 'ü' });
  expect(await (await get('/bom')).text()).toBe('{"a":"ü"}');
  // The reference: what fetch's own Response makes of the same bytes.
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"ü"}')]);
  expect(await new Response(bytes).text()).toBe('{"a":"ü"}');
});

test('a status outside 200–599 is a failed call, as a Response cannot carry it', async () => {
  await expect(get('/odd')).rejects.toThrow(/status 600/);
});

test('asking whether there is a body spends nothing; reading it does', async () => {
  const answer = await get('/ok');
  expect(answer.body).not.toBeNull();
  await new Promise((resolve) => setImmediate(resolve));
  expect(answer.bodyUsed).toBe(false);
  expect(await answer.json()).toEqual({ name: 'Zoë 漢字', n: 3 });
});
