import type { Command } from 'commander';
import { err, out } from './cliOutput';
import { CliError, formatTime, table } from './common';
import type { Backends } from './openBackend';

/** `keys create|list|revoke`: admin API keys, stored hashed; a key is printed once, when created. */
export function keyCommands(backends: Backends) {
  async function keysCreate(
    options: { name: string; role: 'admin' | 'developer'; json?: boolean },
    command: Command,
  ) {
    return backends.withBackend(command, async (store) => {
      const created = await store.createKey(options.name, options.role);
      if (options.json) {
        out(JSON.stringify(created, null, 2));
      } else {
        out(created.key);
      }
      err(
        `created ${created.role} key ${created.id} ("${created.name}"). Store the key now: it is shown only this once ` +
          '(only its hash is kept). Use it as "Authorization: Bearer <key>" or --key.',
      );
    });
  }

  async function keysList(options: { json?: boolean }, command: Command) {
    return backends.withBackend(command, async (store) => {
      const keys = await store.listKeys();
      if (options.json) {
        out(JSON.stringify(keys, null, 2));
        return;
      }
      out(
        table(
          ['ID', 'NAME', 'ROLE', 'CREATED', 'REVOKED'],
          keys.map((key) => [
            key.id,
            key.name,
            key.role,
            formatTime(key.createdAt),
            formatTime(key.revokedAt),
          ]),
        ),
      );
    });
  }

  async function keysRevoke(id: string, _options: unknown, command: Command) {
    return backends.withBackend(command, async (store) => {
      if (!(await store.revokeKey(id))) throw new CliError(`no active key "${id}"`);
      out(`revoked key ${id}`);
    });
  }

  return { create: keysCreate, list: keysList, revoke: keysRevoke };
}
