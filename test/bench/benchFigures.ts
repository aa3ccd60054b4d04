// Shared by the bench sections: timing, percentiles, and one printed line per figure with its
// target and whether it is met (issue 12: every figure printed with its target).
import { readFileSync } from 'node:fs';
import type { TokenSet } from '../../profiles/oauth/tokenResponse';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export const mb = (bytes: number): number => round(bytes / 1024 / 1024);

export interface Latencies {
  opsPerSecond: number;
  p50Us: number;
  p99Us: number;
}

/** Times `ops` sequential awaited calls, one by one, adding each call's µs to `into`; returns seconds. */
export async function timeCalls(
  ops: number,
  call: (i: number) => Promise<unknown>,
  into: number[],
): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < ops; i += 1) {
    const t0 = process.hrtime.bigint();
    await call(i);
    into.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export function summarize(samples: readonly number[], seconds: number): Latencies {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    opsPerSecond: Math.round(samples.length / seconds),
    p50Us: round(percentile(sorted, 50)),
    p99Us: round(percentile(sorted, 99)),
  };
}

export function tokenSet(seed: string, now: number): TokenSet {
  return {
    accessToken: `bench-access-${seed}-${'a'.repeat(40)}`,
    refreshToken: `bench-refresh-${seed}-${'r'.repeat(40)}`,
    tokenType: 'bearer',
    expiresAt: now + 3_600_000,
    expiresAtEstimated: false,
    scopes: ['crm.objects.deals.read'],
  };
}

/** A profile whose provider is never contacted (valid tokens only), so its URLs need not answer. */
export const OFFLINE_PROFILE = {
  id: 'bench',
  displayName: 'Bench',
  authorizationUrl: 'http://127.0.0.1:9/authorize',
  tokenUrl: 'http://127.0.0.1:9/token',
  clientId: 'bench',
  clientSecret: 'bench-secret-value-123',
  scopes: ['crm.objects.deals.read'],
};

/** A figure's target: `met` is null for figures printed for information only. */
export interface Verdict {
  target: string;
  met: boolean | null;
}

export const atLeast = (value: number, target: number, unit = ''): Verdict => ({
  target: `>= ${target}${unit}`,
  met: value >= target,
});

export const atMost = (value: number, target: number, unit = ''): Verdict => ({
  target: `<= ${target}${unit}`,
  met: value <= target,
});

/** For figures the issue sets no target for: printed as "(no target)". */
export const informational: Verdict = { target: 'none', met: null };

export function verdictText(verdict: Verdict): string {
  return verdict.met === null ? '' : verdict.met ? 'met' : 'NOT met';
}

/** One table line: a label, values right-aligned, then target and met / NOT met. */
export function row(label: string, values: (string | number)[], verdict?: Verdict): string {
  const cells = values.map((value) => String(value).padStart(12)).join('');
  const tail = !verdict
    ? ''
    : verdict.met === null
      ? '   (no target)'
      : `   target ${verdict.target.padEnd(10)} ${verdictText(verdict)}`;
  return `  ${label.padEnd(52)}${cells}${tail}`;
}

/** What a section hands back to run.ts: its printed lines, its figures (JSON) and broken invariants. */
export interface SectionResult {
  name: string;
  lines: string[];
  figures: Record<string, unknown>;
  /** Invariants (not targets) that broke: the bench exits non-zero when any section has one. */
  broken: string[];
  /** Targets and whether each was met, for the summary. */
  verdicts: { figure: string; verdict: Verdict }[];
}

/**
 * Peak RSS of this process, from Linux's VmHWM. Not `process.resourceUsage().maxRSS`: ru_maxrss
 * survives execve, so a child started by a large parent reports the parent's RSS at fork as its
 * own peak (that is how the bench once printed a 2.7 GB "peak" for a ~130 MB child). Null where
 * /proc is missing.
 */
export function peakRssMb(): number | null {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match ? round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}
