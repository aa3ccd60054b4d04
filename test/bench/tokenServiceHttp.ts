// (a') GetToken of the Bot Framework token service over HTTP (caller JWT verified each call), next to
// an empty route on the same server (the HTTP floor) and the direct getToken of the same connection.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request, Response } from 'restify';
import { saveConnection } from '../../profiles/connections';
import { generateKeySpec } from '../../profiles/encryption';
import { silentLogger } from '../../profiles/engineContext';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { createHarness } from '../support/engineHarness';
import {
  informational,
  OFFLINE_PROFILE,
  round,
  row,
  summarize,
  timeCalls,
  tokenSet,
  type SectionResult,
} from './benchFigures';

const HTTP_OPS = 4_000;
const ROUNDS = 4;

export async function tokenServiceHttpSection(): Promise<SectionResult> {
  // Loaded here, not at the top: a bench child process importing benchFigures must not carry them.
  const { exportJWK, generateKeyPair, SignJWT } = await import('jose');
  const { default: pino } = await import('pino');
  const { default: restify } = await import('restify');
  const { createCallerAuthenticator } = await import('../../bot/tokenService/callerAuthentication');
  const { registerTokenService } = await import('../../bot/tokenService/routes');
  const harness = await createHarness({
    profiles: [OFFLINE_PROFILE],
    encryptionKeys: generateKeySpec('bench1'),
  });
  harness.context.log = silentLogger;
  const profile = await harness.engine.catalog.get('bench');
  const botAppId = 'bench-bot';
  const subject: Subject = { kind: 'user', channelId: 'bench', userId: 'http-reader', botAppId };
  await saveConnection(harness.context, profile, subjectKey(subject), tokenSet('http', harness.clock()), {
    createdBy: 'user:bench',
    requireVerification: false,
  });
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256' };
  const keys = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => keys.listen(0, '127.0.0.1', () => resolve()));
  const server = restify.createServer();
  registerTokenService(server, {
    engine: harness.engine,
    log: pino({ level: 'silent' }),
    authenticate: createCallerAuthenticator({
      allowedAppIds: [botAppId],
      issuers: ['https://bench.invalid/'],
      audience: 'https://api.botframework.com',
      jwksUrl: `http://127.0.0.1:${(keys.address() as AddressInfo).port}/keys`,
      allowAnonymousLoopback: false,
    }),
  });
  // The floor: an empty route on the same server, through the same client.
  server.get('/bench/empty', async (_req: Request, res: Response) => {
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  try {
    const bearer = await new SignJWT({ appid: botAppId, ver: '1.0' })
      .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
      .setIssuer('https://bench.invalid/')
      .setAudience('https://api.botframework.com')
      .setExpirationTime('1h')
      .sign(privateKey);
    const query = new URLSearchParams({
      userId: 'http-reader',
      connectionName: profile.id,
      channelId: 'bench',
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}/api/usertoken/GetToken?${query}`;
    const overHttp = async () => {
      const response = await fetch(url, { headers: { authorization: `Bearer ${bearer}` } });
      if (response.status !== 200) throw new Error(`GetToken answered ${response.status}`);
      await response.arrayBuffer();
    };
    const direct = () => harness.engine.getToken(profile, subject);
    const emptyUrl = `http://127.0.0.1:${port}/bench/empty`;
    const empty = async () => {
      await (await fetch(emptyUrl)).arrayBuffer();
    };
    const emptySamples: number[] = [];
    const httpSamples: number[] = [];
    const directSamples: number[] = [];
    let emptySeconds = 0;
    let httpSeconds = 0;
    let directSeconds = 0;
    await timeCalls(500, overHttp, []);
    await timeCalls(500, empty, []);
    await timeCalls(2_000, direct, []);
    for (let i = 0; i < ROUNDS; i += 1) {
      httpSeconds += await timeCalls(HTTP_OPS / ROUNDS, overHttp, httpSamples);
      emptySeconds += await timeCalls(HTTP_OPS / ROUNDS, empty, emptySamples);
      directSeconds += await timeCalls(HTTP_OPS / ROUNDS, direct, directSamples);
    }
    const getTokenHttp = summarize(httpSamples, httpSeconds);
    const emptyHttpRoute = summarize(emptySamples, emptySeconds);
    const getTokenDirect = summarize(directSamples, directSeconds);
    const ratio = round(getTokenHttp.opsPerSecond / getTokenDirect.opsPerSecond, 3);
    return {
      name: 'overHttp',
      lines: [
        "(a') token service GetToken over HTTP (JWT caller) vs direct getToken, same connection",
        row('', ['ops/s', 'p50 µs', 'p99 µs']),
        row(
          'GET /api/usertoken/GetToken',
          [getTokenHttp.opsPerSecond, getTokenHttp.p50Us, getTokenHttp.p99Us],
          informational,
        ),
        row(
          'floor: empty route, same server and client',
          [emptyHttpRoute.opsPerSecond, emptyHttpRoute.p50Us, emptyHttpRoute.p99Us],
          informational,
        ),
        row(
          'engine.getToken (baseline)',
          [getTokenDirect.opsPerSecond, getTokenDirect.p50Us, getTokenDirect.p99Us],
          informational,
        ),
        row('ratio over HTTP / direct', [ratio], informational),
      ],
      figures: { getTokenHttp, emptyHttpRoute, getTokenDirect, ratio },
      broken: [],
      verdicts: [],
    };
  } finally {
    server.server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    keys.closeAllConnections();
    await new Promise<void>((resolve) => keys.close(() => resolve()));
    await harness.close();
  }
}
