import { join } from 'node:path';
import { AuthorizationEngine } from '../profiles/engine';
import type { EngineSettings } from '../profiles/engineContext';
import { loadKeyRing } from '../profiles/encryptionKeys';
import { DEFAULT_HTTP_POLICY } from '../profiles/oauth/tokenEndpoint';
import { ProfileCatalog } from '../profiles/profileCatalog';
import { MongoStore } from '../profiles/store/mongoStore';
import { SqliteStore } from '../profiles/store/sqliteStore';
import type { Store } from '../profiles/store/types';
import type { Config } from './config';
import { startDemoProvider, type DemoProvider } from './demo/demoProvider';
import type { Logger } from './logger';

/** The engine and what it stands on, built once from the configuration. */
export interface Services {
  store: Store;
  engine: AuthorizationEngine;
  catalog: ProfileCatalog;
  demo: DemoProvider | null;
  close(): Promise<void>;
}

export async function createServices(config: Config, log: Logger): Promise<Services> {
  const store: Store = config.env.MONGODB_URI
    ? await MongoStore.connect(config.env.MONGODB_URI, { dbName: config.env.MONGODB_DB })
    : new SqliteStore(join(config.dataDir, 'authprofiles.db'));
  try {
    const keyRing = loadKeyRing({
      encryptionKeys: config.env.ENCRYPTION_KEYS,
      production: config.production,
      dataDir: config.dataDir,
      log,
    });
    const demo = config.devFeatures ? await startDemoProvider(config, log) : null;
    const catalog = new ProfileCatalog({
      store,
      keyRing,
      env: config.raw,
      validation: { allowInsecureLoopback: config.devFeatures },
      profilesDir: config.profilesDir,
      extraSystemProfiles: demo?.profiles ?? [],
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
    });
    return {
      store,
      engine,
      catalog,
      demo,
      async close() {
        await demo?.stop();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
