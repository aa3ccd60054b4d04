// `authprofiles connections import` (issue 10 point 5), run as a child process exactly as a user runs
// it, against a temporary DATA_DIR and a real oidc-provider authorization server: a real refresh token
// from a real flow (in-process engine) is imported for another user and for the organisation, from a
// file and from standard input; a bad one is refused naming the provider's answer; nothing is printed
// that holds a token.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTokens } from '../../profiles/connections';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { authorize, createHarness, PUBLIC_URL, serverProfile, type Harness } from '../support/engineHarness';
import { runCli, type CliRun } from '../support/cliRunner';

jest.setTimeout(120_000);

const CLIENT = {
  client_id: 'cli-import-client',
  client_secret: `cli-import-secret-${randomBytes(8).toString('hex')}`,
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const ENCRYPTION_KEYS = `k1:${randomBytes(32).toString('base64')}`;

let authServer: RunningAuthServer;
let harness: Harness;
let dir: string;
let refreshToken: string;
const printed: string[] = [];

function cli(args: string[], stdin = ''): Promise<CliRun> {
  return runCli(
    args,
    {
      DATA_DIR: dir,
      PROFILES_DIR: join(dir, 'profiles'),
      ENCRYPTION_KEYS,
    },
    printed,
    stdin,
  );
}

beforeAll(async () => {
  authServer = await startAuthServer({
    clients: [{ ...CLIENT, redirect_uris: [`${PUBLIC_URL}/oauth/callback/crm`] }],
    scopes: 'crm.objects.deals.read',
  });
  const profile = serverProfile(authServer, 'crm', CLIENT);
  harness = await createHarness({ profiles: [profile] });
  await authorize(harness, 'crm');
  const stored = await harness.store.connections.get('crm', 'user:webchat:alice');
  refreshToken = openTokens(harness.context, stored!).refreshToken as string;
  expect(refreshToken).toEqual(expect.any(String));

  dir = mkdtempSync(join(tmpdir(), 'authprofiles-cli-import-'));
  mkdirSync(join(dir, 'profiles'));
  writeFileSync(join(dir, 'profiles', 'crm.json'), JSON.stringify(profile));
  writeFileSync(join(dir, 'refresh.txt'), `${refreshToken}\n`);
  writeFileSync(join(dir, 'bogus.txt'), 'not-a-refresh-token-31337\n');
});

afterAll(async () => {
  await harness?.close();
  await authServer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('imports a real refresh token for a chat user (file) and the organisation (stdin), proved by a refresh', async () => {
  const before = (await authServer.stats()).token.refresh_token;
  const user = await cli([
    'connections',
    'import',
    '--profile',
    'crm',
    '--user',
    'msteams:29:1bob',
    '--refresh-token-file',
    join(dir, 'refresh.txt'),
  ]);
  expect(user).toMatchObject({ code: 0, stderr: '' });
  expect(user.stdout).toMatch(/^imported connection con_\S+ \(crm, user:msteams:29%3A1bob\)\n$/);

  const org = await cli(
    ['connections', 'import', '--profile', 'crm', '--organization', '--refresh-token-file', '-', '--json'],
    refreshToken,
  );
  expect(org.code).toBe(0);
  expect(JSON.parse(org.stdout)).toMatchObject({ profileId: 'crm', subjectKey: 'org', status: 'active' });
  expect((await authServer.stats()).token.refresh_token).toBe(before + 2);

  const listed = await cli(['connections', 'list', '--json']);
  expect(
    (JSON.parse(listed.stdout) as { subjectKey: string }[]).map((connection) => connection.subjectKey).sort(),
  ).toEqual(['org', 'user:msteams:29%3A1bob']);
});

test('a refused refresh token fails naming the provider answer, stores nothing, echoes nothing', async () => {
  const refused = await cli([
    'connections',
    'import',
    '--profile',
    'crm',
    '--user',
    'webchat:carol',
    '--refresh-token-file',
    join(dir, 'bogus.txt'),
  ]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('the provider refused the refresh token (HTTP 400, invalid_grant)');
  expect(refused.stderr).not.toContain('not-a-refresh-token-31337');
  const listed = await cli(['connections', 'list', '--json']);
  expect(listed.stdout).not.toContain('carol');
});

test('usage errors: no subject, both subjects, a bad --user, a missing file (exit 2)', async () => {
  const file = join(dir, 'refresh.txt');
  for (const args of [
    ['--refresh-token-file', file],
    ['--organization', '--user', 'webchat:x', '--refresh-token-file', file],
    ['--user', 'nocolon', '--refresh-token-file', file],
    ['--organization', '--refresh-token-file', join(dir, 'missing.txt')],
  ]) {
    const run = await cli(['connections', 'import', '--profile', 'crm', ...args]);
    expect({ args, code: run.code }).toEqual({ args, code: 2 });
  }
});

test('nothing printed holds a token or the client secret', () => {
  for (const text of printed) {
    expect(text).not.toContain(refreshToken);
    expect(text).not.toContain(CLIENT.client_secret);
  }
});
