// Microsoft 365 Agents Playground (@microsoft/m365agentsplayground, a local Teams-like client that
// runs offline) as a child process in front of a bot endpoint, for the e2e tests that drive its web
// UI in Chromium. It sends the bot `msteams` activities without an Authorization header and takes
// the replies at its own `/_connector` serviceUrl.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { findRepoRoot } from './authServer';
import { freePort } from './serviceProcess';

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

function cliPath(): string {
  return path.join(findRepoRoot(__dirname), 'node_modules', '@microsoft', 'm365agentsplayground', 'cli.js');
}

/** Why the Playground cannot run here, or undefined when it can. */
export function playgroundUnavailableReason(): string | undefined {
  return existsSync(cliPath())
    ? undefined
    : '@microsoft/m365agentsplayground is not installed (npm install); Agents Playground tests skipped';
}

export interface AgentsPlayground {
  /** The Playground's web UI, http://127.0.0.1:<port>/ */
  url: string;
  output(): string[];
  stop(): Promise<void>;
}

export async function startAgentsPlayground(botEndpoint: string): Promise<AgentsPlayground> {
  // It writes devTools/m365agentsplayground.log into its working directory: a temporary one.
  const workDir = mkdtempSync(path.join(tmpdir(), 'agents-playground-'));
  const child = spawn(
    process.execPath,
    [cliPath(), '-e', botEndpoint, '-c', 'msteams', '-p', String(await freePort()), '--disable-telemetry'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        // No browser of its own, no telemetry pings (there is no network here anyway).
        TEAMSAPPTESTER_BROWSER: 'none',
        APPLICATION_INSIGHTS_NO_STATSBEAT: '1',
      },
      cwd: workDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      rmSync(workDir, { recursive: true, force: true });
      resolve();
    }),
  );
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
  };
  // A taken port silently becomes a random one: the "Listening on" line is the truth.
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the Agents Playground did not start:\n${lines.join('\n')}`));
    }, READY_TIMEOUT_MS);
    void exited.then(() => reject(new Error(`the Agents Playground exited:\n${lines.join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const listening = /Listening on (\d+)/.exec(line);
      if (listening) {
        clearTimeout(timer);
        resolve(Number(listening[1]));
      }
    });
  });
  return { url: `http://127.0.0.1:${port}/`, output: () => [...lines], stop };
}
