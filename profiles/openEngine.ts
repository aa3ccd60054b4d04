import { join } from 'node:path';
import { loadKeyRing } from './encryptionKeys';
import { AuthorizationEngine } from './engine';
import type { EngineLogger, EngineSettings } from './engineContext';
import { DEFAULT_HTTP_POLICY } from './oauth/tokenEndpoint';
import type { OutboundAllowList } from './outboundAddress';
import { OutboundRequests } from './outboundRequests';
import { ProfileCatalog } from './profileCatalog';
import type { Store } from './store/types';

/** Where the engine keeps its records: a SQLite file under `dataDir`, or a MongoDB database. */
export type StoreLocation =
  { kind: 'sqlite'; dataDir: string } | { kind: 'mongodb'; uri: string; dbName: string };

export interface EngineOptions {
  store: StoreLocation;
  /** `ENCRYPTION_KEYS`; without it (dev only) a key is generated under `dataDir`. */
  encryptionKeys: string | undefined;
  production: boolean;
  dataDir: string;
  /** Base of redirect URIs; never derived from request headers (SECURITY.md #13). */
  publicUrl: string;
  /** Values profile files may name (`clientIdEnv`, `clientSecretEnv`, template variables). */
  env: Readonly<Record<string, string | undefined>>;
  profilesDir: string;
  /** Profiles bundled beside the system catalog (dev mode's demo profiles). */
  extraSystemProfiles?: readonly unknown[];
  /** http on loopback is accepted (dev mode only). */
  allowInsecureLoopback: boolean;
  outboundAllowList: OutboundAllowList;
  /** How long a sign-in may take, from the link to the verification code. */
  signinTtlMs: number;
  log: EngineLogger;
  clock?: () => number;
}

/** The engine and what it stands on. `store` and `catalog` are for tests and tools; hosts use `engine`. */
export interface OpenedEngine {
  engine: AuthorizationEngine;
  store: Store;
  catalog: ProfileCatalog;
  close(): Promise<void>;
}

/**
 * Opens the store, loads the key ring and the profile files, and builds the engine: the one way a
 * host (the service, the CLI) gets an engine.
 */
export async function openEngine(options: EngineOptions): Promise<OpenedEngine> {
  const store = await openStore(options.store);
  try {
    const keyRing = loadKeyRing({
      encryptionKeys: options.encryptionKeys,
      production: options.production,
      dataDir: options.dataDir,
      log: options.log,
    });
    // One rule for saving profiles and for every request made to their URLs (SECURITY.md #41, #42).
    const validation = {
      allowInsecureLoopback: options.allowInsecureLoopback,
      outboundAllowList: options.outboundAllowList,
    };
    const catalog = new ProfileCatalog({
      store,
      keyRing,
      env: options.env,
      validation,
      profilesDir: options.profilesDir,
      extraSystemProfiles: options.extraSystemProfiles ?? [],
    });
    const files = catalog.loadFiles();
    if (files.length > 0)
      options.log.info({ dir: options.profilesDir, files }, 'custom profile files loaded');
    const settings: EngineSettings = {
      requestTtlMs: options.signinTtlMs,
      refreshSkewMs: 60_000,
      refreshLeaseMs: 30_000,
      verificationTtlMs: options.signinTtlMs,
      verificationAttempts: 5,
      http: DEFAULT_HTTP_POLICY,
    };
    const engine = new AuthorizationEngine({
      store,
      keyRing,
      catalog,
      publicUrl: options.publicUrl,
      clock: options.clock ?? Date.now,
      log: options.log,
      settings,
      outbound: new OutboundRequests(validation),
    });
    return { engine, store, catalog, close: () => store.close() };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** The MongoDB driver is loaded only when it is used (a SQLite service and the CLI start faster without it). */
async function openStore(location: StoreLocation): Promise<Store> {
  if (location.kind === 'mongodb') {
    const { MongoStore } = await import('./store/mongoStore');
    return MongoStore.connect(location.uri, { dbName: location.dbName });
  }
  const { SqliteStore } = await import('./store/sqliteStore');
  return new SqliteStore(join(location.dataDir, 'authprofiles.db'));
}
