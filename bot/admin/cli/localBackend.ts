import {
  type Actor,
  type AdminKeys,
  AuthProfilesError,
  type ConnectionFilter,
  type ConnectionSummary,
  isAuthProfilesError,
  ORGANIZATION,
  type Subject,
} from '../../../profiles';
import type { Config } from '../../config';
import {
  actionRow,
  CliError,
  CONNECTION_STATUSES,
  customDocument,
  emptyCounts,
  overrideDocument,
  type ActionRow,
  type Backend,
  type ConnectionQuery,
  type CreatedKey,
  type ExportedProfile,
  type ConnectionImport,
  type ImportResult,
  type KeyRow,
  type OpenedEngine,
  type ProfileRow,
  type RevokeResult,
  type StartedConsent,
} from './common';

const PAGE = 500;

/** What the provider answered, without anything it may have echoed (SECURITY.md #49). */
function providerAnswer(error: {
  provider?: { httpStatus?: number; error: string | null } | undefined;
}): string {
  return error.provider
    ? `HTTP ${error.provider.httpStatus ?? '?'}, ${error.provider.error ?? 'no error code'}`
    : 'no usable answer';
}

/** The CLI on the local store: the same engine the service builds, without the dev demo provider. */
export class LocalBackend implements Backend {
  readonly description: string;
  private readonly keys: AdminKeys;

  constructor(
    private readonly config: Config,
    private readonly services: OpenedEngine,
    private readonly actor: Actor,
    /** Bundled by the running dev-mode service (its demo provider); this CLI runs without them. */
    private readonly reservedProfileIds: readonly string[] = [],
  ) {
    this.description = config.env.MONGODB_URI
      ? `local mongodb store (database ${config.env.MONGODB_DB})`
      : `local sqlite store (${config.dataDir})`;
    this.keys = services.engine.adminKeys([]);
  }

  async listProfiles(): Promise<ProfileRow[]> {
    const { engine } = this.services;
    const rows: ProfileRow[] = [];
    for (const profile of await engine.listProfiles()) {
      const connections = emptyCounts();
      for (const status of CONNECTION_STATUSES) {
        connections[status] = await engine.countConnections({ profileId: profile.id, status });
        connections.total += connections[status];
      }
      rows.push({
        id: profile.id,
        kind: profile.kind,
        source: profile.source,
        displayName: profile.displayName,
        authorization: profile.authorization,
        usable: profile.missing.length === 0,
        missing: profile.missing,
        connections,
      });
    }
    return rows;
  }

  async importProfile(id: string, document: Record<string, unknown>): Promise<ImportResult> {
    if (this.reservedProfileIds.includes(id)) {
      // The CLI runs without the demo provider, so it would store these as custom profiles, which
      // the dev service (where they are bundled) then refuses to load.
      throw new CliError(
        `"${id}" is a bundled profile of the dev-mode demo provider; change it through the running service (--remote)`,
      );
    }
    const result = await this.services.engine.saveProfile(id, document, this.actor);
    return { created: result.created, connectionsMarked: result.connectionsMarked };
  }

  async exportProfiles(ids: readonly string[]): Promise<ExportedProfile[]> {
    const { engine } = this.services;
    const stored = new Map((await engine.listStoredProfiles()).map((record) => [record.id, record]));
    const wanted = ids.length > 0 ? [...ids] : await this.exportableIds([...stored.keys()]);
    const exported: ExportedProfile[] = [];
    for (const id of wanted) {
      const record = stored.get(id);
      if (record) {
        const { clientSecret: _secret, ...document } = record.document;
        exported.push(
          record.kind === 'override'
            ? { id, type: 'override', document: overrideDocument({ ...document, id }) }
            : { id, type: 'custom', document: { id, kind: 'custom', ...withoutKind(document) } },
        );
        continue;
      }
      const profile = await engine.findProfile(id);
      if (!profile) throw new AuthProfilesError('profile-not-found', `no profile "${id}"`);
      if (profile.kind !== 'custom') {
        throw new CliError(
          `"${id}" is a bundled profile with no stored changes: there is nothing to export (its overrides in PROFILES_DIR are files already)`,
        );
      }
      exported.push({ id, type: 'custom', document: customDocument({ ...profile }) });
    }
    return exported;
  }

  /** Every stored record plus the custom profiles defined in PROFILES_DIR, by id. */
  private async exportableIds(storedIds: string[]): Promise<string[]> {
    const fileCustom = (await this.services.engine.listProfiles())
      .filter((profile) => profile.kind === 'custom' && profile.source === 'file')
      .map((profile) => profile.id);
    return [...new Set([...storedIds, ...fileCustom])].sort();
  }

  async createKey(name: string, role: 'admin' | 'developer'): Promise<CreatedKey> {
    const { key, record } = await this.keys.create(name, role, this.actor.name);
    return {
      key,
      id: record.id,
      name: record.name,
      role: record.role,
      createdAt: record.createdAt,
      revokedAt: null,
    };
  }

  async listKeys(): Promise<KeyRow[]> {
    return (await this.keys.list()).map(({ id, name, role, createdAt, revokedAt }) => ({
      id,
      name,
      role,
      createdAt,
      revokedAt,
    }));
  }

  revokeKey(id: string): Promise<boolean> {
    return this.keys.revoke(id, this.actor.name);
  }

  async listConnections(query: ConnectionQuery): Promise<ConnectionSummary[]> {
    const filter: ConnectionFilter = {
      ...(query.profileId ? { profileId: query.profileId } : {}),
      ...(query.status ? { status: query.status } : {}),
    };
    const found: ConnectionSummary[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.services.engine.listConnections(filter, {
        limit: PAGE,
        ...(after ? { after } : {}),
      });
      found.push(...page);
      if (page.length < PAGE) break;
      after = page[page.length - 1]?.id;
    }
    return found;
  }

  async revokeConnection(id: string): Promise<RevokeResult> {
    try {
      const outcome = await this.services.engine.revokeById(id, this.actor.name);
      return { revokedAtProvider: outcome.revokedAtProvider, providerError: outcome.providerError };
    } catch (error) {
      if (isAuthProfilesError(error, 'not-connected')) throw new CliError(`no connection "${id}"`);
      throw error;
    }
  }

  async importConnection(input: ConnectionImport): Promise<ConnectionSummary> {
    const { engine } = this.services;
    const profile = await engine.findProfile(input.profileId);
    if (!profile) throw new CliError(`no profile "${input.profileId}"`);
    const subject: Subject =
      input.subject === 'organization' ? ORGANIZATION : { kind: 'user', ...input.subject };
    try {
      return await engine.importConnection(
        profile,
        subject,
        {
          refreshToken: input.refreshToken,
          ...(input.accessToken ? { accessToken: input.accessToken } : {}),
        },
        this.actor.name,
      );
    } catch (error) {
      if (isAuthProfilesError(error) && (error.code === 'invalid-grant' || error.code === 'provider-error')) {
        throw new CliError(`the provider refused the refresh token (${providerAnswer(error)})`);
      }
      throw error;
    }
  }

  async startConsent(
    profileId: string,
    externalUserId: string,
    redirectUrl: string,
  ): Promise<StartedConsent> {
    const { engine } = this.services;
    const profile = await engine.findProfile(profileId);
    if (!profile) throw new CliError(`no profile "${profileId}"`);
    const created = await engine.startExternalConsent(
      profile,
      { externalUserId, redirectUrl },
      this.actor.name,
    );
    return { requestId: created.requestId, consentUrl: created.startUrl, expiresAt: created.expiresAt };
  }

  linkConnection(
    connectionId: string,
    user: { channelId: string; userId: string },
  ): Promise<ConnectionSummary> {
    return this.services.engine.linkConnection(connectionId, { kind: 'user', ...user }, this.actor.name);
  }

  async listActions(profileId: string): Promise<ActionRow[]> {
    const { engine } = this.services;
    const profile = await engine.findProfile(profileId);
    if (!profile) throw new CliError(`no profile "${profileId}"`);
    return engine.listAdminActions(profile).map((view) => actionRow({ ...view }));
  }

  async setActionEnabled(profileId: string, key: string, enabled: boolean): Promise<ActionRow> {
    if (this.reservedProfileIds.includes(profileId)) {
      // As importProfile: without the demo provider the CLI does not know these bundled profiles.
      throw new CliError(
        `"${profileId}" is a bundled profile of the dev-mode demo provider; change it through the running service (--remote)`,
      );
    }
    const result = await this.services.engine.setActionEnabled(profileId, key, enabled, this.actor);
    return actionRow({ ...result.action });
  }

  close(): Promise<void> {
    return this.services.close();
  }
}

function withoutKind(document: Record<string, unknown>): Record<string, unknown> {
  const { kind: _kind, id: _id, ...rest } = document;
  return rest;
}
