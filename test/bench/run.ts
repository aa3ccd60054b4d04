// `npm run bench [-- --connections N] [--only e]`: the engine's performance figures, measured in one run on this
// machine, each printed with its target (issue 12) and "met" / "NOT met". One section per file:
//   (a)  storeReads.ts        getToken on a valid token against a raw read of the same row
//   (a') tokenServiceHttp.ts  the token service's GetToken over HTTP against the direct getToken
//   (b)  refreshStorm.ts      200 callers in 4 processes on one expired connection, one refresh
//   (c)  storeScale.ts        connection writes per second on SQLite, memory after reading them back
//   (d)  cardFormatting.ts    CRM deal cards against JSON.stringify of the same page
//   (e)  storeScale.ts        getToken and list figures at 10k and at N connections (default 1M)
//   (f)  consentFlowSection.ts consent flows and turns through the real service in a child process
// `--only <letter>` runs one section (e.g. `--only e --connections 200000`).
// Prints the sections, a summary of targets, then one JSON line with every figure. Exits non-zero
// when an invariant breaks (not when a target is missed: the figures say that).
import { cpus, loadavg } from 'node:os';
import { round, verdictText, type SectionResult } from './benchFigures';
import { cardFormattingSection } from './cardFormatting';
import { consentFlowSection } from './consentFlowSection';
import { refreshStormSection } from './refreshStorm';
import { storeReadsSection } from './storeReads';
import { DEFAULT_LARGE_STORE, storeScaleSection, storeWritesSection } from './storeScale';
import { tokenServiceHttpSection } from './tokenServiceHttp';

function connectionsFlag(argv: readonly string[]): number {
  const at = argv.indexOf('--connections');
  if (at === -1) return DEFAULT_LARGE_STORE;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value < 10_000) {
    throw new Error(`--connections must be a whole number >= 10000, got "${argv[at + 1] ?? ''}"`);
  }
  return value;
}

function onlyFlag(argv: readonly string[], letters: readonly string[]): string | undefined {
  const at = argv.indexOf('--only');
  if (at === -1) return undefined;
  const value = argv[at + 1] ?? '';
  if (!letters.includes(value)) {
    throw new Error(`--only must be one of ${letters.join(', ')}, got "${value}"`);
  }
  return value;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const large = connectionsFlag(argv);
  const started = performance.now();
  const load = loadavg()[0] ?? NaN;
  const all: [string, () => Promise<SectionResult> | SectionResult][] = [
    ['a', storeReadsSection],
    ["a'", tokenServiceHttpSection],
    ['b', refreshStormSection],
    ['c', storeWritesSection],
    ['d', cardFormattingSection],
    ['e', () => storeScaleSection(large)],
    ['f', consentFlowSection],
  ];
  const only = onlyFlag(
    argv,
    all.map(([letter]) => letter),
  );
  const sections = all.filter(([letter]) => only === undefined || letter === only).map(([, run]) => run);
  const results: SectionResult[] = [];
  for (const section of sections) {
    const result = await section();
    results.push(result);
    console.log(result.lines.join('\n'));
    console.log('');
  }
  const seconds = round((performance.now() - started) / 1000);
  console.log(
    `authprofiles bench — node ${process.version}, ${cpus().length} cpus, load average ${round(load, 2)} at start, ${seconds} s`,
  );
  console.log('targets:');
  for (const { figure, verdict } of results.flatMap((result) => result.verdicts)) {
    console.log(`  ${verdictText(verdict).padEnd(8)} ${figure} (target ${verdict.target})`);
  }
  const broken = results.flatMap((result) => result.broken);
  for (const problem of broken) console.log(`  BROKEN   ${problem}`);
  console.log('');
  console.log(
    JSON.stringify({
      bench: 'authprofiles',
      node: process.version,
      cpus: cpus().length,
      loadAverage: round(load, 2),
      seconds,
      ...Object.fromEntries(results.map((result) => [result.name, result.figures])),
    }),
  );
  if (broken.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
