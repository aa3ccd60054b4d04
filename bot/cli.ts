#!/usr/bin/env node
/**
 * `authprofiles`: the command line of the service (issue 4, point 4). After `npm run build`:
 * `npx authprofiles <command>` or `node dist/bot/cli.js <command>`.
 *
 * Local commands open the same store, key ring and profile catalog as the service, from the same
 * environment (bot/config.ts). With `--remote <url>` (and `--key` or AUTHPROFILES_ADMIN_KEY) the
 * profile, key and connection commands go to a running service's admin REST API instead.
 * Exit codes: 0 ok, 1 the operation failed, 2 usage or configuration error.
 * Never printed: tokens, client secrets, encryption keys (only key ids), admin keys (except once,
 * when created).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { describeUnreadable } from '../profiles/encryption';
import { DEV_KEY_FILE } from '../profiles/encryptionKeys';
import { isAuthProfilesError, type FieldIssue } from '../profiles/errors';
import type { RotationReport } from '../profiles/keyRotation';
import { OutboundAllowListError, parseOutboundAllowList } from '../profiles/outboundAddress';
import type { Actor } from '../profiles/profileAdmin';
import { bundledProfiles, parseProfileFile } from '../profiles/profileCatalog';
import type { ConnectionStatus } from '../profiles/store/types';
import {
  type Backend,
  CliError,
  CONNECTION_STATUSES,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  formatCounts,
  formatTime,
  table,
} from './cli/common';
import { RemoteBackend } from './cli/remoteBackend';
import { ConfigurationError, loadConfig, type Config } from './config';
import { createLogger } from './logger';
import type { EngineServices } from './services';

interface GlobalOptions {
  remote?: string;
  key?: string;
  actor?: string;
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------- environment and backends

function config(): Config {
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

/** The engine on the configured store, logging warnings and errors to stderr only. */
async function openEngine(cfg: Config): Promise<EngineServices> {
  const log = createLogger({ level: 'warn', destination: pino.destination(2) });
  try {
    // Loaded here, so `validate` and `--remote` do not pay for the store and engine modules.
    const { createEngine } = await import('./services');
    return await createEngine(cfg, log);
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

function actorOf(globals: GlobalOptions): Actor {
  const name = globals.actor?.trim();
  if (name !== undefined && !/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
    throw new CliError('--actor: 1-64 letters, digits, ".", "_", "@" or "-"', EXIT_USAGE);
  }
  return { name: name ? `cli:${name}` : 'cli', role: 'admin' };
}

async function backend(command: Command): Promise<Backend> {
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
  const cfg = config();
  const actor = actorOf(globals);
  const { LocalBackend } = await import('./cli/localBackend');
  return new LocalBackend(cfg, await openEngine(cfg), actor);
}

function localOnly(command: Command, what: string): void {
  if (command.optsWithGlobals<GlobalOptions>().remote !== undefined) {
    throw new CliError(
      `${what} works on the local store only; run it where the service's environment is (no --remote)`,
      EXIT_USAGE,
    );
  }
}

async function withBackend(
  command: Command,
  work: (backend: Backend) => Promise<number | void>,
): Promise<number> {
  const opened = await backend(command);
  try {
    return (await work(opened)) ?? EXIT_OK;
  } finally {
    await opened.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------- helpers

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(
      `${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      EXIT_USAGE,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file}: (file): is not valid JSON (${(error as Error).message})`, EXIT_FAILED);
  }
}

function printIssues(prefix: string, issues: readonly FieldIssue[], fallback: string): void {
  if (issues.length === 0) {
    err(`${prefix}: ${fallback}`);
    return;
  }
  for (const issue of issues) err(`${prefix}: ${issue.path || '(root)'}: ${issue.message}`);
}

/** The message of an engine error without the "invalid profile: a: b; c: d" summary the issues repeat. */
function problemOf(error: unknown): { message: string; issues: FieldIssue[] } {
  if (error instanceof CliError) return { message: error.message, issues: error.issues };
  if (isAuthProfilesError(error))
    return { message: `${error.message} (${error.code})`, issues: error.issues };
  return { message: (error as Error).message, issues: [] };
}

function positiveInt(max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`must be a whole number from 1 to ${max}`);
    }
    return Number(value);
  };
}

// ---------------------------------------------------------------- commands

async function validateCommand(
  files: string[],
  options: { production?: boolean },
  command: Command,
): Promise<number> {
  localOnly(command, 'validate');
  // The service accepts http on loopback in dev mode only (bot/services.ts: devFeatures).
  const production = options.production === true || process.env.NODE_ENV === 'production';
  let outboundAllowList;
  try {
    // The same allow-list as the service, so validate agrees with what it would accept (SECURITY.md #42).
    outboundAllowList = parseOutboundAllowList((process.env.OUTBOUND_ALLOWLIST ?? '').split(','));
  } catch (error) {
    if (error instanceof OutboundAllowListError)
      throw new CliError(`OUTBOUND_ALLOWLIST: ${error.message}`, EXIT_USAGE);
    throw error;
  }
  const validation = { allowInsecureLoopback: !production, outboundAllowList };
  const system = bundledProfiles(validation);
  let exit = EXIT_OK;
  for (const file of files) {
    let raw: unknown;
    try {
      raw = readJson(file);
    } catch (error) {
      const failure = error as CliError;
      err(failure.message);
      exit = Math.max(exit, failure.exitCode);
      continue;
    }
    try {
      const parsed = parseProfileFile(raw, system, validation);
      if ('override' in parsed) out(`ok ${file} (${parsed.override.id}, override of a bundled profile)`);
      else out(`ok ${file} (${parsed.custom.id})`);
    } catch (error) {
      if (!isAuthProfilesError(error)) throw error;
      printIssues(file, error.issues, error.message);
      exit = Math.max(exit, EXIT_FAILED);
    }
  }
  return exit;
}

async function profilesList(options: { json?: boolean }, command: Command): Promise<number> {
  return withBackend(command, async (store) => {
    const rows = await store.listProfiles();
    if (options.json) {
      out(JSON.stringify(rows, null, 2));
      return;
    }
    out(
      table(
        ['ID', 'KIND', 'SOURCE', 'AUTHORIZATION', 'STATUS', 'CONNECTIONS'],
        rows.map((row) => [
          row.id,
          row.kind,
          row.source,
          row.authorization,
          row.usable ? 'usable' : `missing ${row.missing.join(', ')}`,
          formatCounts(row.connections),
        ]),
      ),
    );
  });
}

async function profilesImport(files: string[], _options: unknown, command: Command): Promise<number> {
  // Read everything first: a typo in the last file name should not leave half an import behind.
  const documents: { file: string; label: string; document: unknown }[] = [];
  for (const file of files) {
    const raw = readJson(file);
    if (Array.isArray(raw))
      raw.forEach((document, index) => documents.push({ file, label: `${file}[${index}]`, document }));
    else documents.push({ file, label: file, document: raw });
  }
  return withBackend(command, async (store) => {
    let exit = EXIT_OK;
    for (const { label, document } of documents) {
      const id =
        typeof document === 'object' && document !== null ? (document as { id?: unknown }).id : undefined;
      if (typeof document !== 'object' || document === null || Array.isArray(document)) {
        err(`${label}: (root): must be a profile object`);
        exit = EXIT_FAILED;
        continue;
      }
      if (typeof id !== 'string' || id === '') {
        err(`${label}: id: is required`);
        exit = EXIT_FAILED;
        continue;
      }
      try {
        const result = await store.importProfile(id, document as Record<string, unknown>);
        const marked =
          result.created || result.connectionsMarked === null
            ? ''
            : `, ${result.connectionsMarked} connection(s) marked for re-authorization`;
        out(`${result.created ? 'created' : 'updated'} ${id} (${label})${marked}`);
      } catch (error) {
        // Unreachable service, refused key, usage errors: no point in trying the next file.
        if (error instanceof CliError && (error.fatal || error.exitCode === EXIT_USAGE)) throw error;
        const problem = problemOf(error);
        printIssues(label, problem.issues, problem.message);
        exit = EXIT_FAILED;
      }
    }
    return exit;
  });
}

async function profilesExport(ids: string[], options: { out?: string }, command: Command): Promise<number> {
  return withBackend(command, async (store) => {
    const exported = await store.exportProfiles(ids);
    for (const { document } of exported) delete document.clientSecret; // belt and braces: never written
    if (!options.out) {
      const documents = exported.map((entry) => entry.document);
      out(JSON.stringify(ids.length === 1 && documents.length === 1 ? documents[0] : documents, null, 2));
      return;
    }
    mkdirSync(options.out, { recursive: true });
    for (const entry of exported) {
      const path = join(options.out, `${entry.id}.json`);
      writeFileSync(path, `${JSON.stringify(entry.document, null, 2)}\n`);
      out(`exported ${entry.id} (${entry.type}) to ${path}`);
    }
    if (exported.length === 0) err('nothing to export: no stored or custom profiles');
  });
}

async function keysCreate(
  options: { name: string; role: 'admin' | 'developer'; json?: boolean },
  command: Command,
) {
  return withBackend(command, async (store) => {
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
  return withBackend(command, async (store) => {
    const keys = await store.listKeys();
    if (options.json) {
      out(JSON.stringify(keys, null, 2));
      return;
    }
    out(
      table(
        ['ID', 'NAME', 'ROLE', 'CREATED', 'REVOKED'],
        keys.map((key) => [key.id, key.name, key.role, formatTime(key.createdAt), formatTime(key.revokedAt)]),
      ),
    );
  });
}

async function keysRevoke(id: string, _options: unknown, command: Command) {
  return withBackend(command, async (store) => {
    if (!(await store.revokeKey(id))) throw new CliError(`no active key "${id}"`);
    out(`revoked key ${id}`);
  });
}

async function connectionsList(
  options: { profile?: string; status?: ConnectionStatus; json?: boolean },
  command: Command,
) {
  return withBackend(command, async (store) => {
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
  return withBackend(command, async (store) => {
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

/**
 * Refuses a rotation to a key that a service using this store does not hold (SECURITY.md #52): the
 * records it re-encrypts would be unreadable there. Key ids only in the message, never keys.
 */
async function assertServicesHoldKey(
  context: EngineServices['engine']['context'],
  cfg: Config,
): Promise<void> {
  const { keyHoldersToRespect } = await import('../profiles/keyHolders');
  const target = context.keyRing.currentKeyId;
  const holders = await keyHoldersToRespect(context);
  const now = Date.now();
  const ago = (at: number) => `${Math.max(0, Math.round((now - at) / 1000))} s ago`;
  const describe = (holder: (typeof holders)[number]) =>
    holder.running
      ? `the running service (${holder.where}, seen ${ago(holder.seenAt)})`
      : `the service that last ran on this store (${holder.where}, stopped ${ago(holder.stoppedAt ?? holder.seenAt)})`;
  const lacking = holders.filter((holder) => !holder.keyIds.includes(target));
  if (lacking.length > 0) {
    const holder = lacking[0] as (typeof holders)[number];
    const old = holder.keyIds.map((id) => `"${id}"`).join(', ');
    const devKey = cfg.devFeatures
      ? ` (in dev mode the old key is the content of ${join(cfg.dataDir, DEV_KEY_FILE)})`
      : '';
    throw new CliError(
      `refusing to re-encrypt with key "${target}": ${describe(holder)} holds only ${old} and could not read ` +
        `what this rotation writes${lacking.length > 1 ? ` (nor could ${lacking.length - 1} other instance(s))` : ''}.\n` +
        `Put the new key first in the service's ENCRYPTION_KEYS, keep the old one after it, restart the service, ` +
        `then run this command again with the same ENCRYPTION_KEYS${devKey}:\n` +
        `  ENCRYPTION_KEYS="${target}:<new key>,${holder.currentKeyId}:<old key>"\n` +
        `(--force skips this check, for a service that will never run again with that configuration)`,
      EXIT_USAGE,
    );
  }
  for (const holder of holders.filter((candidate) => candidate.currentKeyId !== target)) {
    err(
      `note: ${describe(holder)} can read "${target}" but still seals new secrets with "${holder.currentKeyId}": ` +
        `put "${target}" first there before removing "${holder.currentKeyId}" from ENCRYPTION_KEYS`,
    );
  }
}

async function encryptionRotate(
  options: { after?: string; batchSize?: number; force?: boolean },
  command: Command,
): Promise<number> {
  localOnly(command, 'encryption rotate');
  const cfg = config();
  const services = await openEngine(cfg);
  const context = services.engine.context;
  let progress: RotationReport | null = null;
  const interrupted = () => {
    err('');
    err('interrupted.');
    if (progress?.lastId) err(`resume with: authprofiles encryption rotate --after ${progress.lastId}`);
    else err('nothing was finished yet; run the same command again');
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    if (!options.force) await assertServicesHoldKey(context, cfg);
    err(`re-encrypting with the current key "${context.keyRing.currentKeyId}" (${describeStore(cfg)})`);
    const { reencryptAll } = await import('../profiles/keyRotation');
    const report = await reencryptAll(context, {
      ...(options.after ? { after: options.after } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      onProgress: (current) => {
        progress = { ...current, failed: [...current.failed] };
        err(
          `  scanned ${current.scanned}, re-encrypted ${current.reencrypted}, already current ${current.alreadyCurrent}, ` +
            `failed ${current.failed.length} (last ${current.lastId ?? '-'})`,
        );
      },
    });
    out(`key: ${context.keyRing.currentKeyId}`);
    out(`scanned: ${report.scanned}`);
    out(`re-encrypted: ${report.reencrypted}`);
    out(`already current: ${report.alreadyCurrent}`);
    out(`failed: ${report.failed.length}`);
    for (const failure of report.failed) out(`  ${failure.id} ${failure.code}`);
    if (report.failed.length > 0) {
      err(
        `${report.failed.length} record(s) could not be re-encrypted. Add the key they were sealed with to ENCRYPTION_KEYS ` +
          '(after the current one) and run again: records already on the current key are skipped.',
      );
      if (report.lastId)
        err(
          `to continue after the last record handled: authprofiles encryption rotate --after ${report.lastId}`,
        );
      return EXIT_FAILED;
    }
    return EXIT_OK;
  } finally {
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
    await services.close().catch(() => undefined);
  }
}

function describeStore(cfg: Config): string {
  return cfg.env.MONGODB_URI ? `mongodb database ${cfg.env.MONGODB_DB}` : `sqlite under ${cfg.dataDir}`;
}

// ---------------------------------------------------------------- program

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('authprofiles');
  // Every Commander error (unknown command, missing argument, bad choice) is a usage error: exit 2.
  program.exitOverride();
  program.showHelpAfterError('(run with --help for usage)');
  program
    .description(
      'Authorization profiles: validate profile files, manage stored profiles, admin keys and connections, rotate encryption keys.\n' +
        'Local commands use the environment of the service (DATA_DIR, MONGODB_URI, ENCRYPTION_KEYS, PROFILES_DIR, NODE_ENV).',
    )
    .option('--remote <url>', "talk to a running service's admin API (profiles, keys, connections)")
    .option('--key <adminKey>', 'admin key for --remote (prefer the AUTHPROFILES_ADMIN_KEY variable)')
    .option('--actor <name>', 'name recorded in the audit log for local changes (as cli:<name>)');

  const run =
    <A extends unknown[]>(action: (...args: A) => Promise<number | void>) =>
    async (...args: A) => {
      setExit((await action(...args)) ?? EXIT_OK);
    };

  program
    .command('validate')
    .description('check profile files with the service schema (custom profiles; overrides for bundled ids)')
    .argument('<file...>', 'profile JSON files')
    .option('--production', 'apply the production rules (https only), as with NODE_ENV=production')
    .action(run(validateCommand));

  const profiles = program.command('profiles').description('list, import and export profiles');
  profiles
    .command('list')
    .description('every profile with its source, authorization, status and connection counts')
    .option('--json', 'JSON output')
    .action(run(profilesList));
  profiles
    .command('import')
    .description('create or update profiles from JSON files (an object or an array of objects per file)')
    .argument('<file...>', 'profile JSON files')
    .option('--actor <name>', 'name recorded in the audit log (as cli:<name>)')
    .action(run(profilesImport));
  profiles
    .command('export')
    .description('write stored and custom profiles as JSON, without client secrets')
    .argument('[id...]', 'profile ids (default: every stored or custom profile)')
    .option('--out <dir>', 'write <dir>/<id>.json files instead of printing')
    .action(run(profilesExport));

  const keys = program.command('keys').description('admin API keys (stored hashed)');
  keys
    .command('create')
    .description('create a key; it is printed once')
    .requiredOption('--name <name>', 'a label, e.g. ci or alice')
    .addOption(
      new Option('--role <role>', 'what the key may do')
        .choices(['admin', 'developer'])
        .makeOptionMandatory(),
    )
    .option('--json', 'JSON output (includes the key)')
    .action(run(keysCreate));
  keys
    .command('list')
    .description('keys (never the keys themselves)')
    .option('--json', 'JSON output')
    .action(run(keysList));
  keys
    .command('revoke')
    .description('revoke a key')
    .argument('<id>', 'key id (from keys list)')
    .action(run(keysRevoke));

  const encryption = program.command('encryption').description('encryption at rest');
  encryption
    .command('rotate')
    .description('re-encrypt every record with the current (first) key of ENCRYPTION_KEYS; resumable')
    .option('--after <connectionId>', 'skip connections up to this id (resume an interrupted run)')
    .option('--batch-size <n>', 'connections per batch', positiveInt(10_000))
    .option('--force', 're-encrypt even when a service using this store does not hold the new key')
    .action(run(encryptionRotate));

  const connections = program.command('connections').description('stored connections (never their tokens)');
  connections
    .command('list')
    .description('connections, optionally by profile and status')
    .option('--profile <id>', 'only this profile')
    .addOption(new Option('--status <status>', 'only this status').choices([...CONNECTION_STATUSES]))
    .option('--json', 'JSON output')
    .action(run(connectionsList));
  connections
    .command('revoke')
    .description('revoke at the provider when possible, then delete')
    .argument('<id>', 'connection id')
    .action(run(connectionsRevoke));
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exit = EXIT_OK;
  const program = buildProgram((code) => {
    exit = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exit;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are not errors; everything else Commander rejects is usage.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
        ? EXIT_OK
        : EXIT_USAGE;
    }
    const problem = problemOf(error);
    err(`authprofiles: ${problem.message}`);
    for (const issue of problem.issues) err(`  ${issue.path || '(root)'}: ${issue.message}`);
    return error instanceof CliError ? error.exitCode : EXIT_FAILED;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
