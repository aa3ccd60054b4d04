import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeUnreadable, KeyRing, secretContext, type UnreadableSecret } from './encryption';
import { AuthProfilesError, isAuthProfilesError, type FieldIssue } from './errors';
import { sha256 } from './ids';
import {
  invalidProfile,
  parseProfile,
  parseSystemOverride,
  type ProfileDocument,
  type ProfileValidationOptions,
  type SystemOverride,
  type UrlField,
} from './profileSchema';
import type { Store, StoredProfile } from './store/types';
import bundledSystemProfiles from './systemCatalog.json';
import { renderUrlTemplate } from './urlTemplates';

/** A profile ready for use: defaults applied, credentials resolved (in memory only). */
export interface Profile extends ProfileDocument {
  refreshUrl: string;
  /** Where its definition came from, last layer wins: bundled → file → store. */
  source: 'system' | 'file' | 'store';
  /** Store version of a stored custom profile or override (0 when not stored). */
  storedVersion: number;
  /** What is missing before the profile can be used (e.g. `clientId`, `variableValues.subdomain`). */
  missing: string[];
  /** Changes whenever the client, scopes or endpoints change (SECURITY.md #39). */
  fingerprint: string;
  /**
   * The stored client secret cannot be opened with this service's keys (SECURITY.md #52): the profile
   * is listed, editable and deletable, but not usable until the key is back or the secret is set again.
   */
  unreadableSecret: UnreadableSecret | null;
}

export interface ProfileCatalogOptions {
  store: Store;
  keyRing: KeyRing;
  /** Where `clientIdEnv`/`clientSecretEnv` are looked up; passed in, never read from process.env here. */
  env: Readonly<Record<string, string | undefined>>;
  validation: ProfileValidationOptions;
  /** Folder of custom profile files (`*.json`), read once by `loadFiles()`. */
  profilesDir?: string;
  /** Extra bundled profiles (e.g. the dev-mode demo provider). */
  extraSystemProfiles?: readonly unknown[];
}

export class ProfileCatalog {
  private readonly system: Map<string, ProfileDocument>;
  private readonly files = new Map<string, { custom?: ProfileDocument; override?: SystemOverride }>();
  /**
   * The last profile each id resolved to, with the stored record it came from (as JSON). Every turn,
   * start and callback resolves its profile, and resolving parses the stored document, opens the
   * secret and hashes the fingerprint (issue 12: about a third of a millisecond per request turn).
   * The store is still read every time, so an edit on any instance is seen at once (SECURITY.md #39):
   * only the work from an unchanged record to its profile is reused. The bundled and file layers,
   * the environment and the key ring do not change after start (`loadFiles` clears this).
   */
  private readonly resolved = new Map<string, { record: string; profile: Profile }>();

  constructor(private readonly options: ProfileCatalogOptions) {
    this.system = bundledProfiles(options.validation, options.extraSystemProfiles ?? []);
  }

  /** Reads and validates every profile file; throws naming the file and field of the first bad one. */
  loadFiles(): string[] {
    const dir = this.options.profilesDir;
    if (!dir) return [];
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((name) => name.endsWith('.json'))
        .sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    this.files.clear();
    this.resolved.clear();
    for (const name of names) {
      const path = join(dir, name);
      withContext(path, () => {
        let raw: unknown;
        try {
          raw = JSON.parse(readFileSync(path, 'utf8'));
        } catch (error) {
          throw invalidProfile([
            { path: '(file)', message: `is not valid JSON (${(error as Error).message})` },
          ]);
        }
        const parsed = parseProfileFile(raw, this.system, this.options.validation);
        if ('override' in parsed) {
          this.files.set(parsed.override.id, { override: parsed.override });
        } else {
          if (this.files.has(parsed.custom.id))
            throw invalidProfile([{ path: 'id', message: `"${parsed.custom.id}" is defined twice` }]);
          this.files.set(parsed.custom.id, { custom: parsed.custom });
        }
      });
    }
    return names;
  }

  get validationOptions(): ProfileValidationOptions {
    return this.options.validation;
  }

  isSystem(id: string): boolean {
    return this.system.has(id);
  }

  async get(id: string): Promise<Profile> {
    const profile = await this.find(id);
    if (!profile) throw new AuthProfilesError('profile-not-found', `no profile "${id}"`);
    return profile;
  }

  async find(id: string): Promise<Profile | null> {
    return this.resolveReusing(id, await this.options.store.profiles.get(id));
  }

  async list(): Promise<Profile[]> {
    const stored = new Map((await this.options.store.profiles.list()).map((record) => [record.id, record]));
    const ids = new Set([...this.system.keys(), ...this.files.keys(), ...stored.keys()]);
    // Profiles deleted since (by any instance) leave the reuse map here.
    for (const id of this.resolved.keys()) if (!ids.has(id)) this.resolved.delete(id);
    const profiles: Profile[] = [];
    for (const id of [...ids].sort()) {
      const profile = this.resolveReusing(id, stored.get(id) ?? null);
      if (profile) profiles.push(profile);
    }
    return profiles;
  }

  /**
   * `resolve`, reusing the last result while the stored record is the same. The profile is frozen,
   * deeply, because every caller shares it: none may change what the next one reads.
   */
  private resolveReusing(id: string, stored: StoredProfile | null): Profile | null {
    const record = stored === null ? '' : JSON.stringify(stored);
    const last = this.resolved.get(id);
    if (last?.record === record) return last.profile;
    const profile = this.resolve(id, stored);
    if (profile) this.resolved.set(id, { record, profile: deepFreeze(profile) });
    else this.resolved.delete(id);
    return profile;
  }

  /**
   * The profile a stored record would produce, without storing it: the admin API checks an edit
   * with this before writing, so a record that would not load (an override whose merged result is
   * invalid, an env reference in a stored custom profile) is refused and never persisted.
   */
  preview(id: string, record: StoredProfile): Profile {
    const profile = this.resolve(id, record);
    if (!profile) throw new AuthProfilesError('profile-not-found', `no profile "${id}"`);
    return profile;
  }

  /** The definition layers of one id, for the admin API to merge an update onto. */
  private resolve(id: string, stored: StoredProfile | null): Profile | null {
    const system = this.system.get(id);
    const file = this.files.get(id);
    let document: ProfileDocument | undefined;
    let source: Profile['source'];
    if (stored) withContext(`stored profile ${id}`, () => assertStoredShape(stored, system !== undefined));
    if (stored?.kind === 'custom') {
      document = withContext(`stored profile ${id}`, () => {
        const parsed = parseProfile(stored.document, this.options.validation);
        if (parsed.kind !== 'custom')
          throw invalidProfile([{ path: 'kind', message: 'must be "custom" in a stored profile' }]);
        return parsed;
      });
      source = 'store';
    } else if (file?.custom) {
      document = { ...file.custom };
      source = 'file';
    } else if (system) {
      document = { ...system };
      source = 'system';
    } else {
      return null;
    }
    if (system && file?.override) {
      document = applyOverride(document, file.override);
      source = 'file';
    }
    if (system && stored?.kind === 'override') {
      const override = withContext(`stored override ${id}`, () => parseSystemOverride(stored.document));
      document = applyOverride(document, override);
      const merged = document;
      withContext(`stored override ${id}`, () => revalidate(merged, this.options.validation));
      source = 'store';
    }
    const env = this.options.env;
    const clientId = document.clientId ?? (document.clientIdEnv ? env[document.clientIdEnv] : undefined);
    let clientSecret =
      document.clientSecret ?? (document.clientSecretEnv ? env[document.clientSecretEnv] : undefined);
    // Only a stored layer that was applied brings its secret (an override record left behind for an
    // id that is no longer bundled must not lend its secret to a file profile of the same id).
    const storedApplied = stored?.kind === 'custom' || (system !== undefined && stored?.kind === 'override');
    let unreadableSecret: UnreadableSecret | null = null;
    if (stored?.clientSecret && storedApplied) {
      try {
        clientSecret = this.options.keyRing.decrypt(
          stored.clientSecret,
          secretContext('profiles', id, 'clientSecret'),
        );
      } catch (error) {
        // One secret sealed with a key this service lacks (a rotation run with another key ring)
        // must not take every list, page and chat down with it: the profile shows why it is not
        // usable, naming the key id, and stays editable and deletable (SECURITY.md #52).
        if (
          !isAuthProfilesError(error, 'encryption-key-unknown') &&
          !isAuthProfilesError(error, 'decryption-failed')
        )
          throw error;
        clientSecret = undefined;
        unreadableSecret = {
          keyId: KeyRing.keyIdOf(stored.clientSecret) ?? null,
          code: error.code === 'encryption-key-unknown' ? 'encryption-key-unknown' : 'decryption-failed',
        };
      }
    }
    const refreshUrl = document.refreshUrl ?? document.tokenUrl;
    const missing: string[] = [];
    if (!clientId) missing.push(document.clientIdEnv ? `clientId (set ${document.clientIdEnv})` : 'clientId');
    if (unreadableSecret) missing.push(`clientSecret (${describeUnreadable(unreadableSecret)})`);
    else if (!clientSecret)
      missing.push(
        document.clientSecretEnv ? `clientSecret (set ${document.clientSecretEnv})` : 'clientSecret',
      );
    for (const name of Object.keys(document.variables)) {
      if (document.variableValues[name] === undefined) missing.push(`variableValues.${name}`);
    }
    const profile: Profile = {
      ...document,
      clientId,
      clientSecret,
      refreshUrl,
      source,
      storedVersion: stored?.version ?? 0,
      missing,
      fingerprint: '',
      unreadableSecret,
    };
    profile.fingerprint = fingerprintOf(profile);
    return profile;
  }
}

/** The bundled system profiles (plus `extra`), parsed and keyed by id. */
export function bundledProfiles(
  validation: ProfileValidationOptions,
  extra: readonly unknown[] = [],
): Map<string, ProfileDocument> {
  const system = new Map<string, ProfileDocument>();
  for (const [index, raw] of [...bundledSystemProfiles, ...extra].entries()) {
    const profile = withContext(`system profile #${index + 1}`, () =>
      parseProfile({ ...(raw as object), kind: 'system' }, validation),
    );
    system.set(profile.id, profile);
  }
  return system;
}

/**
 * Judges the content of one profile file: an override when its id is a bundled profile, a custom
 * profile otherwise. Throws `invalid-profile` naming the fields (used by `loadFiles` and the CLI's
 * `validate`, so both agree).
 */
export function parseProfileFile(
  raw: unknown,
  system: ReadonlyMap<string, ProfileDocument>,
  validation: ProfileValidationOptions,
): { override: SystemOverride } | { custom: ProfileDocument } {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  const bundled = typeof id === 'string' ? system.get(id) : undefined;
  if (bundled) {
    const override = parseSystemOverride(raw);
    // Judge the result like any profile, so an override cannot bring in what a profile may not
    // hold (a reserved authorization parameter, an unsafe variable value, a non-https checkUrl).
    revalidate(applyOverride(bundled, override), validation);
    return { override };
  }
  const custom = parseProfile(raw, validation);
  if (custom.kind !== 'custom')
    throw invalidProfile([{ path: 'kind', message: 'must be "custom" in a profile file' }]);
  return { custom };
}

/** Runs the full profile validation on a merged (system + overrides) document; throws naming the field. */
function revalidate(document: ProfileDocument, validation: ProfileValidationOptions): void {
  parseProfile(document, validation);
}

/**
 * What a stored record may hold: the client secret only as ciphertext in `clientSecret`, never in
 * the document (SECURITY.md #27); no custom record that replaces a bundled profile wholesale (its
 * URLs are not overridable); and no environment-variable references in stored custom profiles,
 * which come from the admin API and could otherwise name any variable of the process
 * (`clientSecretEnv: "ENCRYPTION_KEYS"`) and send it to a token URL of their choosing.
 */
function assertStoredShape(stored: StoredProfile, isSystem: boolean): void {
  const issues: FieldIssue[] = [];
  if (isSystem && stored.kind === 'custom') {
    issues.push({ path: 'kind', message: 'a bundled profile can only be overridden, not replaced' });
  }
  if (stored.document.clientSecret !== undefined) {
    issues.push({ path: 'clientSecret', message: 'must be stored encrypted, not in the document' });
  }
  if (stored.kind === 'custom') {
    for (const field of ['clientIdEnv', 'clientSecretEnv'] as const) {
      if (stored.document[field] !== undefined) {
        issues.push({ path: field, message: 'is only allowed in bundled profiles and profile files' });
      }
    }
  }
  if (issues.length > 0) throw invalidProfile(issues);
}

function applyOverride(base: ProfileDocument, override: SystemOverride): ProfileDocument {
  const merged: ProfileDocument = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (key === 'id' || key === 'kind' || value === undefined) continue;
    if (key === 'variableValues' || key === 'authorizationParams') {
      Object.assign(merged, { [key]: { ...(base[key] as object), ...(value as object) } });
    } else {
      Object.assign(merged, { [key]: value });
    }
  }
  return merged;
}

/** Tokens obtained under one fingerprint must not be used once it changes (SECURITY.md #39). */
export function fingerprintOf(profile: ProfileDocument): string {
  const values = Object.entries(profile.variableValues).sort(([a], [b]) => a.localeCompare(b));
  return sha256(
    JSON.stringify([
      profile.clientId ?? null,
      [...profile.scopes].sort(),
      [...profile.optionalScopes].sort(),
      profile.authorizationUrl,
      profile.tokenUrl,
      profile.refreshUrl ?? profile.tokenUrl,
      // Every other endpoint a token or the client's credentials are sent to, too (SECURITY.md #39).
      profile.revocationUrl ?? null,
      profile.apiBaseUrl ?? null,
      profile.checkUrl ?? null,
      profile.issuer ?? null,
      profile.tokenEndpointAuthMethod,
      values,
      // Appended only when set, so the fingerprints of profiles without it (and their connections)
      // stay what they were: it decides where tokens are sent.
      ...(profile.apiBaseUrlFrom === undefined ? [] : [`apiBaseUrlFrom=${profile.apiBaseUrlFrom}`]),
    ]),
  );
}

/** Renders one of the profile's URL templates with its variable values. */
export function profileUrl(profile: Profile, field: UrlField): string | undefined {
  const source = profile[field];
  return source === undefined ? undefined : renderUrlTemplate(source, field, profile.variableValues);
}

/** Throws `invalid-configuration` when the profile cannot be used yet, naming what is missing. */
export function assertUsable(
  profile: Profile,
): asserts profile is Profile & { clientId: string; clientSecret: string } {
  if (profile.missing.length > 0) {
    throw new AuthProfilesError(
      'invalid-configuration',
      `profile "${profile.id}" is not configured: missing ${profile.missing.join(', ')}`,
      { status: 503 },
    );
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function withContext<T>(where: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (isAuthProfilesError(error)) {
      throw new AuthProfilesError(error.code, `${where}: ${error.message}`, {
        issues: error.issues,
        status: error.status,
      });
    }
    throw error;
  }
}
