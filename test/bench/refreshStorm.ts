// (b) A refresh storm: 200 callers in 4 processes on one expired connection, real oidc-provider.
// Invariants: the provider receives exactly one refresh call, and every caller gets the same token.
import { join } from 'node:path';
import { generateKeySpec } from '../../profiles/encryption';
import { silentLogger } from '../../profiles/engineContext';
import { sha256 } from '../../profiles/ids';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { startAuthServer } from '../support/authServer';
import { authorize, createHarness, FAST_SETTINGS, PUBLIC_URL, serverProfile } from '../support/engineHarness';
import { startRefreshWorkers } from '../support/refreshWorkers';
import { informational, percentile, round, row, type SectionResult, type Verdict } from './benchFigures';

const KEYS = generateKeySpec('bench1');
const CLIENT = {
  client_id: 'bench',
  client_secret: 'bench-secret-value-123',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const PROCESSES = 4;
const CALLS_PER_PROCESS = 50;

export async function refreshStormSection(): Promise<SectionResult> {
  const server = await startAuthServer({
    clients: [{ ...CLIENT, redirect_uris: [`${PUBLIC_URL}/oauth/callback/bench`], rotateRefreshToken: true }],
    scopes: 'crm.objects.deals.read',
    accessTokenTtl: 3600,
  });
  const harness = await createHarness({
    profiles: [serverProfile(server, 'bench', CLIENT)],
    encryptionKeys: KEYS,
  });
  harness.context.log = silentLogger;
  try {
    const subject: Subject = { kind: 'user', channelId: 'bench', userId: 'storm' };
    const { outcome } = await authorize(harness, 'bench', subject);
    if (outcome.kind !== 'connected') throw new Error(`consent failed: ${outcome.kind}`);
    const profile = await harness.engine.catalog.get('bench');
    const connection = await harness.store.connections.get(profile.id, subjectKey(subject));
    if (!connection) throw new Error('no storm connection');
    // Expired in real time: the workers run on the real clock.
    await harness.store.connections.update(connection.id, connection.version, {
      expiresAt: Date.now() - 1000,
    });
    const workers = await startRefreshWorkers(PROCESSES, {
      dbFile: join(harness.dir, 'authprofiles.db'),
      encryptionKeys: KEYS,
      profile,
      subject,
      calls: CALLS_PER_PROCESS,
      settings: FAST_SETTINGS,
    });
    const before = (await server.stats()).token.refresh_token;
    let reports;
    try {
      reports = await workers.start(300);
    } finally {
      await workers.stop();
    }
    const refreshCalls = (await server.stats()).token.refresh_token - before;
    const results = reports.flatMap((report) => report.results);
    const waits = results.map((result) => result.waitMs).sort((a, b) => a - b);
    const hashes = new Set(
      results.map((result) => (result.ok ? result.tokenHash : `failed:${result.reason}`)),
    );
    const stored = await harness.engine.getToken(profile, subject);
    const allSameToken = hashes.size === 1 && stored.ok && hashes.has(sha256(stored.accessToken));
    const failures = results.filter((result) => !result.ok).length;
    const leftInWorkers = reports.reduce(
      (sum, report) => sum + report.activity.inFlight + report.activity.unsaved,
      0,
    );
    const figures = {
      callers: results.length,
      processes: PROCESSES,
      refreshCalls,
      allSameToken,
      failures,
      p50WaitMs: round(percentile(waits, 50)),
      p99WaitMs: round(percentile(waits, 99)),
      maxWaitMs: round(waits[waits.length - 1] ?? NaN),
      leftInWorkers,
    };
    const oneRefresh: Verdict = { target: '= 1', met: refreshCalls === 1 };
    const sameToken: Verdict = { target: `= ${results.length}`, met: allSameToken && failures === 0 };
    const nothingLeft: Verdict = { target: '= 0', met: leftInWorkers === 0 };
    return {
      name: 'storm',
      lines: [
        `(b) refresh storm: ${figures.callers} callers in ${PROCESSES} processes, one expired connection`,
        row('refresh calls received by the provider', [refreshCalls], oneRefresh),
        row('callers with the same new token', [`${results.length - failures}/${results.length}`], sameToken),
        row(
          'wait ms: p50 / p99 / max',
          [figures.p50WaitMs, figures.p99WaitMs, figures.maxWaitMs],
          informational,
        ),
        row('left in the workers: in flight + unsaved', [leftInWorkers], nothingLeft),
      ],
      figures,
      broken: [
        ...(oneRefresh.met ? [] : ['more than one refresh call']),
        ...(sameToken.met ? [] : ['callers with different tokens or failures']),
        ...(nothingLeft.met ? [] : ['refresh work left in the workers']),
      ],
      verdicts: [
        { figure: 'refresh calls in a storm', verdict: oneRefresh },
        { figure: 'storm callers with the same token', verdict: sameToken },
      ],
    };
  } finally {
    await harness.close();
    await server.stop();
  }
}
