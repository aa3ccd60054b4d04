// FAKE Bot Framework channel (Azure Bot Service's side of the Bot Framework protocol), which cannot
// run here. It does what a channel does for a bot: signs each activity it posts to the bot's
// /api/messages with a JWT the bot's CloudAdapter verifies (OpenID metadata + key set with
// endorsements, as login.botframework.com serves them), and receives the bot's replies at its
// serviceUrl (`/v3/conversations/{id}/activities[/{replyToId}]`).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Activity } from 'botbuilder';

export const CHANNEL_ISSUER = 'https://api.botframework.com';

export interface FakeBotChannel {
  /** For the bot's ToBotFromChannelOpenIdMetadataUrl. */
  openIdMetadataUrl: string;
  serviceUrl: string;
  /** Every reply the bot sent, in order. */
  replies: Partial<Activity>[];
  /** Posts an activity to the bot as this channel; returns the bot's HTTP answer. */
  send(
    botEndpoint: string,
    botAppId: string,
    activity: Partial<Activity>,
  ): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export async function startFakeBotChannel(
  channelIds: string[] = ['webchat', 'msteams'],
): Promise<FakeBotChannel> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = {
    ...(await exportJWK(publicKey)),
    kid: 'fake-channel-key-1',
    use: 'sig',
    // The bot accepts a key only for the channels it endorses (botframework-connector endorsementsValidator).
    endorsements: channelIds,
  };
  const replies: Partial<Activity>[] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/v1/.well-known/openidconfiguration') {
      json(200, { issuer: CHANNEL_ISSUER, jwks_uri: `${base}/v1/keys` });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/keys') {
      json(200, { keys: [jwk] });
      return;
    }
    if (req.method === 'POST' && /^\/v3\/conversations\/[^/]+\/activities(\/[^/]+)?$/.test(url.pathname)) {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        replies.push(JSON.parse(body) as Partial<Activity>);
        json(200, { id: `reply-${replies.length}` });
      });
      return;
    }
    json(404, { error: { code: 'NotFound', message: url.pathname } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const serviceUrl = `${base}/`;

  return {
    openIdMetadataUrl: `${base}/v1/.well-known/openidconfiguration`,
    serviceUrl,
    replies,
    async send(botEndpoint, botAppId, activity) {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ serviceurl: serviceUrl })
        .setProtectedHeader({ alg: 'RS256', kid: 'fake-channel-key-1', typ: 'JWT' })
        .setIssuer(CHANNEL_ISSUER)
        .setAudience(botAppId)
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + 3600)
        .sign(privateKey);
      const response = await fetch(botEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ serviceUrl, ...activity }),
      });
      return { status: response.status, body: await response.text() };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
