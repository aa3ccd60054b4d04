// Outgoing API calls reuse their connection (issue 12), only to the same host and port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutboundRequests } from '../../profiles/outboundRequests';

interface Counted {
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}

async function countingServer(): Promise<Counted> {
  let connections = 0;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('sequential calls to one API share a connection; another host and port gets its own', async () => {
  const one = await countingServer();
  const two = await countingServer();
  try {
    const outbound = new OutboundRequests({ allowInsecureLoopback: true });
    for (let i = 0; i < 3; i += 1) {
      const answer = await outbound.fetch(
        outbound.check(`${one.url}/crm/v3/objects/deals?i=${i}`, 'apiBaseUrl'),
      );
      expect(await answer.json()).toEqual({ ok: true });
    }
    expect(one.connections()).toBe(1);
    const other = await outbound.fetch(outbound.check(`${two.url}/x`, 'apiBaseUrl'));
    expect(other.status).toBe(200);
    expect(two.connections()).toBe(1);
    expect(one.connections()).toBe(1);
  } finally {
    await one.close();
    await two.close();
  }
});
