// The whole service (createApp) with the real oidc-provider issuing the profiles' tokens, the FAKE
// Entra issuing the calling bots' tokens (tokenServiceWorld.ts), and two real APIs on 127.0.0.1 for
// the profiles to call: a STAND-IN provider API (test/support/standInApi.ts) that records what it got,
// and the dev demo CRM (bot/dev/demoCrm), both checking tokens by introspection at the oidc-provider.
import type { AddressInfo } from 'node:net';
import restify, { type Server } from 'restify';
import { oauthIntrospector, registerDemoCrm } from '../../bot/dev/demoCrm/demoCrm';
import { ORGANIZATION, type Subject } from '../../profiles/subjects';
import { authorize } from '../support/engineHarness';
import { startStandInApi, type StandInApi } from '../support/standInApi';
import {
  BOT_A,
  PROFILE_CLIENT,
  startTokenServiceWorld,
  type TokenServiceWorld,
} from '../support/tokenServiceWorld';

export const ADMIN_KEY = 'actions-api-test-admin-key-0123';
export const DEVELOPER_KEY = 'actions-api-test-developer-key-0123';
export const ALICE_AT_A: Subject = {
  kind: 'user',
  channelId: 'webchat',
  userId: 'alice',
  botAppId: BOT_A.appId,
};

export interface ActionsApiWorld extends TokenServiceWorld {
  api: StandInApi;
  /** The current access token of a connection, read from the engine (to compare, never to send). */
  tokenOf(profileId: string, subject: Subject, connection?: string): Promise<string>;
}

export async function startActionsApiWorld(
  options: {
    profileExtra?: Record<string, unknown>;
    extraProfiles?: { id: string; extra: Record<string, unknown> }[];
    /** Added to the `demo-crm` profile (its base is the demo CRM), e.g. its `actions`. */
    demoCrmExtra?: Record<string, unknown>;
  } = {},
): Promise<ActionsApiWorld> {
  // The authorization server starts with the world, after the APIs whose URLs its profiles name.
  const checks: { introspect?: (token: string) => Promise<{ active: boolean }> } = {};
  const api = await startStandInApi({
    introspect: (token) => checks.introspect?.(token) ?? Promise.resolve({ active: false }),
  });
  const demoServer: Server = restify.createServer();
  await new Promise<void>((resolve) => demoServer.listen(0, '127.0.0.1', () => resolve()));
  const demoBase = `http://127.0.0.1:${(demoServer.address() as AddressInfo).port}/demo/crm`;

  const world = await startTokenServiceWorld({
    env: { ADMIN_API_KEYS: `admin:${ADMIN_KEY},developer:${DEVELOPER_KEY}` },
    profileExtra: { apiBaseUrl: `${api.origin}/v1`, ...options.profileExtra },
    extraProfiles: [
      { id: 'crm-listed', extra: { apiBaseUrl: `${api.origin}/v1`, access: { users: ['webchat:alice'] } } },
      {
        id: 'crm-org-listed',
        extra: {
          apiBaseUrl: `${api.origin}/v1`,
          authorization: 'pre-authorized',
          access: { channels: ['msteams'] },
        },
      },
      { id: 'demo-crm', extra: { apiBaseUrl: demoBase, ...options.demoCrmExtra } },
      ...(options.extraProfiles ?? []),
    ],
  });
  const introspector = oauthIntrospector({
    introspectionUrl: world.authServer.url('/token/introspection'),
    clientId: PROFILE_CLIENT.client_id,
    clientSecret: PROFILE_CLIENT.client_secret,
    audience: world.authServer.url('/api'),
  });
  checks.introspect = introspector;
  registerDemoCrm(demoServer, { basePath: '/demo/crm', introspect: introspector, cacheTtlMs: 0 });

  return {
    ...world,
    api,
    async tokenOf(profileId, subject, connection) {
      const profile = await world.harness.engine.getProfile(profileId);
      const result = await world.harness.engine.getToken(profile, subject, connection ? { connection } : {});
      if (!result.ok) throw new Error(`no token for ${profileId}: ${result.reason}`);
      return result.accessToken;
    },
    async close() {
      await world.close();
      await api.close();
      demoServer.server.closeAllConnections();
      await new Promise<void>((resolve) => demoServer.close(() => resolve()));
    },
  };
}

/** A real consent at the oidc-provider for `subject`, stored as the connection. */
export async function connect(
  world: ActionsApiWorld,
  profileId: string,
  subject: Subject = ALICE_AT_A,
  options: { login?: string; connectionName?: string } = {},
): Promise<void> {
  const { outcome } = await authorize(world.harness, profileId, subject, options);
  if (outcome.kind !== 'connected') throw new Error(`consent for ${profileId} ended ${outcome.kind}`);
}

/** An HTTP answer read whole: its text, and its JSON on demand. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as never };
}

export { ORGANIZATION };
