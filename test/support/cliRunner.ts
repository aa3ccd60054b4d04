// Runs the `authprofiles` CLI from the sources (`node --import tsx bot/cli.ts`) in a child process with
// a clean environment: only PATH, HOME, NODE_ENV=test and what the test gives (unset entries dropped).
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `printed` collects every stdout and stderr, for a test that scans all output for secrets. */
export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  printed: string[],
  /** Written to the CLI's standard input, which is then closed (empty by default). */
  stdin?: string,
): Promise<CliRun> {
  const merged = Object.fromEntries(
    Object.entries({
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? tmpdir(),
      NODE_ENV: 'test',
      ...env,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bot/cli.ts', ...args], {
      cwd: ROOT,
      env: merged,
      stdio: 'pipe',
    });
    child.stdin.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      printed.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}
