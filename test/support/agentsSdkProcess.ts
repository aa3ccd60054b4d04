// Starts ./agentsSdkAgent.ts (a Microsoft 365 Agents SDK agent) as its own process, the way it is
// deployed: its configuration is its environment and nothing else. Only PATH and HOME are inherited.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { findRepoRoot } from './authServer';
import type { FakeEntra } from './fakeEntra';

const READY_TIMEOUT_MS = 30_000;

export interface AgentsSdkAgent {
  /** http://127.0.0.1:<port>/api/messages */
  endpoint: string;
  /** Every line the agent printed (stdout and stderr). */
  output(): string[];
  /** The turn errors its onTurnError reported, and errors of its HTTP host (prefixed `host: `). */
  turnErrors(): string[];
  stop(): Promise<void>;
}

export async function startAgentsSdkAgent(
  env: Record<string, string>,
  options: { fakeEntra?: FakeEntra } = {},
): Promise<AgentsSdkAgent> {
  const root = findRepoRoot(__dirname);
  const inherited: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR']) {
    const value = process.env[key];
    if (value !== undefined) inherited[key] = value;
  }
  const preload: string[] = [];
  let certificateDir: string | undefined;
  if (options.fakeEntra) {
    // The fake Entra's self-signed certificate, trusted the way a deployment trusts a private CA.
    certificateDir = mkdtempSync(path.join(tmpdir(), 'agents-sdk-ca-'));
    const certificateFile = path.join(certificateDir, 'fake-entra.pem');
    writeFileSync(certificateFile, options.fakeEntra.certificate);
    inherited.NODE_EXTRA_CA_CERTS = certificateFile;
    inherited.FAKE_ENTRA_HOST = options.fakeEntra.authorityHost;
    preload.push('--import', path.join(root, 'test', 'support', 'fakeEntraInstanceDiscovery.ts'));
  }
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...preload, path.join(root, 'test', 'support', 'agentsSdkAgent.ts')],
    { cwd: root, env: { ...inherited, NODE_ENV: 'development', PORT: '0', ...env }, stdio: 'pipe' },
  );
  void new Promise<void>((resolve) => child.once('exit', () => resolve())).then(() => {
    if (certificateDir) rmSync(certificateDir, { recursive: true, force: true });
  });
  const lines: string[] = [];
  const turnErrors: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the agent did not start:\n${lines.join('\n')}`)),
      READY_TIMEOUT_MS,
    );
    void exited.then(() => reject(new Error(`the agent exited:\n${lines.join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      let record: { listening?: number; turnError?: string; hostError?: string } = {};
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        return;
      }
      if (record.turnError) turnErrors.push(record.turnError);
      if (record.hostError) turnErrors.push(`host: ${record.hostError}`);
      if (record.listening) {
        clearTimeout(timer);
        resolve(record.listening);
      }
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}/api/messages`,
    output: () => [...lines],
    turnErrors: () => [...turnErrors],
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
