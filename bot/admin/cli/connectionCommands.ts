import type { Command } from 'commander';
import { type ConnectionStatus, describeUnreadable } from '../../../profiles';
import { out } from './cliOutput';
import { formatTime, table } from './common';
import type { Backends } from './openBackend';

/** `connections list|revoke`: stored connections, never their tokens. */
export function connectionCommands(backends: Backends) {
  async function connectionsList(
    options: { profile?: string; status?: ConnectionStatus; json?: boolean },
    command: Command,
  ) {
    return backends.withBackend(command, async (store) => {
      const connections = await store.listConnections({
        ...(options.profile ? { profileId: options.profile } : {}),
        ...(options.status ? { status: options.status } : {}),
      });
      if (options.json) {
        out(JSON.stringify(connections, null, 2));
        return;
      }
      out(
        table(
          ['ID', 'PROFILE', 'SUBJECT', 'STATUS', 'EXPIRES', 'UPDATED', 'LAST ERROR'],
          connections.map((connection) => [
            connection.id,
            connection.profileId,
            connection.subjectKey,
            // A service older than the `unreadable` field (--remote) simply leaves it out.
            connection.unreadable
              ? `${connection.status} (${describeUnreadable(connection.unreadable)})`
              : connection.status,
            formatTime(connection.expiresAt),
            formatTime(connection.updatedAt),
            connection.lastError ?? '-',
          ]),
        ),
      );
    });
  }

  async function connectionsRevoke(id: string, _options: unknown, command: Command) {
    return backends.withBackend(command, async (store) => {
      const outcome = await store.revokeConnection(id);
      const provider =
        outcome.revokedAtProvider === null
          ? ''
          : outcome.revokedAtProvider
            ? ' (also revoked at the provider)'
            : ` (not revoked at the provider: ${outcome.providerError ?? 'unknown'})`;
      out(`revoked connection ${id}${provider}`);
    });
  }

  return { list: connectionsList, revoke: connectionsRevoke };
}
