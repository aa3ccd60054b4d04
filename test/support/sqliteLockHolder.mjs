// A second process that holds SQLite's write lock on a file (SECURITY.md #53 tests): it opens the file
// with better-sqlite3, runs `BEGIN IMMEDIATE` (or `BEGIN EXCLUSIVE`), prints "locked", and commits
// when it reads "release" on stdin (printing "released"). It exits when its stdin closes, so it
// never outlives the test that started it. Usage: node sqliteLockHolder.mjs <file> [IMMEDIATE|EXCLUSIVE]
import Database from 'better-sqlite3';
import { createInterface } from 'node:readline';

const [file, mode = 'IMMEDIATE'] = process.argv.slice(2);
if (!file || !['IMMEDIATE', 'EXCLUSIVE'].includes(mode)) {
  process.stderr.write('usage: sqliteLockHolder.mjs <file> [IMMEDIATE|EXCLUSIVE]\n');
  process.exit(2);
}
const db = new Database(file);
db.exec(`BEGIN ${mode}`);
process.stdout.write('locked\n');
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() !== 'release' || !db.inTransaction) return;
    db.exec('COMMIT');
    process.stdout.write('released\n');
  })
  .on('close', () => {
    db.close();
    process.exit(0);
  });
