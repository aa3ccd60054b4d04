// The connector and user-token clients CloudAdapter asks for are built once per (bot, service URL,
// audience) and reused by later turns (issue 12), never shared across service URLs or bots.
import type { Activity } from 'botbuilder';
import { ClientCachingAuthentication } from '../../bot/web/clientCachingAuthentication';

const activity = (serviceUrl: string): Activity =>
  ({
    type: 'message',
    channelId: 'webchat',
    serviceUrl,
    from: { id: 'u' },
    recipient: { id: 'bot' },
    conversation: { id: 'c' },
  }) as Activity;

test('a later turn to the same service URL gets the same connector client; another URL gets its own', async () => {
  // No app id: local dev, where botbuilder accepts unauthenticated requests (anonymous identity).
  const auth = new ClientCachingAuthentication({});
  const first = await auth.authenticateRequest(activity('http://127.0.0.1:1/'), '');
  const second = await auth.authenticateRequest(activity('http://127.0.0.1:1/'), '');
  const a = await first.connectorFactory?.create('http://127.0.0.1:1/', first.audience);
  const b = await second.connectorFactory?.create('http://127.0.0.1:1/', second.audience);
  expect(a).toBeDefined();
  expect(b).toBe(a);
  // A proactive message (continueConversation) builds its factory from the identity: same client.
  const proactive = await auth
    .createConnectorFactory(first.claimsIdentity)
    .create('http://127.0.0.1:1/', first.audience);
  expect(proactive).toBe(a);
  const other = await second.connectorFactory?.create('http://127.0.0.1:2/', second.audience);
  expect(other).not.toBe(a);
  expect((other as unknown as { baseUri?: string }).baseUri).toBe('http://127.0.0.1:2/');
  expect(await auth.createUserTokenClient(first.claimsIdentity)).toBe(
    await auth.createUserTokenClient(second.claimsIdentity),
  );
});

test('clients made for different bot app ids are not shared', async () => {
  const auth = new ClientCachingAuthentication({});
  const { claimsIdentity } = await auth.authenticateRequest(activity('http://127.0.0.1:1/'), '');
  const forBot = (appId: string) =>
    Object.assign(Object.create(Object.getPrototypeOf(claimsIdentity) as object), claimsIdentity, {
      claims: [{ type: 'aud', value: appId }],
    }) as typeof claimsIdentity;
  const one = await auth.createConnectorFactory(forBot('bot-one')).create('http://127.0.0.1:1/', 'x');
  const two = await auth.createConnectorFactory(forBot('bot-two')).create('http://127.0.0.1:1/', 'x');
  expect(two).not.toBe(one);
  expect(await auth.createConnectorFactory(forBot('bot-one')).create('http://127.0.0.1:1/', 'x')).toBe(one);
});
