// An agent as a Microsoft 365 Agents SDK (@microsoft/agents-hosting) developer writes it, run as its
// own process (test/support/agentsSdkProcess.ts starts it) and configured ONLY by the environment the
// SDK itself reads: TOKEN_SERVICE_ENDPOINT (oauth/customUserTokenAPI.js), the connection settings of
// loadAuthConfigFromEnv (clientId, clientSecret, tenantId, authorityEndpoint; none = anonymous) and the
// user-authorization handler `AgentApplication__UserAuthorization__handlers__signin__settings__*`
// (app/auth/authorizationManager.js). The sign-in itself is the SDK's own AzureBotAuthorization
// (OAuthCard, 6-digit code, signin/verifyState); the agent's own code only answers after it.
//
// Commands (message text):
//   deals             a route guarded by the `signin` handler: signs in first, then answers with the
//                     token's fingerprint (`token sha256:<16 hex>`; the token itself never goes into chat)
//   logout            app.authorization.signOut
//   raw token <conn> [code]   the turn's UserTokenClient.getUserToken
//   raw link <conn>   UserTokenClient.getSignInResource   →  `link <signInLink>`
//   raw logout <conn> UserTokenClient.signOut
//   status            UserTokenClient.getTokenStatus      →  `status <JSON>`
import { createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AgentApplication,
  authorizeJWT,
  CloudAdapter,
  loadAuthConfigFromEnv,
  MemoryStorage,
  type Request,
  type TurnContext,
  type TurnState,
  type UserTokenClient,
  type WebResponse,
} from '@microsoft/agents-hosting';

const HANDLER = 'signin';

const fingerprint = (token: string | undefined): string =>
  token ? `token sha256:${createHash('sha256').update(token).digest('hex').slice(0, 16)}` : 'no token';

const authConfig = loadAuthConfigFromEnv();
const adapter = new CloudAdapter(authConfig);
adapter.onTurnError = async (context, error) => {
  // One line per failed turn, for the test to read (no secrets: the SDK's errors carry none).
  process.stdout.write(`${JSON.stringify({ turnError: String(error) })}\n`);
  await context.sendActivity(`turn error: ${String(error)}`);
};
const app = new AgentApplication<TurnState>({ adapter, storage: new MemoryStorage() });

const userTokenClient = (context: TurnContext): UserTokenClient =>
  context.turnState.get<UserTokenClient>(adapter.UserTokenClientKey);

app.onMessage(
  'deals',
  async (context) => {
    const { token } = await app.authorization.getToken(context, HANDLER);
    await context.sendActivity(`signed in; ${fingerprint(token)}`);
  },
  [HANDLER],
);

app.onMessage('logout', async (context, state) => {
  await app.authorization.signOut(context, state, HANDLER);
  await context.sendActivity('You are signed out.');
});

app.onMessage('status', async (context) => {
  const { from, channelId } = context.activity;
  const statuses = await userTokenClient(context).getTokenStatus(from?.id ?? '', channelId ?? '');
  await context.sendActivity(`status ${JSON.stringify(statuses)}`);
});

app.onMessage(/^raw /, async (context) => {
  const [, operation, connectionName = '', code] = (context.activity.text ?? '').trim().split(/\s+/);
  const { activity } = context;
  const userId = activity.from?.id ?? '';
  const channelId = activity.channelId ?? '';
  const client = userTokenClient(context);
  if (operation === 'token') {
    const { token } = await client.getUserToken(connectionName, channelId, userId, code);
    await context.sendActivity(fingerprint(token));
  } else if (operation === 'link') {
    const resource = await client.getSignInResource(
      authConfig.clientId ?? '',
      connectionName,
      activity.getConversationReference(),
      activity.relatesTo,
    );
    await context.sendActivity(`link ${resource.signInLink}`);
  } else if (operation === 'logout') {
    await client.signOut(userId, connectionName, channelId);
    await context.sendActivity('raw signed out');
  }
});

// The SDK is written for express (its WebResponse is express's status/send/end); express is not a
// dependency here, so node:http with those four methods, sending as express does, hosts it.
function webResponse(res: ServerResponse): WebResponse {
  const web: WebResponse = {
    status(code) {
      res.statusCode = code;
      return web;
    },
    setHeader(name, value) {
      res.setHeader(name, value);
      return web;
    },
    send(body) {
      if (res.writableEnded) return web;
      if (body === undefined || typeof body === 'string') {
        res.end(body);
      } else {
        if (!res.hasHeader('content-type')) res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      }
      return web;
    },
    end() {
      if (!res.writableEnded) res.end();
      return web;
    },
    get headersSent() {
      return res.headersSent;
    },
    get writableEnded() {
      return res.writableEnded;
    },
  };
  return web;
}

const verifyCaller = authorizeJWT(authConfig);
const server = createServer((req, res) => {
  let raw = '';
  req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
  req.on('end', () => {
    void (async () => {
      const web = webResponse(res);
      if (req.method !== 'POST' || req.url !== '/api/messages') {
        web.status(404).send({ error: 'not found' });
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        web.status(400).send({ error: 'the body must be a JSON activity' });
        return;
      }
      const request: Request = { body, headers: req.headers, method: req.method };
      // What the SDK's own hosting does (agents-hosting-express startServer): verify the caller, then process.
      let verified = false;
      await verifyCaller(request, web, () => (verified = true));
      if (verified) await adapter.process(request, web, (context) => app.run(context));
    })().catch((error: unknown) => {
      process.stdout.write(`${JSON.stringify({ hostError: String(error) })}\n`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ listening: (server.address() as AddressInfo).port })}\n`);
});
