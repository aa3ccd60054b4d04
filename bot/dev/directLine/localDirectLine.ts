// Dev-mode stand-in for the Direct Line 3.0 service, so `npm start` gives a working Web Chat with no Azure.
// It has two faces on the same restify server:
//  - client side, /v3/directline/...: the REST calls botframework-directlinejs makes with webSocket: false
//    (start, poll, post, token refresh);
//  - bot side, /v3/directline/connector/v3/conversations/...: the Bot Connector API that the bot's
//    CloudAdapter calls back on, because every activity we deliver names that URL as its serviceUrl.
// Everything lives in this process's memory, bounded, and dies with it: development only, one instance.
import type { Server } from 'restify';
import type { SignInLinkSource } from './oauthCardLinks';
import { registerClientRoutes } from './clientRoutes';
import { CONNECTOR_PATH, registerConnectorRoutes } from './connectorRoutes';
import { Conversations, type DirectLineLog, type LocalDirectLineLimits } from './conversations';

export type { LocalDirectLineLimits } from './conversations';

const DEFAULT_LIMITS: LocalDirectLineLimits = {
  maxConversations: 1000,
  maxActivitiesPerConversation: 500,
  maxBytesPerConversation: 1_000_000,
  idleMs: 60 * 60 * 1000,
  botWaitMs: 15_000,
};

export interface LocalDirectLineOptions {
  publicUrl: string;
  /** The bot's messaging endpoint, e.g. `${PUBLIC_URL}/api/messages`; activities are POSTed to it. */
  botEndpoint: string;
  log: DirectLineLog;
  limits?: Partial<LocalDirectLineLimits>;
  /** Fills link-less OAuthCards from a token service, as Azure's Direct Line does (oauthCardLinks.ts). */
  signInLinks?: SignInLinkSource;
}

export interface LocalDirectLine {
  /** Conversations currently held in memory. */
  readonly conversations: number;
  /** The serviceUrl the bot sees on activities from this channel. */
  readonly serviceUrl: string;
  /** Forgets every conversation, aborts deliveries in flight; the routes then answer 503. */
  close(): void;
}

export function registerLocalDirectLine(server: Server, options: LocalDirectLineOptions): LocalDirectLine {
  const limits: LocalDirectLineLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const serviceUrl = `${options.publicUrl.replace(/\/+$/, '')}${CONNECTOR_PATH}`;
  const conversations = new Conversations(limits, options.log, serviceUrl, options.botEndpoint);
  registerClientRoutes(server, conversations);
  registerConnectorRoutes(server, conversations, options.signInLinks);
  return {
    get conversations() {
      return conversations.byId.size;
    },
    serviceUrl,
    close: () => conversations.close(),
  };
}
