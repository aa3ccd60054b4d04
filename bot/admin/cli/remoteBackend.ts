import type { ConnectionSummary, FieldIssue } from '../../../profiles';
import {
  actionRow,
  CliError,
  CONNECTION_STATUSES,
  customDocument,
  emptyCounts,
  EXIT_FAILED,
  EXIT_USAGE,
  overrideDocument,
  type ActionRow,
  type Backend,
  type ConnectionCounts,
  type ConnectionImport,
  type ConnectionQuery,
  type CreatedKey,
  type ExportedProfile,
  type ImportResult,
  type KeyRow,
  type ProfileRow,
  type RevokeResult,
  type StartedConsent,
} from './common';

/**
 * The CLI against a running service's admin REST API (`/admin/api/...`, `Authorization: Bearer`).
 * Errors come back as `{ error: { code, message, issues? } }`. The key is sent only in the header
 * and never printed; responses are read leniently (a bare array or `{ <things>: [...] }`).
 */

type Json = Record<string, unknown>;

export interface RemoteOptions {
  /** Base URL of the service, e.g. `http://localhost:3978` (a trailing `/admin/api` is accepted). */
  url: string;
  key: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Where warnings go (plain http to a non-loopback host). */
  warn?: (message: string) => void;
}

export class RemoteBackend implements Backend {
  readonly description: string;
  private readonly base: URL;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: RemoteOptions) {
    this.base = parseRemoteUrl(options.url);
    this.description = this.base.origin;
    this.fetch = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (this.base.protocol === 'http:' && !isLoopback(this.base.hostname)) {
      options.warn?.(
        `warning: ${this.base.origin} is plain http; the admin key crosses the network unencrypted (use https)`,
      );
    }
  }

  async listProfiles(): Promise<ProfileRow[]> {
    const profiles = listOf(await this.request('GET', 'profiles'), 'profiles');
    const needCounts = profiles.some((profile) => !isObject(profile.connections));
    const counted = needCounts
      ? countByProfile(await this.listConnections({}))
      : new Map<string, ConnectionCounts>();
    return profiles.map((profile) => {
      const id = String(profile.id);
      const missing = Array.isArray(profile.missing) ? profile.missing.map(String) : [];
      return {
        id,
        kind: profile.kind === 'system' ? 'system' : 'custom',
        source: typeof profile.source === 'string' ? profile.source : '-',
        displayName: typeof profile.displayName === 'string' ? profile.displayName : id,
        authorization: typeof profile.authorization === 'string' ? profile.authorization : '-',
        usable: typeof profile.usable === 'boolean' ? profile.usable : missing.length === 0,
        missing,
        connections: isObject(profile.connections)
          ? countsFrom(profile.connections)
          : (counted.get(id) ?? emptyCounts()),
      };
    });
  }

  async importProfile(id: string, document: Record<string, unknown>): Promise<ImportResult> {
    // PUT creates or replaces (a bundled id takes the document as its override) and says which.
    const answer = await this.request('PUT', `profiles/${encodeURIComponent(id)}`, { ...document, id });
    const marked = isObject(answer) ? answer.connectionsMarked : undefined;
    return {
      created: isObject(answer) && answer.created === true,
      connectionsMarked: typeof marked === 'number' ? marked : null,
    };
  }

  async exportProfiles(ids: readonly string[]): Promise<ExportedProfile[]> {
    let profiles: Json[];
    if (ids.length > 0) {
      profiles = [];
      for (const id of ids) {
        const answer = await this.request('GET', `profiles/${encodeURIComponent(id)}`);
        profiles.push(unwrap(answer, 'profile'));
      }
    } else {
      profiles = listOf(await this.request('GET', 'profiles'), 'profiles').filter(
        (profile) => profile.source === 'store' || (profile.kind === 'custom' && profile.source === 'file'),
      );
    }
    return profiles.map((profile) => {
      const id = String(profile.id);
      if (profile.kind === 'system') {
        if (ids.length > 0 && profile.source === 'system') {
          throw new CliError(
            `"${id}" is a bundled profile with no stored changes: there is nothing to export`,
          );
        }
        // The API shows the merged profile: its overridable fields become the override.
        const source = isObject(profile.override) ? { ...profile.override, id } : profile;
        return { id, type: 'override', document: overrideDocument(source) };
      }
      return { id, type: 'custom', document: customDocument(profile) };
    });
  }

  async createKey(name: string, role: 'admin' | 'developer'): Promise<CreatedKey> {
    const answer = await this.request('POST', 'keys', { name, role });
    const record = isObject(answer) && isObject(answer.record) ? answer.record : unwrap(answer, 'key');
    const key = isObject(answer) ? answer.key : undefined;
    if (typeof key !== 'string') throw new CliError('the service did not return the new key');
    return { ...keyRow(record), key };
  }

  async listKeys(): Promise<KeyRow[]> {
    return listOf(await this.request('GET', 'keys'), 'keys').map(keyRow);
  }

  async revokeKey(id: string): Promise<boolean> {
    const answer = await this.request('DELETE', `keys/${encodeURIComponent(id)}`, undefined, {
      allow404: true,
    });
    return answer !== null;
  }

  async listConnections(query: ConnectionQuery): Promise<ConnectionSummary[]> {
    const params = new URLSearchParams({ limit: '200' });
    if (query.profileId) params.set('profileId', query.profileId);
    if (query.status) params.set('status', query.status);
    const found: ConnectionSummary[] = [];
    // Follows a cursor when the service pages its answer (`next`/`nextCursor` → `after`).
    for (let page = 0; page < 1000; page += 1) {
      const search = params.toString();
      const answer = await this.request('GET', `connections${search ? `?${search}` : ''}`);
      found.push(...(listOf(answer, 'connections') as unknown as ConnectionSummary[]));
      const next = isObject(answer) ? (answer.next ?? answer.nextCursor) : undefined;
      if (typeof next !== 'string' || next === '' || next === params.get('after')) break;
      params.set('after', next);
    }
    return found;
  }

  async importConnection(input: ConnectionImport): Promise<ConnectionSummary> {
    const answer = await this.request('POST', 'connections/import', {
      profileId: input.profileId,
      ...(input.subject === 'organization' ? { organization: true } : { user: input.subject }),
      refreshToken: input.refreshToken,
      ...(input.accessToken ? { accessToken: input.accessToken } : {}),
    });
    if (!isObject(answer) || !isObject(answer.connection)) {
      throw new CliError('POST connections/import: the service answered no connection');
    }
    return answer.connection as unknown as ConnectionSummary;
  }

  async startConsent(
    profileId: string,
    externalUserId: string,
    redirectUrl: string,
  ): Promise<StartedConsent> {
    const path = `profiles/${encodeURIComponent(profileId)}/consents`;
    const answer = await this.request('POST', path, { externalUserId, redirectUrl }, { allow404: true });
    if (answer === null) throw new CliError(`no profile "${profileId}"`);
    if (!isObject(answer) || typeof answer.consentUrl !== 'string' || typeof answer.requestId !== 'string') {
      throw new CliError(`POST ${path}: the service answered no consent URL`);
    }
    return {
      requestId: answer.requestId,
      consentUrl: answer.consentUrl,
      expiresAt: typeof answer.expiresAt === 'number' ? answer.expiresAt : 0,
    };
  }

  async linkConnection(
    connectionId: string,
    user: { channelId: string; userId: string },
  ): Promise<ConnectionSummary> {
    const path = `connections/${encodeURIComponent(connectionId)}/link`;
    const answer = await this.request('POST', path, { user }, { allow404: true });
    if (answer === null) throw new CliError(`no external connection "${connectionId}"`);
    if (!isObject(answer) || !isObject(answer.connection)) {
      throw new CliError(`POST ${path}: the service answered no connection`);
    }
    return answer.connection as unknown as ConnectionSummary;
  }

  async revokeConnection(id: string): Promise<RevokeResult> {
    const answer = await this.request('DELETE', `connections/${encodeURIComponent(id)}`, undefined, {
      allow404: true,
    });
    if (answer === null) throw new CliError(`no connection "${id}"`);
    const outcome = isObject(answer) && isObject(answer.outcome) ? answer.outcome : answer;
    return {
      revokedAtProvider:
        isObject(outcome) && typeof outcome.revokedAtProvider === 'boolean'
          ? outcome.revokedAtProvider
          : null,
      providerError:
        isObject(outcome) && typeof outcome.providerError === 'string' ? outcome.providerError : null,
    };
  }

  async listActions(profileId: string): Promise<ActionRow[]> {
    const answer = await this.request('GET', `profiles/${encodeURIComponent(profileId)}/actions`, undefined, {
      allow404: true,
    });
    if (answer === null) throw new CliError(`no profile "${profileId}"`);
    return listOf(answer, 'actions').map(actionRow);
  }

  async setActionEnabled(profileId: string, key: string, enabled: boolean): Promise<ActionRow> {
    // A 404 names what is missing (the profile or the action): its message is passed on.
    const path = `profiles/${encodeURIComponent(profileId)}/actions/${encodeURIComponent(key)}`;
    const answer = await this.request('PUT', path, { enabled });
    if (!isObject(answer) || !isObject(answer.action)) {
      throw new CliError(`PUT ${path}: the service answered no action`);
    }
    return actionRow(answer.action);
  }

  async close(): Promise<void> {}

  /** One API call; null for a 404 when `allow404`, `{}` for an empty success. */
  private async request(
    method: string,
    path: string,
    body?: unknown,
    options: { allow404?: boolean } = {},
  ): Promise<unknown> {
    const url = new URL(`admin/api/${path}`, this.base);
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.options.key}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new CliError(`cannot reach ${this.base.origin} (${cause})`, EXIT_FAILED, [], true);
    }
    const text = await response.text();
    let parsed: unknown = {};
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (response.ok) {
      if (parsed === undefined)
        throw new CliError(`${method} ${url.pathname}: the service answered ${response.status} with no JSON`);
      return parsed;
    }
    if (response.status === 404 && options.allow404) return null;
    const error = isObject(parsed) && isObject(parsed.error) ? parsed.error : {};
    const code = typeof error.code === 'string' ? error.code : `http-${response.status}`;
    const message =
      response.status === 401
        ? 'the service refused the admin key (401): check --key or AUTHPROFILES_ADMIN_KEY'
        : typeof error.message === 'string'
          ? error.message
          : `${method} ${url.pathname} failed`;
    const issues: FieldIssue[] = Array.isArray(error.issues)
      ? error.issues
          .filter(isObject)
          .map((issue) => ({ path: String(issue.path ?? ''), message: String(issue.message ?? '') }))
      : [];
    throw new CliError(
      `${message} (${code}, HTTP ${response.status})`,
      EXIT_FAILED,
      issues,
      response.status === 401,
    );
  }
}

/** `--remote` value → base URL ending in `/`; a usage error when it is not http(s). */
export function parseRemoteUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`--remote: "${value}" is not a URL (e.g. http://localhost:3978)`, EXIT_USAGE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('--remote: must be an http:// or https:// URL', EXIT_USAGE);
  }
  if (url.username || url.password) {
    throw new CliError('--remote: must not contain credentials (pass the admin key with --key)', EXIT_USAGE);
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/admin\/api$/, '');
  return new URL(`${url.origin}${path}/`);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `[...]`, `{ <name>: [...] }` or `{ items: [...] }` → the objects in it. */
function listOf(answer: unknown, name: string): Json[] {
  const list = Array.isArray(answer)
    ? answer
    : isObject(answer) && Array.isArray(answer[name])
      ? answer[name]
      : isObject(answer) && Array.isArray(answer.items)
        ? answer.items
        : undefined;
  if (!list) throw new CliError(`unexpected answer from the service: expected a list of ${name}`);
  return (list as unknown[]).filter(isObject);
}

/** `{ <name>: {...} }` or the object itself. */
function unwrap(answer: unknown, name: string): Json {
  if (isObject(answer) && isObject(answer[name])) return answer[name];
  if (isObject(answer)) return answer;
  throw new CliError(`unexpected answer from the service: expected a ${name}`);
}

function keyRow(record: Json): KeyRow {
  const time = (value: unknown) => (typeof value === 'number' || typeof value === 'string' ? value : null);
  return {
    id: String(record.id ?? '-'),
    name: String(record.name ?? '-'),
    role: String(record.role ?? '-'),
    createdAt: time(record.createdAt),
    revokedAt: time(record.revokedAt),
  };
}

function countsFrom(value: Json): ConnectionCounts {
  const counts = emptyCounts();
  for (const status of CONNECTION_STATUSES) {
    const count = value[status];
    if (typeof count === 'number') counts[status] = count;
  }
  counts.total =
    typeof value.total === 'number'
      ? value.total
      : CONNECTION_STATUSES.reduce((sum, s) => sum + counts[s], 0);
  return counts;
}

function countByProfile(connections: readonly ConnectionSummary[]): Map<string, ConnectionCounts> {
  const counted = new Map<string, ConnectionCounts>();
  for (const connection of connections) {
    const counts = counted.get(connection.profileId) ?? emptyCounts();
    if ((CONNECTION_STATUSES as readonly string[]).includes(connection.status))
      counts[connection.status] += 1;
    counts.total += 1;
    counted.set(connection.profileId, counts);
  }
  return counted;
}
