#!/usr/bin/env node
// The `authprofiles` command. In a checkout with its dev tools (right after `npm install`) it runs the
// TypeScript sources through tsx, so the CLI needs no build step and never runs a stale build; in a
// production install (`npm prune --omit=dev`, no tsx) it runs the compiled dist/bot/cli.js.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

/** tsx's loader as a file URL (resolved from here, not from the caller's directory), or null. */
function tsxLoader() {
  try {
    return pathToFileURL(require.resolve('tsx')).href;
  } catch {
    return null;
  }
}

const source = path.join(__dirname, 'cli.ts');
const compiled = path.join(__dirname, '..', 'dist', 'bot', 'cli.js');
// A child process, so that the CLI module is its own entry point (it runs when it is the main module).
const loader = existsSync(source) ? tsxLoader() : null;
const args = loader ? ['--import', loader, source] : [compiled];
const run = spawnSync(process.execPath, [...args, ...process.argv.slice(2)], { stdio: 'inherit' });
if (run.error) {
  process.stderr.write(`authprofiles: ${run.error.message}\n`);
  process.exit(1);
}
process.exit(run.status ?? 1);
