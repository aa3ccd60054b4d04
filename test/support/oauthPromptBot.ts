// A bot as any Bot Framework developer writes it, from Microsoft's own parts only: botbuilder's
// CloudAdapter + ConfigurationBotFrameworkAuthentication, botbuilder-dialogs' OAuthPrompt, and a
// TeamsActivityHandler (which hands Teams' `signin/verifyState` to the dialog). The token service is
// chosen by configuration alone — `OAuthUrl` and each prompt's `connectionName` — and every call to
// it goes through botframework-connector's UserTokenClient, signed with a token MSAL obtains from the
// bot's app registration (here the FAKE Entra of ./fakeEntra, the one thing that cannot run here).
import { ConfidentialClientApplication } from '@azure/msal-node';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  ConversationState,
  MemoryStorage,
  TeamsActivityHandler,
  type TokenResponse,
  type TurnContext,
} from 'botbuilder';
import { DialogSet, DialogTurnStatus, OAuthPrompt } from 'botbuilder-dialogs';
import { MsalServiceClientCredentialsFactory, type UserTokenClient } from 'botframework-connector';
import type { AddressInfo } from 'node:net';
import restify from 'restify';
import type { FakeEntra } from './fakeEntra';

/**
 * What a bot sets to use another token service. With any of these set, botbuilder's
 * BotFrameworkAuthenticationFactory takes ALL of them as given (unset ones stay empty instead of
 * defaulting to the public cloud), so OAuthUrl alone breaks the bot: the public-cloud values come along.
 */
export function publicCloudSettings(oauthUrl: string): Record<string, string> {
  return {
    OAuthUrl: oauthUrl,
    ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
    ToChannelFromBotOAuthScope: 'https://api.botframework.com',
    ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
    ToBotFromChannelOpenIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
    ToBotFromEmulatorOpenIdMetadataUrl:
      'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
    CallerId: 'urn:botframework:azure',
  };
}

export interface SignInResult {
  userId: string;
  connectionName: string;
  token: TokenResponse | undefined;
}

export interface OAuthPromptBot {
  appId: string;
  endpoint: string;
  /** What each OAuthPrompt ended with (the test reads the token here; the bot never posts it). */
  results: SignInResult[];
  /** Errors of failed turns (onTurnError), e.g. the token service refusing the bot. */
  errors: Error[];
  statuses: unknown[];
  close(): Promise<void>;
}

export async function startOAuthPromptBot(options: {
  appId: string;
  secret: string;
  /** The token service: botbuilder's OAuthUrl setting. */
  oauthUrl: string;
  entra: FakeEntra;
  /** The channel's OpenID metadata (the fake channel stands in for Azure's). */
  channelOpenIdMetadataUrl: string;
  connectionNames: string[];
}): Promise<OAuthPromptBot> {
  const msal = new ConfidentialClientApplication({
    auth: {
      clientId: options.appId,
      clientSecret: options.secret,
      authority: options.entra.authority,
      knownAuthorities: [options.entra.authorityHost],
    },
    system: { customAgentOptions: { ca: options.entra.certificate } },
  });
  const adapter = new CloudAdapter(
    new ConfigurationBotFrameworkAuthentication(
      {
        MicrosoftAppId: options.appId,
        ...publicCloudSettings(options.oauthUrl),
        // The one change for the test: the FAKE channel's keys instead of login.botframework.com's.
        ToBotFromChannelOpenIdMetadataUrl: options.channelOpenIdMetadataUrl,
      },
      new MsalServiceClientCredentialsFactory(options.appId, msal),
    ),
  );
  const results: SignInResult[] = [];
  const errors: Error[] = [];
  const statuses: unknown[] = [];
  adapter.onTurnError = async (_context, error) => {
    errors.push(error);
  };

  const conversationState = new ConversationState(new MemoryStorage());
  const dialogs = new DialogSet(conversationState.createProperty('dialogState'));
  for (const connectionName of options.connectionNames) {
    dialogs.add(
      new OAuthPrompt(`login-${connectionName}`, {
        connectionName,
        title: 'Sign in',
        text: `Please sign in to ${connectionName}`,
        // Outside Teams OAuthPrompt leaves the link out unless told (Azure's channel fills it in).
        showSignInLink: true,
        timeout: 5 * 60_000,
      }),
    );
  }

  const runDialog = async (context: TurnContext): Promise<void> => {
    const dc = await dialogs.createContext(context);
    const text = (context.activity.text ?? '').trim();
    const [command, connectionName = options.connectionNames[0] as string] = text.split(/\s+/);
    if (command === 'login') {
      await dc.cancelAllDialogs();
      const started = await dc.beginDialog(`login-${connectionName}`);
      if (started.status === DialogTurnStatus.complete) await finish(context, connectionName, started.result);
    } else if (command === 'logout') {
      await (dialogs.find(`login-${connectionName}`) as OAuthPrompt).signOutUser(context);
      await context.sendActivity('You are signed out.');
    } else if (command === 'status') {
      const client = context.turnState.get<UserTokenClient>(adapter.UserTokenClientKey);
      statuses.push(await client.getTokenStatus(context.activity.from.id, context.activity.channelId, ''));
    } else {
      const active = dc.activeDialog?.id;
      const turn = await dc.continueDialog();
      if (turn.status === DialogTurnStatus.complete && active) {
        await finish(context, active.replace(/^login-/, ''), turn.result);
      }
    }
    await conversationState.saveChanges(context);
  };
  const finish = async (context: TurnContext, connectionName: string, token: unknown): Promise<void> => {
    results.push({
      userId: context.activity.from.id,
      connectionName,
      token: token as TokenResponse | undefined,
    });
    await context.sendActivity(
      token ? `You are signed in to ${connectionName}.` : 'Sign-in did not complete.',
    );
  };

  class Bot extends TeamsActivityHandler {
    constructor() {
      super();
      this.onMessage(async (context, next) => {
        await runDialog(context);
        await next();
      });
    }
    // What Microsoft's Teams auth samples do: let the waiting OAuthPrompt take the code.
    protected override async handleTeamsSigninVerifyState(context: TurnContext): Promise<void> {
      await runDialog(context);
    }
  }
  const bot = new Bot();

  const server = restify.createServer();
  server.use(restify.plugins.bodyParser({ mapParams: false }));
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req, res, (context) => bot.run(context));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    appId: options.appId,
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`,
    results,
    errors,
    statuses,
    async close() {
      server.server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
