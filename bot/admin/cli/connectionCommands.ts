import type { Command } from 'commander';
import { type ConnectionStatus, describeUnreadable } from '../../../profiles';
import { out } from './cliOutput';
import { CliError, EXIT_USAGE, formatTime, table } from './common';
import { readSecret } from './secretInput';
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
            // A named connection (issue 10 point 3) shows as `<subject>#<name>`, its store key.
            connection.name ? `${connection.subjectKey}#${connection.name}` : connection.subjectKey,
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

  async function connectionsImport(
    options: {
      profile: string;
      user?: string;
      organization?: boolean;
      refreshTokenFile: string;
      accessTokenFile?: string;
      json?: boolean;
    },
    command: Command,
  ) {
    if ((options.user === undefined) === (options.organization === undefined)) {
      throw new CliError('name exactly one of --user <channel:userId> and --organization', EXIT_USAGE);
    }
    let subject: 'organization' | { channelId: string; userId: string } = 'organization';
    if (options.user !== undefined) {
      const colon = options.user.indexOf(':');
      if (colon <= 0 || colon === options.user.length - 1) {
        throw new CliError('--user must be <channelId>:<userId>, e.g. msteams:29:1abc', EXIT_USAGE);
      }
      subject = { channelId: options.user.slice(0, colon), userId: options.user.slice(colon + 1) };
    }
    if (options.refreshTokenFile === '-' && options.accessTokenFile === '-') {
      throw new CliError('only one of the token files can be standard input (-)', EXIT_USAGE);
    }
    const refreshToken = readSecret(options.refreshTokenFile, '--refresh-token-file');
    const accessToken =
      options.accessTokenFile === undefined
        ? undefined
        : readSecret(options.accessTokenFile, '--access-token-file');
    return backends.withBackend(command, async (store) => {
      const connection = await store.importConnection({
        profileId: options.profile,
        subject,
        refreshToken,
        ...(accessToken ? { accessToken } : {}),
      });
      if (options.json) {
        out(JSON.stringify(connection, null, 2));
        return;
      }
      const account = connection.account ? ` account ${connection.account.sub}` : '';
      out(
        `imported connection ${connection.id} (${connection.profileId}, ${connection.subjectKey}${account})`,
      );
    });
  }

  return { list: connectionsList, revoke: connectionsRevoke, import: connectionsImport };
}
