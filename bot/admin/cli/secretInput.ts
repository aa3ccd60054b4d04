import { readFileSync } from 'node:fs';
import { CliError, EXIT_USAGE } from './common';

/**
 * Secrets (tokens) reach the CLI from a file or from standard input (`-`), never from the command
 * line, where `ps`, shell history and CI logs would keep them. One value per file; surrounding
 * whitespace (a trailing newline) is dropped.
 */
export function readSecret(source: string, what: string, readStdin: () => string = readStdinOnce): string {
  let text: string;
  try {
    text = source === '-' ? readStdin() : readFileSync(source, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(
      `${what}: cannot read ${source === '-' ? 'standard input' : source} (${reason})`,
      EXIT_USAGE,
    );
  }
  const value = text.trim();
  if (value === '' || /\s/.test(value)) {
    // Never echo what was read: it may be a token pasted in the wrong place.
    throw new CliError(
      `${what}: expected one token without spaces in ${source === '-' ? 'standard input' : source}`,
      EXIT_USAGE,
    );
  }
  return value;
}

function readStdinOnce(): string {
  return readFileSync(0, 'utf8');
}
