import type { Command } from 'commander';
import { out } from './cliOutput';
import { CliError, EXIT_USAGE } from './common';
import type { Backends } from './openBackend';

/** `--user msteams:29:1abc` → the chat user (channel id, then everything after the first colon). */
export function parseChatUser(value: string): { channelId: string; userId: string } {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) {
    throw new CliError('--user must be <channelId>:<userId>, e.g. msteams:29:1abc', EXIT_USAGE);
  }
  return { channelId: value.slice(0, colon), userId: value.slice(colon + 1) };
}

/**
 * `consents start` and `connections link` (issue 10 point 6): consent started by another system. The
 * consent URL carries only an opaque request id, never a secret, so it is printed as is; the browser
 * comes back to the redirect URL with `connection_id`, which `connections link` gives to a chat user.
 */
export function consentCommands(backends: Backends) {
  async function consentsStart(
    options: { profile: string; externalUser: string; redirectUrl: string; json?: boolean },
    command: Command,
  ) {
    if (options.externalUser.trim() === '')
      throw new CliError('--external-user must not be empty', EXIT_USAGE);
    if (options.redirectUrl.trim() === '') throw new CliError('--redirect-url must not be empty', EXIT_USAGE);
    return backends.withBackend(command, async (store) => {
      const started = await store.startConsent(options.profile, options.externalUser, options.redirectUrl);
      if (options.json) {
        out(JSON.stringify(started, null, 2));
        return;
      }
      // Only the URL on standard output, so `URL=$(authprofiles consents start …)` works; --json has the rest.
      out(started.consentUrl);
    });
  }

  async function connectionsLink(
    connectionId: string,
    options: { user: string; json?: boolean },
    command: Command,
  ) {
    const user = parseChatUser(options.user);
    return backends.withBackend(command, async (store) => {
      const connection = await store.linkConnection(connectionId, user);
      if (options.json) {
        out(JSON.stringify(connection, null, 2));
        return;
      }
      out(`linked: connection ${connection.id} (${connection.profileId}, ${connection.subjectKey})`);
    });
  }

  return { start: consentsStart, link: connectionsLink };
}
