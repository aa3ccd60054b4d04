// `node --import tsx test/bench/cpuProfileSummary.ts <file.cpuprofile> [top]`: the functions with the
// most self time in a V8 CPU profile (as --cpu-prof or BENCH_CPU_PROFILE writes), and self time by
// package, so the bench's profiles can be read without DevTools.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node:internal';
  if (url === '') return '(native/VM)';
  const root = url.indexOf('/wt-');
  return root >= 0 ? url.slice(url.indexOf('/', root + 1) + 1).split('/')[0] + '/' : url;
}

export function summarize(file: string, top = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const file = frame.url.split('/').slice(-2).join('/');
    const key = `${frame.functionName || '(anonymous)'}  ${file}:${frame.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg = where(frame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes as (ProfileNode & { children?: number[] })[]) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const inclusive = new Map<string, number>();
  profile.samples.forEach((leaf, i) => {
    const seen = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (
        !frame ||
        frame.url === '' ||
        (!process.env.ALL && (frame.url.includes('node_modules') || frame.url.startsWith('node:')))
      )
        continue;
      const key = `${frame.functionName || '(anonymous)'}  ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
  });
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const lines = [`${file}: ${(total / 1000).toFixed(0)} ms sampled`, 'self time by function:'];
  for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${pct(us)}  ${key}`);
  }
  lines.push("total (inclusive) time of the project's own functions:");
  for (const [key, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${pct(us)}  ${key}`);
  }
  lines.push('self time by package / folder:');
  for (const [key, us] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    lines.push(`  ${pct(us)}  ${key}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: cpuProfileSummary.ts <file.cpuprofile> [top]');
    process.exitCode = 2;
  } else {
    console.log(summarize(file, top ? Number(top) : 25));
  }
}
