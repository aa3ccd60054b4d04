// Issue 9 point 2: the dev Web Chat's local Direct Line fills a link-less OAuthCard from this
// service's own GetSignInResource, as Azure's Direct Line does for cards from OAuthPrompt without
// showSignInLink; the sign-in then completes with the code, for the anonymous local bot.
import { startTokenServiceWorld, type TokenServiceWorld } from '../support/tokenServiceWorld';

let world: TokenServiceWorld;

beforeAll(async () => {
  world = await startTokenServiceWorld({ localDirectLine: true });
});

afterAll(async () => {
  await world?.close();
});

const OAUTH_CARD = 'application/vnd.microsoft.card.oauth';

async function startConversation(userId: string): Promise<{ id: string; token: string }> {
  const response = await fetch(`${world.base}/v3/directline/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: { id: userId } }),
  });
  expect(response.status).toBe(201);
  const body = (await response.json()) as { conversationId: string; token: string };
  return { id: body.conversationId, token: body.token };
}

/** What a bot posts on its serviceUrl (the local Direct Line's connector side). */
async function botSends(conversationId: string, attachments: unknown[]): Promise<void> {
  const response = await fetch(
    `${world.base}/v3/directline/connector/v3/conversations/${encodeURIComponent(conversationId)}/activities`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', from: { id: 'bot' }, attachments }),
    },
  );
  expect(response.status).toBe(200);
}

async function cardButtons(conversation: { id: string; token: string }): Promise<{ value?: string }[][]> {
  const response = await fetch(`${world.base}/v3/directline/conversations/${conversation.id}/activities`, {
    headers: { authorization: `Bearer ${conversation.token}` },
  });
  const body = (await response.json()) as {
    activities: { attachments?: { contentType: string; content: { buttons: { value?: string }[] } }[] }[];
  };
  return body.activities.flatMap((activity) =>
    (activity.attachments ?? []).filter((a) => a.contentType === OAUTH_CARD).map((a) => a.content.buttons),
  );
}

const card = (connectionName: string, value?: string) => ({
  contentType: OAUTH_CARD,
  content: {
    text: 'Please sign in',
    connectionName,
    buttons: [{ type: 'signin', title: 'Sign in', ...(value ? { value } : {}) }],
  },
});

test('a link-less OAuthCard gets our sign-in link; consent and the code give the local bot the token', async () => {
  const conversation = await startConversation('dl_alice');
  await botSends(conversation.id, [card('crm')]);
  const [buttons] = await cardButtons(conversation);
  const link = buttons?.[0]?.value as string;
  expect(link).toMatch(new RegExp(`^${world.base}/oauth/start/req_`));

  const code = await world.consent(link, 'alice');
  const query = new URLSearchParams({
    userId: 'dl_alice',
    connectionName: 'crm',
    channelId: 'webchat',
    code,
  });
  // The bot behind the local Direct Line is the anonymous local bot of the token service.
  const token = await fetch(`${world.base}/api/usertoken/GetToken?${query}`);
  expect(token.status).toBe(200);
  expect(((await token.json()) as { token: string }).token).toEqual(expect.any(String));
});

test('a card that has a link, or names an unknown connection, is delivered as the bot sent it', async () => {
  const conversation = await startConversation('dl_bob');
  await botSends(conversation.id, [card('crm', 'https://bot.example/own-link'), card('no-such-connection')]);
  const [own, unknown] = await cardButtons(conversation);
  expect(own?.[0]?.value).toBe('https://bot.example/own-link');
  expect(unknown?.[0]?.value).toBeUndefined();
});
