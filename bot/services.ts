import { join } from 'node:path';
import { AuthorizationEngine } from '../profiles/engine';
import type { EngineSettings } from '../profiles/engineContext';
import { loadKeyRing } from '../profiles/encryptionKeys';
import { DEFAULT_HTTP_POLICY } from '../profiles/oauth/tokenEndpoint';
import { OutboundRequests } from '../profiles/outboundRequests';
import { ProfileCatalog } from '../profiles/profileCatalog';
import { SqliteStore } from '../profiles/store/sqliteStore';
import type { Store } from '../profiles/store/types';
import type { Config } from './config';
import { DEV_PROFILE_IDS, startDevSurface, type DevSurface } from './devSurface';
import type { Logger } from './logger';

/** The engine and what it stands on, built once from the configuration. */
export interface Services {
  store: Store;
  engine: AuthorizationEngine;
  catalog: ProfileCatalog;
  /** The dev-only surface (demo provider, Web Chat, local Direct Line, demo CRM); null outside dev mode. */
  demo: DevSurface | null;
  close(): Promise<void>;
}

/** The store, key ring, catalog and engine alone: what the service and the CLI share. */
export interface EngineServices {
  store: Store;
  engine: AuthorizationEngine;
  catalog: ProfileCatalog;
  close(): Promise<void>;
}

export async function createServices(config: Config, log: Logger): Promise<Services> {
  const demo = config.devFeatures ? await startDevSurface(config, log) : null;
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
export function reservedProfileIds(config: Config): readonly string[] {
  return config.devFeatures ? DEV_PROFILE_IDS : [];
}

/**
 * Opens the configured store (SQLite under DATA_DIR, or MONGODB_URI), loads the key ring and the
 * profile files, and builds the engine. Used by `createServices` (with the dev demo profiles) and
 * by the CLI (without them).
 */
export async function createEngine(
  config: Config,
  log: Logger,
  options: { extraSystemProfiles?: readonly unknown[] } = {},
): Promise<EngineServices> {
  // The MongoDB driver is loaded only when it is used (the CLI starts faster without it).
  let store: Store;
  if (config.env.MONGODB_URI) {
    const { MongoStore } = await import('../profiles/store/mongoStore');
    store = await MongoStore.connect(config.env.MONGODB_URI, { dbName: config.env.MONGODB_DB });
  } else {
    store = new SqliteStore(join(config.dataDir, 'authprofiles.db'));
  }
  try {
    const keyRing = loadKeyRing({
      encryptionKeys: config.env.ENCRYPTION_KEYS,
      production: config.production,
      dataDir: config.dataDir,
      log,
    });
    // One rule for saving profiles and for every request made to their URLs (SECURITY.md #41, #42).
    const validation = {
      allowInsecureLoopback: config.devFeatures,
      outboundAllowList: config.outboundAllowList,
    };
    const catalog = new ProfileCatalog({
      store,
      keyRing,
      env: config.raw,
      validation,
      profilesDir: config.profilesDir,
      extraSystemProfiles: options.extraSystemProfiles ?? [],
    });
    const files = catalog.loadFiles();
    if (files.length > 0) log.info({ dir: config.profilesDir, files }, 'custom profile files loaded');
    const signinTtlMs = config.env.SIGNIN_TIMEOUT_SECONDS * 1000;
    const settings: EngineSettings = {
      requestTtlMs: signinTtlMs,
      refreshSkewMs: 60_000,
      refreshLeaseMs: 30_000,
      verificationTtlMs: signinTtlMs,
      verificationAttempts: 5,
      http: DEFAULT_HTTP_POLICY,
    };
    const engine = new AuthorizationEngine({
      store,
      keyRing,
      catalog,
      publicUrl: config.publicUrl,
      clock: Date.now,
      log,
      settings,
      outbound: new OutboundRequests(validation),
    });
    return { store, engine, catalog, close: () => store.close() };
  } catch (error) {
    await store.close();
    throw error;
  }
}
