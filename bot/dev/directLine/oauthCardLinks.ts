/**
 * What Azure's Direct Line does with an OAuthCard that has no link (OAuthPrompt leaves the link out
 * outside Teams unless the bot sets `showSignInLink: true`): it asks the token service for the
 * sign-in resource of the card's connection and puts the link in the card's button. The dev-mode
 * local Direct Line does the same against this service's own GetSignInResource (bot/tokenService/).
 */

const OAUTH_CARD = 'application/vnd.microsoft.card.oauth';

/** Fetches a sign-in link for a connection and a base64 TokenExchangeState; undefined when refused. */
export type SignInLinkSource = (connectionName: string, state: string) => Promise<string | undefined>;

/** Who the conversation is with, as the token-exchange state names it. */
export interface CardConversation {
  conversationId: string;
  channelId: string;
  serviceUrl: string;
  user: { id: string; name?: string } | undefined;
  bot: { id: string; name?: string };
}

/**
 * Fills the link of every link-less OAuthCard button in the activity, in place; returns how many.
 * A card for which the token service gives no link is left as the bot sent it.
 */
export async function fillOAuthCardLinks(
  activity: Record<string, unknown>,
  conversation: CardConversation,
  source: SignInLinkSource,
): Promise<number> {
  if (!conversation.user || !Array.isArray(activity.attachments)) return 0;
  let filled = 0;
  for (const attachment of activity.attachments as unknown[]) {
    if (!isObject(attachment) || attachment.contentType !== OAUTH_CARD || !isObject(attachment.content))
      continue;
    const card = attachment.content;
    const button = Array.isArray(card.buttons) ? card.buttons[0] : undefined;
    if (typeof card.connectionName !== 'string' || !isObject(button) || button.value) continue;
    // The state botframework-connector's UserTokenClient.createTokenExchangeState would build.
    const state = Buffer.from(
      JSON.stringify({
        connectionName: card.connectionName,
        conversation: {
          activityId: typeof activity.replyToId === 'string' ? activity.replyToId : undefined,
          user: conversation.user,
          bot: conversation.bot,
          conversation: { id: conversation.conversationId },
          channelId: conversation.channelId,
          serviceUrl: conversation.serviceUrl,
        },
        // Unauthenticated in dev: the card's bot is the anonymous local bot of the token service.
        msAppId: '',
      }),
    ).toString('base64');
    const link = await source(card.connectionName, state);
    if (link) {
      button.value = link;
      filled += 1;
    }
  }
  return filled;
}

/** Asks the service's own token API over HTTP, from loopback, as the anonymous local bot. */
export function tokenServiceSignInLinks(serviceBaseUrl: string): SignInLinkSource {
  return async (_connectionName, state) => {
    const response = await fetch(
      `${serviceBaseUrl}/api/botsignin/GetSignInResource?${new URLSearchParams({ state })}`,
      { signal: AbortSignal.timeout(10_000) },
    );
    if (!response.ok) {
      await response.arrayBuffer();
      return undefined;
    }
    const body = (await response.json()) as { signInLink?: unknown };
    return typeof body.signInLink === 'string' ? body.signInLink : undefined;
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
