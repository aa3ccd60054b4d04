import {
  type AuthorizationEngine,
  CONNECTION_STATUSES,
  type ConnectionStatus,
  type ConnectionSummary,
  type FieldIssue,
} from '../../../profiles';

/**
 * What the CLI's commands need from "the store": the local one (bot/admin/cli/localBackend.ts) or a
 * running service's admin REST API (bot/admin/cli/remoteBackend.ts). Neither ever hands back a token,
 * a client secret or an encryption key; an admin key only once, from `createKey`.
 */

/** The engine the local commands work on, opened by the host (bot/cli.ts) on the configured store. */
export interface OpenedEngine {
  engine: AuthorizationEngine;
  close(): Promise<void>;
}

export const EXIT_OK = 0;
/** The operation failed (invalid input, a record that could not be handled, a refused request). */
export const EXIT_FAILED = 1;
/** Usage or configuration error: bad arguments, bad environment, missing admin key. */
export const EXIT_USAGE = 2;

/** An error the CLI reports as one message (plus field issues) and an exit code; never a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
    readonly issues: FieldIssue[] = [],
    /** Nothing further can work (service unreachable, key refused): stop instead of going on. */
    readonly fatal = false,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export { CONNECTION_STATUSES };

export type ConnectionCounts = Record<ConnectionStatus, number> & { total: number };

export interface ProfileRow {
  id: string;
  kind: 'system' | 'custom';
  /** Where the definition came from: system (bundled), file (PROFILES_DIR) or store. */
  source: string;
  displayName: string;
  authorization: string;
  usable: boolean;
  missing: string[];
  connections: ConnectionCounts;
}

export interface ExportedProfile {
  id: string;
  /** `custom`: a whole profile; `override`: changes to a bundled profile (`kind: "system"` in the file). */
  type: 'custom' | 'override';
  /** Ready to write as a profile file; never holds `clientSecret`. */
  document: Record<string, unknown>;
}

export interface ImportResult {
  created: boolean;
  /** Connections marked `needs-reauthorization`; null when the service did not say. */
  connectionsMarked: number | null;
}

export interface KeyRow {
  id: string;
  name: string;
  role: string;
  createdAt: number | string | null;
  revokedAt: number | string | null;
}

export interface CreatedKey extends KeyRow {
  /** The key itself: shown once, stored only as a hash. */
  key: string;
}

export interface RevokeResult {
  revokedAtProvider: boolean | null;
  providerError: string | null;
}

export interface ConnectionQuery {
  profileId?: string;
  status?: ConnectionStatus;
}

/** `connections import`: tokens obtained elsewhere, for a chat user or the organisation. */
export interface ConnectionImport {
  profileId: string;
  subject: 'organization' | { channelId: string; userId: string };
  refreshToken: string;
  accessToken?: string;
}

/** `consents start`: a consent URL for a user of another system (issue 10 point 6). */
export interface StartedConsent {
  requestId: string;
  consentUrl: string;
  expiresAt: number;
}

/** One action of a profile as `actions list` shows it (issue 11 point 3). */
export interface ActionRow {
  key: string;
  title: string;
  access: 'read' | 'write';
  method: string;
  path: string;
  scopes: string[];
  enabled: boolean;
  /** `admin`: an admin chose the state; `default`: the action's default applies. */
  setting: 'default' | 'admin';
}

export interface Backend {
  /** For messages: "local sqlite store (/path)" or the service URL. */
  readonly description: string;
  listProfiles(): Promise<ProfileRow[]>;
  importProfile(id: string, document: Record<string, unknown>): Promise<ImportResult>;
  /** The given ids, or every stored/custom profile when `ids` is empty. */
  exportProfiles(ids: readonly string[]): Promise<ExportedProfile[]>;
  createKey(name: string, role: 'admin' | 'developer'): Promise<CreatedKey>;
  listKeys(): Promise<KeyRow[]>;
  /** False when there is no such active key. */
  revokeKey(id: string): Promise<boolean>;
  listConnections(query: ConnectionQuery): Promise<ConnectionSummary[]>;
  revokeConnection(id: string): Promise<RevokeResult>;
  /** Proved by a refresh at the provider before it is stored; a refused token fails naming the answer. */
  importConnection(input: ConnectionImport): Promise<ConnectionSummary>;
  /** A consent URL for `externalUserId`; the redirect URL must be allowed by the profile. */
  startConsent(profileId: string, externalUserId: string, redirectUrl: string): Promise<StartedConsent>;
  /** Gives an external consent's connection to a chat user; the answer has the new connection id. */
  linkConnection(
    connectionId: string,
    user: { channelId: string; userId: string },
  ): Promise<ConnectionSummary>;
  /** The profile's declared actions; fails naming an unknown profile. */
  listActions(profileId: string): Promise<ActionRow[]>;
  /** Switches one action on or off; fails naming an unknown profile or action. */
  setActionEnabled(profileId: string, key: string, enabled: boolean): Promise<ActionRow>;
  close(): Promise<void>;
}

/** The row of an action view from the engine or the admin API (extra fields left out). */
export function actionRow(view: Record<string, unknown>): ActionRow {
  return {
    key: String(view.key),
    title: typeof view.title === 'string' ? view.title : String(view.key),
    access: view.access === 'write' ? 'write' : 'read',
    method: typeof view.method === 'string' ? view.method : 'GET',
    path: typeof view.path === 'string' ? view.path : '',
    scopes: Array.isArray(view.scopes) ? view.scopes.map(String) : [],
    enabled: view.enabled === true,
    setting: view.setting === 'admin' ? 'admin' : 'default',
  };
}

export function emptyCounts(): ConnectionCounts {
  return { active: 0, 'pending-verification': 0, 'needs-reauthorization': 0, revoked: 0, total: 0 };
}

/** Profile fields that only describe the running state, never part of a profile document. */
const RUNTIME_FIELDS = [
  'clientSecret',
  'hasClientSecret',
  'source',
  'version',
  'storedVersion',
  'missing',
  'usable',
  'fingerprint',
  'connections',
  'organizationConnection',
];

/** Fields a system override may hold (profiles/profileSchema.ts `systemOverrideSchema`). */
export const OVERRIDE_FIELDS = [
  'displayName',
  'clientId',
  'scopes',
  'optionalScopes',
  'authorizationParams',
  'variableValues',
  'authorization',
  'checkUrl',
  'actionSettings',
] as const;

/** A whole custom profile document from a resolved/public profile: runtime fields and the secret removed. */
export function customDocument(profile: Record<string, unknown>): Record<string, unknown> {
  const document: Record<string, unknown> = { id: profile.id, kind: 'custom' };
  for (const [key, value] of Object.entries(profile)) {
    if (RUNTIME_FIELDS.includes(key) || key === 'id' || key === 'kind' || value === undefined) continue;
    document[key] = value;
  }
  // A client id that came from the environment stays a reference, not a copied value.
  if (document.clientIdEnv !== undefined) delete document.clientId;
  if (document.refreshUrl !== undefined && document.refreshUrl === document.tokenUrl)
    delete document.refreshUrl;
  return document;
}

/** An override document of a bundled profile from a stored override or a merged public profile. */
export function overrideDocument(source: Record<string, unknown>): Record<string, unknown> {
  const document: Record<string, unknown> = { id: source.id, kind: 'system' };
  for (const field of OVERRIDE_FIELDS) {
    const value = source[field];
    if (value === undefined) continue;
    // A merged profile always has actionSettings; only choices made are part of an override.
    if (
      field === 'actionSettings' &&
      typeof value === 'object' &&
      value !== null &&
      Object.keys(value).length === 0
    )
      continue;
    document[field] = value;
  }
  return document;
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatTime(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function formatCounts(counts: ConnectionCounts): string {
  if (counts.total === 0) return '0';
  const parts = CONNECTION_STATUSES.filter((status) => counts[status] > 0).map(
    (status) => `${counts[status]} ${status}`,
  );
  return parts.join(', ');
}
