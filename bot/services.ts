import { openEngine, type OpenedEngine } from '../profiles';
import type { Config } from './config';
// The only import of the dev surface (eslint.config.mjs). Types only here: the module itself is loaded
// with import() in dev mode alone, so production never loads bot/dev/ or its dev dependencies
// (Web Chat, oidc-provider), which a pruned install does not have (.ci/production-install).
import type { DevSurface } from './devSurface';
import type { Logger } from './logger';

/** The engine and what it stands on, built once from the configuration. */
export interface Services extends EngineServices {
  /** The dev-only surface (demo provider, Web Chat, local Direct Line, demo CRM); null outside dev mode. */
  demo: DevSurface | null;
}

/**
 * The engine alone, on the configured store: what the service and the CLI share. `store` and
 * `catalog` are there for tests; the service goes through `engine` (lint-enforced).
 */
export type EngineServices = OpenedEngine;

export async function createServices(config: Config, log: Logger): Promise<Services> {
  const demo = config.devFeatures ? await (await loadDevSurface()).startDevSurface(config, log) : null;
  try {
    const core = await createEngine(config, log, { extraSystemProfiles: demo?.systemProfiles ?? [] });
    return {
      ...core,
      demo,
      async close() {
        await demo?.stop();
        await core.close();
      },
    };
  } catch (error) {
    await demo?.stop();
    throw error;
  }
}

/** Profile ids the service bundles in this configuration beyond the catalog (dev mode's demo profiles). */
export async function reservedProfileIds(config: Config): Promise<readonly string[]> {
  return config.devFeatures ? (await loadDevSurface()).DEV_PROFILE_IDS : [];
}

function loadDevSurface(): Promise<typeof import('./devSurface')> {
  return import('./devSurface');
}

/**
 * The engine (profiles/openEngine.ts) from this service's configuration: SQLite under DATA_DIR or
 * MONGODB_URI, the key ring, the profile files. Used by `createServices` (with the dev demo profiles)
 * and by the CLI (without them).
 */
export function createEngine(
  config: Config,
  log: Logger,
  options: { extraSystemProfiles?: readonly unknown[] } = {},
): Promise<EngineServices> {
  return openEngine({
    store: config.env.MONGODB_URI
      ? { kind: 'mongodb', uri: config.env.MONGODB_URI, dbName: config.env.MONGODB_DB }
      : { kind: 'sqlite', dataDir: config.dataDir },
    encryptionKeys: config.env.ENCRYPTION_KEYS,
    production: config.production,
    dataDir: config.dataDir,
    publicUrl: config.publicUrl,
    env: config.raw,
    profilesDir: config.profilesDir,
    extraSystemProfiles: options.extraSystemProfiles ?? [],
    allowInsecureLoopback: config.devFeatures,
    outboundAllowList: config.outboundAllowList,
    signinTtlMs: config.env.SIGNIN_TIMEOUT_SECONDS * 1000,
    log,
  });
}
