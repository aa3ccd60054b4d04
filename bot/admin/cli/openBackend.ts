import type { Command } from 'commander';
import { type Actor, isAuthProfilesError } from '../../../profiles';
import { ConfigurationError, loadConfig, type Config } from '../../config';
import { err } from './cliOutput';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Backend, type OpenedEngine } from './common';
import { RemoteBackend } from './remoteBackend';

export interface GlobalOptions {
  remote?: string;
  key?: string;
  actor?: string;
}

/**
 * What the CLI takes from the service it belongs to (given by bot/cli.ts, the composition): the
 * engine on the configured store, and the profile ids the dev-mode service bundles itself.
 */
export interface CliHost {
  /** The same store, key ring and catalog as the service, logging warnings and errors to stderr only. */
  openEngine(config: Config): Promise<OpenedEngine>;
  /** Profiles the running dev service bundles (its demo provider's): the CLI keeps its hands off them. */
  reservedProfileIds(config: Config): Promise<readonly string[]>;
}

/** Where a command's work happens: the local store (the service's environment) or `--remote`. */
export class Backends {
  constructor(private readonly host: CliHost) {}

  config(): Config {
    try {
      return loadConfig(process.env);
    } catch (error) {
      if (error instanceof ConfigurationError) {
        throw new CliError(
          `invalid configuration (environment):\n${error.problems.map((p) => `  - ${p}`).join('\n')}`,
          EXIT_USAGE,
        );
      }
      throw error;
    }
  }

  /** The engine on the configured store. */
  async openEngine(cfg: Config): Promise<OpenedEngine> {
    try {
      return await this.host.openEngine(cfg);
    } catch (error) {
      if (
        isAuthProfilesError(error, 'invalid-configuration') ||
        isAuthProfilesError(error, 'invalid-profile')
      ) {
        throw new CliError(error.message, EXIT_USAGE, error.issues);
      }
      // A driver message may quote the connection string; never its credentials.
      const message = String((error as Error).message).replace(/\/\/[^/@\s]*@/g, '//[redacted]@');
      throw new CliError(`cannot open the store: ${message}`, EXIT_FAILED);
    }
  }

  async backend(command: Command): Promise<Backend> {
    const globals = command.optsWithGlobals<GlobalOptions>();
    if (globals.remote !== undefined) {
      const key = globals.key ?? process.env.AUTHPROFILES_ADMIN_KEY;
      if (!key) {
        throw new CliError(
          '--remote needs an admin key: pass --key <key> or set AUTHPROFILES_ADMIN_KEY',
          EXIT_USAGE,
        );
      }
      return new RemoteBackend({ url: globals.remote, key, warn: err });
    }
    const cfg = this.config();
    const actor = actorOf(globals);
    // Loaded when used: `validate` and `--remote` need no local backend.
    const { LocalBackend } = await import('./localBackend');
    const reserved = await this.host.reservedProfileIds(cfg);
    return new LocalBackend(cfg, await this.openEngine(cfg), actor, reserved);
  }

  localOnly(command: Command, what: string): void {
    if (command.optsWithGlobals<GlobalOptions>().remote !== undefined) {
      throw new CliError(
        `${what} works on the local store only; run it where the service's environment is (no --remote)`,
        EXIT_USAGE,
      );
    }
  }

  async withBackend(command: Command, work: (backend: Backend) => Promise<number | void>): Promise<number> {
    const opened = await this.backend(command);
    try {
      return (await work(opened)) ?? EXIT_OK;
    } finally {
      await opened.close().catch(() => undefined);
    }
  }
}

function actorOf(globals: GlobalOptions): Actor {
  const name = globals.actor?.trim();
  if (name !== undefined && !/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
    throw new CliError('--actor: 1-64 letters, digits, ".", "_", "@" or "-"', EXIT_USAGE);
  }
  return { name: name ? `cli:${name}` : 'cli', role: 'admin' };
}
