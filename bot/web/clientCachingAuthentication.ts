import { ConfigurationBotFrameworkAuthentication, type Activity } from 'botbuilder';
import { LRUCache } from 'lru-cache';

type ClaimsIdentity = Parameters<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>[0];
type ConnectorFactory = ReturnType<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>;
type ConnectorClient = Awaited<ReturnType<ConnectorFactory['create']>>;
type UserTokenClient = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['createUserTokenClient']>>;
type AuthenticateRequestResult = Awaited<
  ReturnType<ConfigurationBotFrameworkAuthentication['authenticateRequest']>
>;

/** Distinct (bot, channel endpoint) pairs kept; a bot talks to a handful, the bound is for odd traffic. */
const MAX_CONNECTOR_CLIENTS = 500;
const MAX_USER_TOKEN_CLIENTS = 50;

/**
 * The Bot Framework authentication of `CloudAdapter`, with its connector and user-token clients kept
 * between turns. botbuilder's own builds a new `ConnectorClient` (HTTP pipeline, serializer,
 * credentials) and a new `UserTokenClient` for every turn and every proactive message (issue 12: a
 * measurable part of each turn's CPU); the older `BotFrameworkAdapter` kept them in a cache keyed the
 * same way as here. A client is made for one bot app id (the token's audience, as botbuilder reads it),
 * one service URL and one audience, and holds no per-turn or per-user state, so reusing it changes
 * nothing of who is called or with which credentials.
 */
export class ClientCachingAuthentication extends ConfigurationBotFrameworkAuthentication {
  private readonly connectors = new LRUCache<string, Promise<ConnectorClient>>({
    max: MAX_CONNECTOR_CLIENTS,
  });
  private readonly userTokenClients = new LRUCache<string, Promise<UserTokenClient>>({
    max: MAX_USER_TOKEN_CLIENTS,
  });

  override async authenticateRequest(
    activity: Activity,
    authHeader: string,
  ): Promise<AuthenticateRequestResult> {
    const result = await super.authenticateRequest(activity, authHeader);
    if (!result.connectorFactory) return result;
    return { ...result, connectorFactory: this.caching(result.claimsIdentity, result.connectorFactory) };
  }

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.caching(claimsIdentity, super.createConnectorFactory(claimsIdentity));
  }

  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    const key = appIdOf(claimsIdentity);
    return this.remember(this.userTokenClients, key, () => super.createUserTokenClient(claimsIdentity));
  }

  private caching(claimsIdentity: ClaimsIdentity, inner: ConnectorFactory): ConnectorFactory {
    const appId = appIdOf(claimsIdentity);
    const factory = {
      create: (serviceUrl: string, audience?: string): Promise<ConnectorClient> =>
        this.remember(this.connectors, `${appId}\n${serviceUrl}\n${audience ?? ''}`, () =>
          inner.create(serviceUrl, audience),
        ),
    };
    return factory as ConnectorFactory;
  }

  private remember<T extends object>(
    cache: LRUCache<string, Promise<T>>,
    key: string,
    make: () => Promise<T>,
  ): Promise<T> {
    const known = cache.get(key);
    if (known) return known;
    const made = make();
    cache.set(key, made);
    // A failed creation is not kept: the next turn tries again.
    made.catch(() => {
      if (cache.get(key) === made) cache.delete(key);
    });
    return made;
  }
}

/** The bot app id botbuilder builds a turn's clients for: the token's audience, else its appid claim. */
function appIdOf(claimsIdentity: ClaimsIdentity): string {
  return claimsIdentity.getClaimValue('aud') ?? claimsIdentity.getClaimValue('appid') ?? '';
}
