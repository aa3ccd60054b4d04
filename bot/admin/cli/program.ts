/**
 * `authprofiles`: the command line of the service (issue 4, point 4), run by bot/cli.ts. After
 * `npm run build`: `npx authprofiles <command>` or `node dist/bot/cli.js <command>`.
 *
 * Local commands open the same store, key ring and profile catalog as the service, from the same
 * environment (bot/config.ts). With `--remote <url>` (and `--key` or AUTHPROFILES_ADMIN_KEY) the
 * profile, action, key and connection commands go to a running service's admin REST API instead.
 * Exit codes: 0 ok, 1 the operation failed, 2 usage or configuration error.
 * Never printed: tokens, client secrets, encryption keys (only key ids), admin keys (except once,
 * when created).
 */
import { Command, CommanderError, Option } from 'commander';
import { actionCommands, actionKeyArgument } from './actionCommands';
import { err, positiveInt, problemOf } from './cliOutput';
import { CliError, CONNECTION_STATUSES, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './common';
import { connectionCommands } from './connectionCommands';
import { consentCommands } from './consentCommands';
import { encryptionCommands } from './encryptionCommands';
import { keyCommands } from './keyCommands';
import { Backends, type CliHost } from './openBackend';
import { profileCommands } from './profileCommands';

export type { CliHost } from './openBackend';

export function buildProgram(setExit: (code: number) => void, host: CliHost): Command {
  const backends = new Backends(host);
  const profileCommand = profileCommands(backends);
  const keyCommand = keyCommands(backends);
  const connectionCommand = connectionCommands(backends);
  const encryptionCommand = encryptionCommands(backends);
  const actionCommand = actionCommands(backends);
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
    .action(run(profileCommand.validate));

  const profiles = program.command('profiles').description('list, import and export profiles');
  profiles
    .command('list')
    .description('every profile with its source, authorization, status and connection counts')
    .option('--json', 'JSON output')
    .action(run(profileCommand.list));
  profiles
    .command('import')
    .description('create or update profiles from JSON files (an object or an array of objects per file)')
    .argument('<file...>', 'profile JSON files')
    .option('--actor <name>', 'name recorded in the audit log (as cli:<name>)')
    .action(run(profileCommand.import));
  profiles
    .command('export')
    .description('write stored and custom profiles as JSON, without client secrets')
    .argument('[id...]', 'profile ids (default: every stored or custom profile)')
    .option('--out <dir>', 'write <dir>/<id>.json files instead of printing')
    .action(run(profileCommand.export));

  const actions = program
    .command('actions')
    .description("a profile's actions (issue 11): list them, switch one on or off");
  actions
    .command('list')
    .description('the actions a profile declares: key, on/off (and whether by default), read/write, title')
    .argument('<profile>', 'profile id')
    .option('--json', 'JSON output')
    .action(run(actionCommand.list));
  for (const [name, handler] of [
    ['enable', actionCommand.enable],
    ['disable', actionCommand.disable],
  ] as const) {
    actions
      .command(name)
      .description(
        `${name} one action of a profile (saved in its actionSettings; a bundled profile's in its stored override)`,
      )
      .argument('<profile>', 'profile id')
      .argument('<key>', 'action key (entity.action, from actions list)', actionKeyArgument)
      .action(run(handler));
  }

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
    .action(run(keyCommand.create));
  keys
    .command('list')
    .description('keys (never the keys themselves)')
    .option('--json', 'JSON output')
    .action(run(keyCommand.list));
  keys
    .command('revoke')
    .description('revoke a key')
    .argument('<id>', 'key id (from keys list)')
    .action(run(keyCommand.revoke));

  const encryption = program.command('encryption').description('encryption at rest');
  encryption
    .command('rotate')
    .description('re-encrypt every record with the current (first) key of ENCRYPTION_KEYS; resumable')
    .option('--after <connectionId>', 'skip connections up to this id (resume an interrupted run)')
    .option('--batch-size <n>', 'connections per batch', positiveInt(10_000))
    .option('--force', 're-encrypt even when a service using this store does not hold the new key')
    .action(run(encryptionCommand.rotate));

  const connections = program.command('connections').description('stored connections (never their tokens)');
  connections
    .command('list')
    .description('connections, optionally by profile and status')
    .option('--profile <id>', 'only this profile')
    .addOption(new Option('--status <status>', 'only this status').choices([...CONNECTION_STATUSES]))
    .option('--json', 'JSON output')
    .action(run(connectionCommand.list));
  connections
    .command('revoke')
    .description('revoke at the provider when possible, then delete')
    .argument('<id>', 'connection id')
    .action(run(connectionCommand.revoke));
  connections
    .command('import')
    .description(
      'bring your own tokens: store a connection from a refresh token obtained elsewhere, proved by a refresh first',
    )
    .requiredOption('--profile <id>', 'the profile')
    .option('--user <channel:userId>', 'for this chat user (channel id, a colon, the user id)')
    .option('--organization', 'for the organisation (a pre-authorized connection)')
    .requiredOption('--refresh-token-file <file>', "file holding the refresh token ('-' for standard input)")
    .option('--access-token-file <file>', "file holding an access token (optional; '-' for standard input)")
    .option('--json', 'JSON output')
    .action(run(connectionCommand.import));
  registerConsentCommands(program, connections, consentCommands(backends), run);
  return program;
}

export async function main(argv: readonly string[], host: CliHost): Promise<number> {
  let exit = EXIT_OK;
  const program = buildProgram((code) => {
    exit = code;
  }, host);
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

/** `consents start` and `connections link` (consentCommands.ts): consent started by another system. */
function registerConsentCommands(
  program: Command,
  connections: Command,
  commands: ReturnType<typeof consentCommands>,
  run: <A extends unknown[]>(action: (...args: A) => Promise<number | void>) => (...args: A) => Promise<void>,
): void {
  program
    .command('consents')
    .description('consent started by another system (its users, its redirect URL)')
    .command('start')
    .description(
      'print a consent URL for a user of another system; the browser comes back to --redirect-url with connection_id',
    )
    .requiredOption('--profile <id>', 'the profile (its consentRedirectUrls must allow --redirect-url)')
    .requiredOption('--external-user <id>', "the other system's user id")
    .requiredOption('--redirect-url <url>', 'where the browser goes after the consent')
    .option('--json', 'JSON output (requestId, consentUrl, expiresAt)')
    .action(run(commands.start));
  connections
    .command('link')
    .description('give a connection made through `consents start` to a chat user (it gets a new id)')
    .argument('<connectionId>', 'the connection_id the redirect URL received')
    .requiredOption('--user <channel:userId>', 'the chat user (channel id, a colon, the user id)')
    .option('--json', 'JSON output')
    .action(run(commands.link));
}
