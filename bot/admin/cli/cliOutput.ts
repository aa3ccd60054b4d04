import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { type FieldIssue, isAuthProfilesError } from '../../../profiles';
import { CliError, EXIT_FAILED, EXIT_USAGE } from './common';

/** What the commands print: results on stdout, messages and problems on stderr. */
export const out = (line = '') => process.stdout.write(`${line}\n`);
export const err = (line: string) => process.stderr.write(`${line}\n`);

export function readJson(file: string): unknown {
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

export function printIssues(prefix: string, issues: readonly FieldIssue[], fallback: string): void {
  if (issues.length === 0) {
    err(`${prefix}: ${fallback}`);
    return;
  }
  for (const issue of issues) err(`${prefix}: ${issue.path || '(root)'}: ${issue.message}`);
}

/** The message of an engine error without the "invalid profile: a: b; c: d" summary the issues repeat. */
export function problemOf(error: unknown): { message: string; issues: FieldIssue[] } {
  if (error instanceof CliError) return { message: error.message, issues: error.issues };
  if (isAuthProfilesError(error))
    return { message: `${error.message} (${error.code})`, issues: error.issues };
  return { message: (error as Error).message, issues: [] };
}

export function positiveInt(max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`must be a whole number from 1 to ${max}`);
    }
    return Number(value);
  };
}
