#!/usr/bin/env node
/**
 * `authprofiles`, the command line (package.json `bin`): the admin CLI (bot/admin/cli/) wired to this
 * service's configuration and engine, as `npm start` wires the server in bot/main.ts.
 */
import pino from 'pino';
import type { Config } from './config';
import { createLogger } from './logger';
import { main, type CliHost } from './admin/cli/program';

const host: CliHost = {
  async openEngine(config: Config) {
    const log = createLogger({ level: 'warn', destination: pino.destination(2) });
    // Loaded here, so `validate` and `--remote` never load a store driver (profiles/openEngine.ts).
    const { createEngine } = await import('./services');
    return createEngine(config, log);
  },
  async reservedProfileIds(config: Config) {
    const { reservedProfileIds } = await import('./services');
    return reservedProfileIds(config);
  },
};

if (require.main === module) {
  void main(process.argv.slice(2), host).then((code) => {
    process.exitCode = code;
  });
}
