// Token endpoint calls (code exchange, refresh, revocation) reuse kept-alive connections per origin,
// as API calls do (issue 12: each one opened a new connection, in production a TLS handshake), with
// the same address guard on every new connection (SECURITY.md #42) and a bounded idle time.
//
// Connections are counted where they arrive: a TCP relay on 127.0.0.1 in front of a real oidc-provider
// (test/support/authServer.ts), a plain HTTP server, and a TLS server with a self-signed certificate
// for the production rule. The production-rule test maps a public-looking name with a FAKE resolver:
// there is no DNS server here to publish such records.
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_HTTP_POLICY, requestRefreshToken } from '../../profiles/oauth/tokenEndpoint';
import { parseOutboundAllowList } from '../../profiles/outboundAddress';
import {
  IDLE_CONNECTION_MS,
  OutboundRequests,
  type ResolvedAddress,
  type Resolver,
} from '../../profiles/outboundRequests';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { selfSignedCertificate } from '../support/selfSignedCertificate';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import {
  consentInBrowser,
  createHarness,
  PUBLIC_URL,
  serverProfile,
  type Harness,
} from '../support/engineHarness';

const CLIENT = {
  client_id: 'keepalive',
  client_secret: 'keepalive-secret-value-1',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

interface Counted {
  url: string;
  /** Connections accepted so far. */
  connections: () => number;
  close: () => Promise<void>;
}

/** A TCP relay on 127.0.0.1 to `target` that counts the connections it accepts (one upstream each). */
async function countingRelay(target: number): Promise<Counted> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections += 1;
    const upstream = net.connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A real HTTP server answering every request with a token, which keeps idle connections for a minute. */
async function tokenServer(): Promise<Counted & { closedByClient: () => number }> {
  let connections = 0;
  let closedByClient = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'at', token_type: 'bearer', expires_in: 60 }));
    });
  });
  // Longer than the client's idle time, so only the client can end an idle connection here.
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: net.Socket) => {
    connections += 1;
    socket.on('end', () => (closedByClient += 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    closedByClient: () => closedByClient,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('against a real oidc-provider', () => {
  let server: RunningAuthServer;
  let relay: Counted;
  let harness: Harness;

  beforeAll(async () => {
    server = await startAuthServer({
      clients: [{ ...CLIENT, redirect_uris: [`${PUBLIC_URL}/oauth/callback/relayed`] }],
      scopes: 'crm.objects.deals.read',
      accessTokenTtl: 300,
    });
    relay = await countingRelay(server.port);
    // The browser talks to the provider itself; the service's token and revocation calls go
    // through the counting relay.
    harness = await createHarness({
      profiles: [
        serverProfile(server, 'relayed', CLIENT, {
          tokenUrl: `${relay.url}/token`,
          revocationUrl: `${relay.url}/token/revocation`,
        }),
      ],
    });
  });

  afterAll(async () => {
    await harness?.close();
    await relay?.close();
    await server?.stop();
  });

  test('two code exchanges, two refreshes and two sign-outs to one token endpoint use one TCP connection', async () => {
    const profile = await harness.engine.catalog.get('relayed');
    const subjects: Subject[] = ['first', 'second'].map((userId) => ({
      kind: 'user',
      channelId: 'webchat',
      userId,
    }));
    // Both users through the provider's pages first, so the exchanges follow each other closely.
    const callbacks = [];
    for (const subject of subjects) {
      const created = await harness.engine.createAuthorizationRequest({
        profile,
        subject,
        createdBy: 'user:test',
        requireVerification: false,
      });
      callbacks.push(await consentInBrowser(harness, created.requestId));
    }
    const before = await server.stats();

    for (const { callbackUrl, binding } of callbacks) {
      const outcome = await harness.engine.completeCallback({
        profileId: 'relayed',
        query: callbackUrl.search.slice(1),
        browserBinding: binding,
      });
      expect(outcome.kind).toBe('connected');
    }
    expect(relay.connections()).toBe(1);

    for (const subject of subjects) {
      const current = await harness.engine.getToken(profile, subject);
      if (!current.ok) throw new Error(`no token: ${current.reason}`);
      // The API "rejected" it: refreshed at once, whatever its expiry says.
      const refreshed = await harness.engine.getToken(profile, subject, {
        rejectedAccessToken: current.accessToken,
      });
      expect(refreshed).toMatchObject({ ok: true });
      if (refreshed.ok) expect(refreshed.accessToken).not.toBe(current.accessToken);
    }
    expect(relay.connections()).toBe(1);

    for (const subject of subjects) {
      expect(await harness.engine.signOut(profile, subject, 'user:test')).toEqual({
        revokedAtProvider: true,
        providerError: null,
      });
      expect(await harness.store.connections.get('relayed', subjectKey(subject))).toBeNull();
    }

    const after = await server.stats();
    expect(after.token.authorization_code - before.token.authorization_code).toBe(2);
    expect(after.token.refresh_token - before.token.refresh_token).toBe(2);
    expect(after.revocation - before.revocation).toBe(4);
    expect(relay.connections()).toBe(1);
  });
});

describe('against a plain HTTP token endpoint', () => {
  let endpoint: Awaited<ReturnType<typeof tokenServer>>;
  const client = {
    clientId: 'app',
    clientSecret: 'app-secret-value',
    authMethod: 'client_secret_basic' as const,
  };

  beforeEach(async () => {
    endpoint = await tokenServer();
  });

  afterEach(async () => {
    await endpoint.close();
  });

  test('a refresh and an API call to the same origin share one connection', async () => {
    const outbound = new OutboundRequests({ allowInsecureLoopback: true });
    await requestRefreshToken(
      outbound.check(`${endpoint.url}/oauth/v1/token`, 'refreshUrl'),
      client,
      'rt',
      DEFAULT_HTTP_POLICY,
      outbound,
    );
    const answer = await outbound.fetch(outbound.check(`${endpoint.url}/crm/v3/owners`, 'apiBaseUrl'));
    expect(await answer.json()).toMatchObject({ access_token: 'at' });
    expect(endpoint.connections()).toBe(1);
  });

  test('a connection idle for longer than IDLE_CONNECTION_MS is closed by the service and not reused', async () => {
    const outbound = new OutboundRequests({ allowInsecureLoopback: true });
    const refresh = () =>
      requestRefreshToken(
        outbound.check(`${endpoint.url}/token`, 'refreshUrl'),
        client,
        'rt',
        DEFAULT_HTTP_POLICY,
        outbound,
      );
    expect(await refresh()).toMatchObject({ access_token: 'at' });
    expect(await refresh()).toMatchObject({ access_token: 'at' });
    expect(endpoint.connections()).toBe(1);

    await sleep(IDLE_CONNECTION_MS + 500);

    expect(endpoint.closedByClient()).toBe(1);
    expect(await refresh()).toMatchObject({ access_token: 'at' });
    expect(endpoint.connections()).toBe(2);
  }, 15_000);
});

describe('production rule (SECURITY.md #42): every new connection is guarded, a kept one is not re-pointed', () => {
  let certificate = '';
  let secure: https.Server;
  let port = 0;
  let connections = 0;

  beforeAll(async () => {
    const generated = selfSignedCertificate('auth.provider.example', 'DNS:auth.provider.example');
    certificate = generated.certificate;
    secure = https.createServer({ cert: certificate, key: generated.key }, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    secure.keepAliveTimeout = 60_000;
    secure.on('secureConnection', () => (connections += 1));
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', () => resolve()));
    port = (secure.address() as AddressInfo).port;
  });

  afterAll(async () => {
    secure.closeAllConnections();
    await new Promise<void>((resolve) => secure.close(() => resolve()));
  });

  test('the name is resolved and checked once per connection; re-pointed at 10.0.0.5 it gets no new one', async () => {
    const table: Record<string, string[]> = { 'auth.provider.example': ['127.0.0.1'] };
    const asked: string[] = [];
    // FAKE resolver (see the top of the file).
    const resolve: Resolver = async (hostname) => {
      asked.push(hostname);
      return (table[hostname] ?? []).map((address): ResolvedAddress => ({
        address,
        family: net.isIP(address),
      }));
    };
    // The operator allowed 127.0.0.1 (the address), not the name: an answer of 10.0.0.5 is refused.
    const outbound = new OutboundRequests(
      { allowInsecureLoopback: false, outboundAllowList: parseOutboundAllowList(['127.0.0.1']) },
      { resolve },
    );
    const url = outbound.check(`https://auth.provider.example:${port}/token`, 'tokenUrl');
    // The token endpoint client's requests use this agent (profiles/oauth/tokenEndpoint.ts); the
    // request adds only the test certificate, which Wreck has no option for.
    const get = () =>
      new Promise<string>((done, fail) => {
        const request = https.request(
          url.href,
          { agent: outbound.agentFor(url), ca: certificate },
          (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
            response.on('end', () => done(body));
          },
        );
        request.on('error', fail);
        request.end();
      });

    expect(await get()).toBe('ok');
    expect(await get()).toBe('ok');
    expect({ connections, asked: asked.length }).toEqual({ connections: 1, asked: 1 });

    table['auth.provider.example'] = ['10.0.0.5'];
    // The kept connection still goes to 127.0.0.1, the address that was allowed when it was opened.
    expect(await get()).toBe('ok');
    expect({ connections, asked: asked.length }).toEqual({ connections: 1, asked: 1 });

    await sleep(IDLE_CONNECTION_MS + 500);

    await expect(get()).rejects.toMatchObject({
      code: 'outbound-refused',
      message: expect.stringContaining(
        'auth.provider.example resolves to 10.0.0.5, a private address',
      ) as unknown,
    });
    expect({ connections, asked: asked.length }).toEqual({ connections: 1, asked: 2 });
  }, 15_000);
});
