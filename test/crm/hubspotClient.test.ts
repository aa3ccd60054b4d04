// HubSpotClient against the demo CRM API with real tokens, and against small fake servers (named by
// their behaviour) for the failures the demo does not produce on demand: 429, 5xx, garbage, silence.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  CrmError,
  HubSpotClient,
  parseRetryAfter,
  type CrmTokenSource,
} from '../../dialogs/crm/hubspotClient';
import { OutboundRequests, type CheckedUrl, type OutboundFetch } from '../../profiles/outboundRequests';
import type { TokenResult } from '../../profiles/tokens';
import { ALL_CRM_SCOPES, CONTACTS, startDemoCrmHarness, type DemoCrmHarness } from './demoCrmHarness';

let harness: DemoCrmHarness;
let realToken: string;

beforeAll(async () => {
  harness = await startDemoCrmHarness();
  realToken = (await harness.issueTokens(ALL_CRM_SCOPES)).accessToken;
});

afterAll(async () => {
  await harness?.close();
});

/** The engine's outbound client with the dev rule (these servers are on 127.0.0.1). */
const OUTBOUND = new OutboundRequests({ allowInsecureLoopback: true });

function checked(url: string): CheckedUrl {
  return OUTBOUND.check(url, 'apiBaseUrl');
}

function usable(accessToken: string): TokenResult {
  return {
    ok: true,
    accessToken,
    tokenType: 'Bearer',
    expiresAt: Date.now() + 3_600_000,
    scopes: ALL_CRM_SCOPES.split(' '),
    connectionId: 'conn-test',
  };
}

function tokenSource(first: TokenResult, refreshed: TokenResult = first) {
  const refreshAfterRejection = jest.fn(async (_token: string) => refreshed);
  const source: CrmTokenSource = { get: async () => first, refreshAfterRejection };
  return { source, refreshAfterRejection };
}

/** fetch that records what was sent, then really sends it. */
function recordingFetch() {
  const sent: { url: string; authorization: string | undefined }[] = [];
  const doFetch: OutboundFetch = async (url, init) => {
    const headers = new Headers(init?.headers);
    sent.push({ url: url.href, authorization: headers.get('authorization') ?? undefined });
    return OUTBOUND.fetch(url, init);
  };
  return { sent, doFetch };
}

async function crmErrorOf(promise: Promise<unknown>): Promise<CrmError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CrmError) return error;
    throw error;
  }
  throw new Error('expected a CrmError');
}

describe('HubSpotClient against the demo CRM', () => {
  const client = () =>
    new HubSpotClient({
      baseUrl: checked(harness.crmBaseUrl),
      tokens: tokenSource(usable(realToken)).source,
      fetch: OUTBOUND.fetch,
    });

  it('lists objects with limit, properties and the after cursor', async () => {
    const first = await client().listObjects('contacts', { limit: 5, properties: ['firstname', 'lastname'] });
    expect(first.results.map((r) => r.properties.firstname)).toEqual([
      'Ada',
      'Grace',
      'Alan',
      'Katherine',
      'Linus',
    ]);
    expect(Object.keys(first.results[0]?.properties ?? {}).sort()).toEqual(
      ['createdate', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'].sort(),
    );
    expect(first.paging?.next?.after).toBe('5');
    const second = await client().listObjects('contacts', { limit: 5, after: first.paging?.next?.after });
    expect(second.results[0]?.properties.firstname).toBe('Margaret');
  });

  it('myDeals returns every deal of the shared demo account, soonest close date first', async () => {
    const page = await client().myDeals();
    expect(page.total).toBe(8);
    expect(page.results.map((r) => r.properties.closedate)).toEqual([
      '2025-04-18T00:00:00.000Z',
      '2025-05-30T00:00:00.000Z',
      '2025-06-02T00:00:00.000Z',
      '2025-07-15T00:00:00.000Z',
      '2025-07-31T00:00:00.000Z',
      '2025-08-15T00:00:00.000Z',
      '2025-09-01T00:00:00.000Z',
      '2025-10-10T00:00:00.000Z',
    ]);
    expect(page.results[0]?.properties).toMatchObject({
      dealname: 'Compiler Works training',
      amount: '5400',
    });
  });

  it('myDeals with an owner id filters on hubspot_owner_id', async () => {
    const page = await client().myDeals({ ownerId: '71002' });
    expect(page.results.map((r) => r.id)).toEqual(['3007', '3003', '3005']);
  });

  it('findContacts matches first or last names by word prefix, in either order', async () => {
    expect((await client().findContacts('ada')).results.map((r) => r.id)).toEqual(['1001']);
    expect((await client().findContacts('HAM')).results.map((r) => r.properties.lastname)).toEqual([
      'Hamilton',
    ]);
    expect((await client().findContacts('hopper grace')).results.map((r) => r.id)).toEqual(['1002']);
    expect((await client().findContacts('Nobody')).total).toBe(0);
  });

  it('findContacts refuses an empty name without calling the API', async () => {
    const { sent, doFetch } = recordingFetch();
    const empty = new HubSpotClient({
      baseUrl: checked(harness.crmBaseUrl),
      tokens: tokenSource(usable(realToken)).source,
      fetch: doFetch,
    });
    expect((await crmErrorOf(empty.findContacts('  '))).code).toBe('bad-request');
    expect(sent).toHaveLength(0);
  });

  it('companies() lists companies by name', async () => {
    const page = await client().companies();
    expect(page.total).toBe(6);
    expect(page.results.map((r) => r.properties.name)).toEqual([
      'Analytical Engines Ltd',
      'Bletchley Analytics',
      'Compiler Works',
      'Helix Labs',
      'Orbit Dynamics',
      'Spread Spectrum GmbH',
    ]);
  });

  it('myTickets() lists tickets newest first', async () => {
    const page = await client().myTickets();
    expect(page.total).toBe(6);
    expect(page.results.map((r) => r.id)).toEqual(['4005', '4004', '4003', '4002', '4001', '4006']);
  });
});

describe('token handling', () => {
  it('on 401 refreshes the rejected token once and retries with the new one', async () => {
    const { source, refreshAfterRejection } = tokenSource(usable('garbage-token'), usable(realToken));
    const { sent, doFetch } = recordingFetch();
    const client = new HubSpotClient({
      baseUrl: checked(harness.crmBaseUrl),
      tokens: source,
      fetch: doFetch,
    });

    const page = await client.companies();

    expect(page.total).toBe(6);
    expect(refreshAfterRejection).toHaveBeenCalledTimes(1);
    expect(refreshAfterRejection).toHaveBeenCalledWith('garbage-token');
    expect(sent.map((s) => s.authorization)).toEqual(['Bearer garbage-token', `Bearer ${realToken}`]);
  });

  it('gives up with unauthorized when the refreshed token is rejected too, naming no token', async () => {
    const { source, refreshAfterRejection } = tokenSource(usable('garbage-one'), usable('garbage-two'));
    const { sent, doFetch } = recordingFetch();
    const client = new HubSpotClient({
      baseUrl: checked(harness.crmBaseUrl),
      tokens: source,
      fetch: doFetch,
    });

    const error = await crmErrorOf(client.myDeals());

    expect(error.code).toBe('unauthorized');
    expect(error.details.status).toBe(401);
    expect(refreshAfterRejection).toHaveBeenCalledTimes(1);
    expect(sent).toHaveLength(2);
    expect(`${error.message} ${JSON.stringify(error.details)}`).not.toMatch(/garbage/);
  });

  it('reports not-connected without any HTTP call', async () => {
    const { source } = tokenSource({
      ok: false,
      reason: 'not-connected',
      message: 'not connected to HubSpot',
    });
    const { sent, doFetch } = recordingFetch();
    const client = new HubSpotClient({
      baseUrl: checked(harness.crmBaseUrl),
      tokens: source,
      fetch: doFetch,
    });

    const error = await crmErrorOf(client.myDeals());

    expect(error).toBeInstanceOf(CrmError);
    expect(error.code).toBe('not-connected');
    expect(error.message).toBe('not connected to HubSpot');
    expect(sent).toHaveLength(0);
  });

  it('passes on needs-reauthorization when the refresh after a 401 fails', async () => {
    const { source } = tokenSource(usable('garbage-token'), {
      ok: false,
      reason: 'needs-reauthorization',
      message: 'the connection to HubSpot must be authorized again',
      connectionId: 'conn-test',
    });
    const client = new HubSpotClient({
      baseUrl: checked(harness.crmBaseUrl),
      tokens: source,
      fetch: OUTBOUND.fetch,
    });
    const error = await crmErrorOf(client.companies());
    expect(error.code).toBe('needs-reauthorization');
    expect(error.details.connectionId).toBe('conn-test');
  });

  it('reports a missing scope as forbidden with the API’s message', async () => {
    const contactsOnly = await harness.issueTokens(CONTACTS, 'bob');
    const client = new HubSpotClient({
      baseUrl: checked(harness.crmBaseUrl),
      tokens: tokenSource(usable(contactsOnly.accessToken)).source,
      fetch: OUTBOUND.fetch,
    });
    expect((await client.findContacts('ada')).total).toBe(1);
    const error = await crmErrorOf(client.myDeals());
    expect(error.code).toBe('forbidden');
    expect(error.details.status).toBe(403);
    expect(error.message).toContain('crm.objects.deals.read');
    expect(error.message).not.toContain(contactsOnly.accessToken);
  });
});

// ---------------------------------------------------------------------------------------------------
// Fake CRM servers, one behaviour each

interface FakeCrm {
  baseUrl: string;
  requests: { at: number; authorization: string | undefined }[];
  close(): Promise<void>;
}

type Behaviour = (req: http.IncomingMessage, res: http.ServerResponse, attempt: number) => void;

const ONE_DEAL = JSON.stringify({
  total: 1,
  results: [
    {
      id: '9',
      properties: { dealname: 'Fake deal', amount: 10, hs_object_id: '9', closedate: null },
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
      archived: false,
    },
  ],
});

function answer(
  res: http.ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

async function fakeCrm(behaviour: Behaviour): Promise<FakeCrm> {
  const requests: FakeCrm['requests'] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    requests.push({ at: Date.now(), authorization: req.headers.authorization });
    behaviour(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const rateLimitedOnceCrm = () =>
  fakeCrm((_req, res, attempt) =>
    attempt === 1
      ? answer(res, 429, JSON.stringify({ status: 'error', category: 'RATE_LIMITS' }), { 'retry-after': '1' })
      : answer(res, 200, ONE_DEAL),
  );
const rateLimitedForTwoMinutesCrm = () =>
  fakeCrm((_req, res) =>
    answer(res, 429, '{"status":"error","category":"RATE_LIMITS"}', { 'retry-after': '120' }),
  );
const failsOnceWith503Crm = () =>
  fakeCrm((_req, res, attempt) => (attempt === 1 ? answer(res, 503, '{}') : answer(res, 200, ONE_DEAL)));
const alwaysFailingWith502Crm = () => fakeCrm((_req, res) => answer(res, 502, '<html>bad gateway</html>'));
const malformedResultsCrm = () => fakeCrm((_req, res) => answer(res, 200, '{"results":[{"name":"no id"}]}'));
const notJsonCrm = () =>
  fakeCrm((_req, res) => answer(res, 200, '<html>login</html>', { 'content-type': 'text/html' }));
const silentCrm = () => fakeCrm(() => undefined);
const echoesTokenIn400Crm = () =>
  fakeCrm((req, res) =>
    answer(
      res,
      400,
      JSON.stringify({ status: 'error', message: `bad request from ${req.headers.authorization}` }),
    ),
  );

describe('transient failures', () => {
  let fake: FakeCrm | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const clientFor = (crm: FakeCrm, options: { maxRetryAfterMs?: number; timeoutMs?: number } = {}) =>
    new HubSpotClient({
      baseUrl: checked(crm.baseUrl),
      tokens: tokenSource(usable('fake-token')).source,
      fetch: OUTBOUND.fetch,
      ...options,
    });

  it('waits Retry-After after a 429 and retries once', async () => {
    fake = await rateLimitedOnceCrm();
    const page = await clientFor(fake).myDeals();
    expect(page.results).toEqual([
      {
        id: '9',
        properties: { dealname: 'Fake deal', amount: '10', hs_object_id: '9', closedate: null },
        createdAt: '2025-01-01T00:00:00.000Z',
        updatedAt: '2025-01-01T00:00:00.000Z',
        archived: false,
      },
    ]);
    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('fails with rate-limited at once when Retry-After is longer than it will wait', async () => {
    fake = await rateLimitedForTwoMinutesCrm();
    const started = Date.now();
    const error = await crmErrorOf(clientFor(fake).myDeals());
    expect(error.code).toBe('rate-limited');
    expect(error.details.retryAfterMs).toBe(120_000);
    expect(error.message).toBe('HubSpot is rate limiting requests; try again in 120 s');
    expect(fake.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('honours a smaller maxRetryAfterMs', async () => {
    fake = await rateLimitedOnceCrm();
    const error = await crmErrorOf(clientFor(fake, { maxRetryAfterMs: 500 }).companies());
    expect(error.code).toBe('rate-limited');
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a 5xx once after a short back-off', async () => {
    fake = await failsOnceWith503Crm();
    const page = await clientFor(fake).companies();
    expect(page.total).toBe(1);
    expect(fake.requests).toHaveLength(2);
  });

  it('reports unavailable after a second 5xx', async () => {
    fake = await alwaysFailingWith502Crm();
    const error = await crmErrorOf(clientFor(fake).companies());
    expect(error.code).toBe('unavailable');
    expect(error.details.status).toBe(502);
    expect(fake.requests).toHaveLength(2);
  });

  it('reports unavailable when the API does not answer in time', async () => {
    fake = await silentCrm();
    const error = await crmErrorOf(clientFor(fake, { timeoutMs: 200 }).companies());
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe('HubSpot did not answer within 200 ms');
    expect(fake.requests).toHaveLength(1);
  });

  it('reports unavailable when nothing listens', async () => {
    const gone = await fakeCrm(() => undefined);
    await gone.close();
    const error = await crmErrorOf(clientFor(gone).companies());
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe('HubSpot could not be reached');
  });

  it('reports bad-response for results without ids, naming where', async () => {
    fake = await malformedResultsCrm();
    const error = await crmErrorOf(clientFor(fake).companies());
    expect(error.code).toBe('bad-response');
    expect(error.message).toBe('HubSpot answered an unexpected document (at results.0.id)');
  });

  it('reports bad-response for a body that is not JSON', async () => {
    fake = await notJsonCrm();
    expect((await crmErrorOf(clientFor(fake).companies())).code).toBe('bad-response');
  });

  it('keeps the token out of an error message even when the API echoes it', async () => {
    fake = await echoesTokenIn400Crm();
    const error = await crmErrorOf(clientFor(fake).companies());
    expect(error.code).toBe('bad-request');
    expect(error.message).toBe('HubSpot rejected the request (HTTP 400): bad request from Bearer [redacted]');
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP-dates', () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Sun, 01 Jun 2025 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 01 Jun 2025 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
