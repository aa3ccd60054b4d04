import { AuthProfilesError } from './errors';
import type { ConnectionRepository, StoredConnection } from './store/types';

/**
 * Named connections (issue 10 point 3, authsome `--connection work`): a subject may hold several
 * connections of one profile. The existing (unnamed) connection is the one called `default`; a named one
 * is stored under the subject key with `#<name>` appended. A subject key never holds a raw `#` (user ids
 * are percent-encoded, subjects.ts), so the split is unambiguous and neither adapter needs a migration:
 * the (profileId, subjectKey) unique key already makes one connection per subject, profile and name.
 */
export const CONNECTION_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const DEFAULT_CONNECTION = 'default';

/** A connection name as given (`work`), or null for the default one; throws `invalid-input` otherwise. */
export function parseConnectionName(name: string | null | undefined): string | null {
  if (name === undefined || name === null) return null;
  const trimmed = name.trim().toLowerCase();
  if (trimmed === DEFAULT_CONNECTION) return null;
  if (!CONNECTION_NAME.test(trimmed)) {
    throw new AuthProfilesError(
      'invalid-connection-name',
      'a connection name is 1 to 32 of a-z, 0-9 and "-", starting with a letter or digit',
    );
  }
  return trimmed;
}

/** The store key of a subject's connection: the subject key, plus `#<name>` for a named one. */
export function connectionKey(subjectKey: string, name: string | null | undefined): string {
  const parsed = parseConnectionName(name);
  return parsed === null ? subjectKey : `${subjectKey}#${parsed}`;
}

/** Splits a stored key into the subject key and the connection name (null: the default one). */
export function splitConnectionKey(key: string): { subjectKey: string; name: string | null } {
  const at = key.indexOf('#');
  return at < 0 ? { subjectKey: key, name: null } : { subjectKey: key.slice(0, at), name: key.slice(at + 1) };
}

/**
 * The connection used when no name is given: the one marked `preferred`, else the unnamed one. The
 * unnamed one is read first (one indexed read, as before names existed); only when the user moved the
 * default away from it (`preferred: false`) or has none are the named ones listed.
 */
export async function defaultConnection(
  connections: ConnectionRepository,
  profileId: string,
  subjectKey: string,
): Promise<StoredConnection | null> {
  const unnamed = await connections.get(profileId, subjectKey);
  if (unnamed && unnamed.preferred !== false) return unnamed;
  const all = await connections.list({ profileId, subject: subjectKey }, { limit: 200 });
  return all.find((connection) => connection.preferred === true) ?? unnamed;
}

/** The connection of this name, or the default one when no name is given. */
export function namedOrDefaultConnection(
  connections: ConnectionRepository,
  profileId: string,
  subjectKey: string,
  name: string | null | undefined,
): Promise<StoredConnection | null> {
  const parsed = parseConnectionName(name);
  // Only "no name at all" means the current default; a name — `default` included — is that very record.
  return name === undefined
    ? defaultConnection(connections, profileId, subjectKey)
    : connections.get(profileId, connectionKey(subjectKey, parsed));
}

/**
 * Makes the named connection (null: the unnamed one) the default of the subject for the profile; false
 * when there is no such connection.
 */
export async function setDefaultConnection(
  connections: ConnectionRepository,
  profileId: string,
  subjectKey: string,
  name: string | null,
  now: number,
): Promise<boolean> {
  const chosenKey = connectionKey(subjectKey, name);
  const all = await connections.list({ profileId, subject: subjectKey }, { limit: 200 });
  if (!all.some((connection) => connection.subjectKey === chosenKey)) return false;
  for (const connection of all) {
    const preferred = connection.subjectKey === chosenKey;
    if ((connection.preferred ?? connection.subjectKey === subjectKey) === preferred) continue;
    await setPreferred(connections, connection, preferred, now);
  }
  return true;
}

async function setPreferred(
  connections: ConnectionRepository,
  connection: StoredConnection,
  preferred: boolean,
  now: number,
): Promise<void> {
  let current: StoredConnection | null = connection;
  // Compare-and-set: a refresh may bump the version between the read and the write.
  for (let attempt = 0; current && attempt < 5; attempt++) {
    if (await connections.update(current.id, current.version, { preferred, updatedAt: now })) return;
    current = await connections.getById(current.id);
  }
}
