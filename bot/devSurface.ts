import type { Server } from 'restify';
import type { Config } from './config';
import { oauthIntrospector, registerDemoCrm } from './dev/demoCrm/demoCrm';
import { DEMO_PROFILE_IDS, startDemoProvider } from './dev/demoProvider';
import { registerLocalDirectLine } from './dev/directLine/localDirectLine';
import { tokenServiceSignInLinks } from './dev/directLine/oauthCardLinks';
import { registerWebChat } from './dev/webChat';
import type { Logger } from './logger';

/**
 * The dev-only surface (bot/dev/), wired in this one file: the only one allowed to import bot/dev/
 * (eslint.config.mjs), and imported only by bot/services.ts when dev features are on, so production
 * never needs to load it. It runs the demo authorization server (whose two profiles the engine bundles
 * in dev mode) and serves the Web Chat page, the local Direct Line and the demo CRM API.
 */
export interface DevSurface {
  /** The demo provider's profiles, bundled like system profiles while dev features are on. */
  systemProfiles: Record<string, unknown>[];
  /** Serves `/` (Web Chat), `/v3/directline/…` (local Direct Line) and, unless DEMO_CRM_URL, `/demo/crm/…`. */
  registerRoutes(server: Server, wiring: { botEndpoint: string }): void;
  stop(): Promise<void>;
}

/** Profile ids the dev-mode service bundles; the CLI, which runs without the demo provider, leaves them alone. */
export const DEV_PROFILE_IDS: readonly string[] = DEMO_PROFILE_IDS;

export async function startDevSurface(config: Config, log: Logger): Promise<DevSurface> {
  const demo = await startDemoProvider(config, log);
  return {
    systemProfiles: demo.profiles,
    registerRoutes(server, wiring) {
      registerLocalDirectLine(server, {
        publicUrl: config.publicUrl,
        botEndpoint: wiring.botEndpoint,
        log,
        // Link-less OAuthCards from OAuthPrompt bots get our own token service's link (loopback).
        signInLinks: tokenServiceSignInLinks(`http://127.0.0.1:${config.port}`),
      });
      registerWebChat(server, { publicUrl: config.publicUrl, botName: 'Auth Profiles' });
      // With DEMO_CRM_URL the demo CRM runs in its own process (bot/dev/demoCrmServer.ts) and is not mounted.
      if (config.env.DEMO_CRM_URL) return;
      registerDemoCrm(server, {
        basePath: '/demo/crm',
        introspect: oauthIntrospector({
          introspectionUrl: `${demo.issuer}/token/introspection`,
          clientId: demo.clientId,
          clientSecret: demo.clientSecret,
        }),
      });
    },
    stop: () => demo.stop(),
  };
}
