// Which index SQLite uses for each statement the SQLite adapter runs: the statements are recorded
// as the adapter prepares and runs them (SQL text and bound values), then each is run again under
// EXPLAIN QUERY PLAN on the same file. Nothing here writes the SQL itself.
import Database from 'better-sqlite3';

export interface RecordedStatement {
  sql: string;
  params: unknown[];
}

export interface StatementRecorder {
  /** Statements run since the last call, in order; clears the list. */
  take(): RecordedStatement[];
  stop(): void;
}

/**
 * Records every statement run through a better-sqlite3 statement prepared from now on (open the
 * store after this: the adapter prepares each text once and caches it).
 */
export function recordStatements(): StatementRecorder {
  let recorded: RecordedStatement[] = [];
  const prepare = Database.prototype.prepare;
  Database.prototype.prepare = function (this: Database.Database, sql: string) {
    const statement = prepare.call(this, sql) as unknown as Record<string, unknown>;
    for (const method of ['get', 'all', 'run', 'iterate'] as const) {
      const original = statement[method] as (...args: unknown[]) => unknown;
      statement[method] = (...params: unknown[]) => {
        recorded.push({ sql, params });
        return original.apply(statement, params);
      };
    }
    return statement as unknown as Database.Statement;
  } as typeof prepare;
  return {
    take() {
      const taken = recorded;
      recorded = [];
      return taken;
    },
    stop() {
      Database.prototype.prepare = prepare;
    },
  };
}

/** The plan lines (`detail`) of one statement, on the database file at `file`, opened read-only. */
export function queryPlan(file: string, statement: RecordedStatement): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${statement.sql}`)
      .all(...statement.params)
      .map((row) => row.detail);
  } finally {
    db.close();
  }
}

/**
 * Plan lines that read the whole connections table (or walk a whole index of it), or sort rows. A
 * sort is fine after a search bounded by the subject key: it orders one subject's connections.
 */
export function fullScans(plan: readonly string[]): string[] {
  const oneSubject = plan.some((line) => /^SEARCH connections USING .*\(.*subject_key[=<>]/.test(line));
  return plan.filter((line) => /^SCAN connections\b/.test(line) || (/TEMP B-TREE/.test(line) && !oneSubject));
}
