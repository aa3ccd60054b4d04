// The `authprofiles` command as npm links it (package.json "bin"): it must work right after
// `npm install`, without a build (it runs the TypeScript through tsx), from any directory.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const bin = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> })
  .bin.authprofiles as string;

function run(args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, bin), ...args], {
    cwd: mkdtempSync(join(tmpdir(), 'authprofiles-cli-entry-')),
    env: { PATH: process.env.PATH, DATA_DIR: mkdtempSync(join(tmpdir(), 'authprofiles-cli-data-')) },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('the bin runs the CLI from the sources in another directory: --help lists the commands', () => {
  const help = run(['--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: authprofiles \[options\] \[command\]/);
  for (const command of ['validate', 'profiles', 'keys', 'encryption', 'connections']) {
    expect(help.stdout).toContain(command);
  }
}, 90_000);

test('the bin passes the exit code through: an unknown command is a usage error', () => {
  const unknown = run(['no-such-command']);
  expect(unknown.status).not.toBe(0);
  expect(unknown.stderr).toContain("unknown command 'no-such-command'");
}, 90_000);
