import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  bundledProfiles,
  isAuthProfilesError,
  OutboundAllowListError,
  parseOutboundAllowList,
  parseProfileFile,
} from '../../../profiles';
import { err, out, printIssues, problemOf, readJson } from './cliOutput';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE, formatCounts, table } from './common';
import type { Backends } from './openBackend';

/** `validate` and `profiles list|import|export`. */
export function profileCommands(backends: Backends) {
  async function validateCommand(
    files: string[],
    options: { production?: boolean },
    command: Command,
  ): Promise<number> {
    backends.localOnly(command, 'validate');
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
    return backends.withBackend(command, async (store) => {
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
    return backends.withBackend(command, async (store) => {
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
    return backends.withBackend(command, async (store) => {
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

  return { validate: validateCommand, list: profilesList, import: profilesImport, export: profilesExport };
}
