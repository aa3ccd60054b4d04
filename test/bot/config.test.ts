// The environment schema: defaults, and a bad value stops start-up naming the variable.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, loadConfig } from '../../bot/config';
import { createLogger } from '../../bot/logger';
import { createEngine } from '../../bot/services';
import { devAdminKey } from '../../profiles/adminKeys';
import { startService } from '../support/serviceProcess';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  return [];
}

test('no settings: dev mode on port 3978 with the embedded store under ./data', () => {
  const config = loadConfig({});
  expect(config.port).toBe(3978);
  expect(config.publicUrl).toBe('http://localhost:3978');
  expect(config.devFeatures).toBe(true);
  expect(config.dataDir).toMatch(/\/data$/);
  expect(config.env.MONGODB_URI).toBeUndefined();
  expect(config.env.SIGNIN_TIMEOUT_SECONDS).toBe(600);
  expect(config.env.MicrosoftAppId).toBe('');
});

test('bad values are named', () => {
  expect(problems({ PORT: 'eighty' })[0]).toMatch(/^PORT: /);
  expect(problems({ PORT: '70000' })[0]).toMatch(/^PORT: /);
  expect(problems({ MONGODB_URI: 'postgres://x' })[0]).toMatch(/^MONGODB_URI: must be a mongodb/);
  expect(problems({ PUBLIC_URL: 'not a url' })[0]).toMatch(/^PUBLIC_URL: /);
  expect(problems({ PUBLIC_URL: 'https://bot.example.com/?x=1' })[0]).toMatch(
    /^PUBLIC_URL: must be a plain base URL/,
  );
  expect(problems({ ADMIN_API_KEYS: 'root:abcdefghijklmnopq' })[0]).toMatch(
    /^ADMIN_API_KEYS: entry 1 must be "admin:<key>"/,
  );
  expect(problems({ ADMIN_API_KEYS: 'admin:short' })[0]).toMatch(/^ADMIN_API_KEYS: /);
  expect(problems({ MicrosoftAppId: 'abc' })[0]).toMatch(/^MicrosoftAppPassword: is required/);
  expect(
    problems({ MicrosoftAppType: 'SingleTenant', MicrosoftAppId: 'a', MicrosoftAppPassword: 'b' })[0],
  ).toMatch(/^MicrosoftAppTenantId: /);
  expect(problems({ SIGNIN_TIMEOUT_SECONDS: '5' })[0]).toMatch(/^SIGNIN_TIMEOUT_SECONDS: /);
});

const BOT = { MicrosoftAppId: '00000000-0000-0000-0000-000000000001', MicrosoftAppPassword: 'secret' };

test('production needs https PUBLIC_URL, ENCRYPTION_KEYS (SECURITY.md #31) and a bot app id, and has no dev features', () => {
  const found = problems({ NODE_ENV: 'production' });
  expect(found).toContain('MicrosoftAppId: is required in production (the Azure Bot registration)');
  expect(found).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^PUBLIC_URL: is required in production/),
      expect.stringMatching(/^ENCRYPTION_KEYS: is required in production/),
    ]),
  );
  expect(
    problems({
      NODE_ENV: 'production',
      PUBLIC_URL: 'http://bot.example.com',
      ENCRYPTION_KEYS: 'k1:x',
      ...BOT,
    }),
  ).toEqual(['PUBLIC_URL: must be https in production']);
  const config = loadConfig({
    NODE_ENV: 'production',
    PUBLIC_URL: 'https://bot.example.com/',
    ENCRYPTION_KEYS: 'k1:x',
    ...BOT,
  });
  expect(config.devFeatures).toBe(false);
  expect(config.publicUrl).toBe('https://bot.example.com');
});

test('admin keys and verification switches are parsed', () => {
  const config = loadConfig({
    ADMIN_API_KEYS: 'admin:0123456789abcdef, developer:fedcba9876543210',
    SIGNIN_VERIFICATION_OFF: 'webchat, directline',
  });
  expect(config.env.ADMIN_API_KEYS).toEqual([
    { role: 'admin', key: '0123456789abcdef' },
    { role: 'developer', key: 'fedcba9876543210' },
  ]);
  expect(config.env.SIGNIN_VERIFICATION_OFF).toEqual(['webchat', 'directline']);
});

test('OUTBOUND_ALLOWLIST (SECURITY.md #42): names, wildcards, addresses and networks; a bad entry is named', () => {
  const list = loadConfig({
    OUTBOUND_ALLOWLIST: ' idp.corp.example , *.intra.example,10.20.0.0/16, fd00::/8,192.168.7.7,',
  }).outboundAllowList;
  expect(list.entries).toEqual([
    'idp.corp.example',
    '*.intra.example',
    '10.20.0.0/16',
    'fd00::/8',
    '192.168.7.7',
  ]);
  expect([...list.names]).toEqual(['idp.corp.example']);
  expect(list.suffixes).toEqual(['intra.example']);
  expect(list.addresses.check('10.20.255.1', 'ipv4')).toBe(true);
  expect(list.addresses.check('10.21.0.1', 'ipv4')).toBe(false);
  expect(list.addresses.check('fd12::1', 'ipv6')).toBe(true);
  expect(list.addresses.check('192.168.7.7', 'ipv4')).toBe(true);
  expect(list.addresses.check('192.168.7.8', 'ipv4')).toBe(false);
  // Unset: nothing is allowed beyond the rule.
  const none = loadConfig({}).outboundAllowList;
  expect({ entries: none.entries, names: none.names.size, suffixes: none.suffixes }).toEqual({
    entries: [],
    names: 0,
    suffixes: [],
  });

  expect(problems({ OUTBOUND_ALLOWLIST: 'idp.corp.example,10.0.0.0/40' })).toEqual([
    'OUTBOUND_ALLOWLIST: entry "10.0.0.0/40" has a bad prefix length (0-32 for IPv4)',
  ]);
  expect(problems({ OUTBOUND_ALLOWLIST: 'https://idp.corp.example/' })).toEqual([
    'OUTBOUND_ALLOWLIST: entry "https://idp.corp.example/" is not a host name, *.domain, IP address or CIDR network',
  ]);
});

test('OUTBOUND_ALLOWLIST reaches both the profile rule and the outbound client of the engine', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'authprofiles-config-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dir,
    PROFILES_DIR: join(dir, 'profiles'),
    OUTBOUND_ALLOWLIST: '10.0.0.0/8',
  });
  const services = await createEngine(config, createLogger({ level: 'silent' }));
  try {
    expect(services.catalog.validationOptions.outboundAllowList).toBe(config.outboundAllowList);
    expect(services.engine.context.outbound.rule.outboundAllowList).toBe(config.outboundAllowList);
  } finally {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('empty strings count as unset', () => {
  expect(loadConfig({ PORT: '', MONGODB_URI: '' }).port).toBe(3978);
});

test('npm start with a bad setting stops with exit code 2 and names the variable', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '../../bot/main.ts')], {
    env: {
      PATH: process.env.PATH,
      PORT: 'eighty',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'authprofiles-cfg-')),
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/invalid configuration:\n {2}- PORT: /);
  const production = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '../../bot/main.ts')], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PUBLIC_URL: 'https://bot.example.com' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(production.status).toBe(2);
  expect(production.stderr).toMatch(/ENCRYPTION_KEYS: is required in production/);
}, 90_000);

describe('SECURITY.md #46: weak admin keys are refused in production', () => {
  const PRODUCTION = {
    NODE_ENV: 'production',
    PUBLIC_URL: 'https://bot.example.com',
    ENCRYPTION_KEYS: 'k1:x',
    ...BOT,
  };
  const strong = () => randomBytes(32).toString('base64'); // what `openssl rand -base64 32` prints

  test.each([
    ['aaaaaaaaaaaaaaaa', 'it is too short (16 characters, at least 22)'],
    ['a'.repeat(40), 'it is mostly one repeated character'],
    ['Secret1-Secret1-Secret1-Secret1', 'it repeats a shorter pattern'],
    ['abcdefghijklmnopqrstuvwxyz012345', 'it is mostly runs of equal or consecutive characters'],
    ['correcthorsebatterystaple', 'it has about 117 bits of randomness'],
  ])('%s is refused, naming the entry and how to make a good key, never the key', (weak, reason) => {
    const found = problems({ ...PRODUCTION, ADMIN_API_KEYS: `admin:${strong()},developer:${weak}` });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`ADMIN_API_KEYS: entry 2 (developer) is too weak for production: ${reason}`);
    expect(found[0]).toContain('openssl rand -base64 32');
    expect(found[0]).toContain('authprofiles keys create');
    expect(found[0]).not.toContain(weak);
  });

  test('random keys pass: openssl rand -base64 32 / -hex 16, the dev key, keys made by "keys create"', () => {
    const dev = devAdminKey(mkdtempSync(join(tmpdir(), 'authprofiles-devkey-'))).key;
    for (let i = 0; i < 200; i += 1) {
      const keys = [
        strong(),
        randomBytes(16).toString('hex'),
        `ap_${randomBytes(32).toString('base64url')}`,
        `ap_dev_${randomBytes(24).toString('base64url')}`,
      ];
      const pairs = keys.map((key, index) => `${index % 2 ? 'developer' : 'admin'}:${key}`).join(',');
      expect(problems({ ...PRODUCTION, ADMIN_API_KEYS: pairs })).toEqual([]);
    }
    expect(problems({ ...PRODUCTION, ADMIN_API_KEYS: `admin:${dev}` })).toEqual([]);
    // Outside production a short key still works (dev and tests).
    expect(problems({ ADMIN_API_KEYS: 'admin:aaaaaaaaaaaaaaaa' })).toEqual([]);
  });

  test('npm start in production with a weak key stops with exit code 2; the key is not printed', () => {
    const weak = 'aaaaaaaaaaaaaaaa';
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '../../bot/main.ts')], {
      env: {
        PATH: process.env.PATH,
        ...PRODUCTION,
        ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        ADMIN_API_KEYS: `admin:${weak}`,
        DATA_DIR: mkdtempSync(join(tmpdir(), 'authprofiles-cfg-')),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/invalid configuration:\n {2}- ADMIN_API_KEYS: entry 1 \(admin\) is too weak/);
    expect(`${run.stdout}${run.stderr}`).not.toContain(weak);
  }, 90_000);
});

test('TRUSTED_PROXY_HOPS: 0 by default, a small whole number', () => {
  expect(loadConfig({}).env.TRUSTED_PROXY_HOPS).toBe(0);
  expect(loadConfig({ TRUSTED_PROXY_HOPS: '1' }).env.TRUSTED_PROXY_HOPS).toBe(1);
  expect(problems({ TRUSTED_PROXY_HOPS: 'all' })[0]).toMatch(/^TRUSTED_PROXY_HOPS: /);
  expect(problems({ TRUSTED_PROXY_HOPS: '-1' })[0]).toMatch(/^TRUSTED_PROXY_HOPS: /);
});

// SECURITY.md #47: dev mode (unauthenticated Direct Line and /api/messages) only on loopback.
describe('dev mode stays on loopback (HOST, PUBLIC_URL, DEV_ALLOW_NETWORK)', () => {
  test('dev mode listens on 127.0.0.1 unless HOST names another loopback address; production on every interface', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({}).devNetworkExposure).toBeNull();
    expect(loadConfig({ HOST: '::1' }).host).toBe('::1');
    expect(loadConfig({ HOST: 'localhost', PUBLIC_URL: 'http://127.0.0.2:3978' }).host).toBe('localhost');
    expect(loadConfig({ PUBLIC_URL: 'http://[::1]:3978' }).publicUrl).toBe('http://[::1]:3978');
    const production = {
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://bot.example.com',
      ENCRYPTION_KEYS: 'k1:x',
      ...BOT,
    };
    expect(loadConfig(production).host).toBeUndefined();
    expect(loadConfig({ ...production, HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ ...production, HOST: '0.0.0.0' }).devNetworkExposure).toBeNull();
  });

  test('a non-loopback HOST or PUBLIC_URL without production settings is refused, naming the setting and the fix', () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.2', 'bot.example.com']) {
      const found = problems({ HOST: host });
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(
        new RegExp(`^HOST: "${host.replace(/\./g, '\\.')}" is not a loopback address: `),
      );
      expect(found[0]).toContain('Use HOST=127.0.0.1');
      expect(found[0]).toContain('NODE_ENV=production');
      expect(found[0]).toContain('DEV_ALLOW_NETWORK=true');
    }
    const url = problems({ PUBLIC_URL: 'https://bot.example.com' });
    expect(url).toHaveLength(1);
    expect(url[0]).toMatch(/^PUBLIC_URL: "https:\/\/bot\.example\.com" is not a loopback URL: /);
    expect(url[0]).toContain('Use PUBLIC_URL=http://localhost:3978');
    // NODE_ENV=test has the dev features too.
    expect(problems({ NODE_ENV: 'test', PUBLIC_URL: 'http://10.0.0.5:3978' })[0]).toMatch(/^PUBLIC_URL: /);
    expect(problems({ HOST: 'not a host!' })[0]).toBe('HOST: must be an IP address or a host name');
  });

  test('DEV_ALLOW_NETWORK=true overrides the refusal and says what is exposed', () => {
    const config = loadConfig({
      HOST: '0.0.0.0',
      PUBLIC_URL: 'http://bot.lan:3978',
      DEV_ALLOW_NETWORK: 'true',
    });
    expect(config.devFeatures).toBe(true);
    expect(config.host).toBe('0.0.0.0');
    expect(config.devNetworkExposure).toBe('HOST=0.0.0.0, PUBLIC_URL=http://bot.lan:3978');
    expect(problems({ HOST: '0.0.0.0', DEV_ALLOW_NETWORK: 'false' })[0]).toMatch(/^HOST: /);
    expect(problems({ DEV_ALLOW_NETWORK: 'yes' })).toEqual(['DEV_ALLOW_NETWORK: must be "true" or "false"']);
  });
});

/** This machine's first non-loopback IPv4 address: how another machine on the network would reach it. */
function networkAddress(): string | undefined {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  }
  return undefined;
}

async function reachable(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

describe('the service process in dev mode', () => {
  jest.setTimeout(90_000);
  const address = networkAddress();
  if (!address) {
    process.stdout.write(
      '[skipped part] no non-loopback IPv4 interface: reachability from the network not checked\n',
    );
  }

  test('by default it answers on 127.0.0.1 and not on the network address', async () => {
    const service = await startService({ name: 'dev-loopback' });
    try {
      expect(await reachable(`${service.baseUrl}/healthz`)).toBe(true);
      const ready = await service.waitForLog(
        (line) => line.json?.msg !== undefined && /^ready/.test(String(line.json.msg)),
      );
      expect(ready.json?.url).toBe(`http://127.0.0.1:${service.port}`);
      if (address) expect(await reachable(`http://${address}:${service.port}/healthz`)).toBe(false);
    } finally {
      await service.stop();
    }
  });

  test('HOST=0.0.0.0 or a public PUBLIC_URL without production settings stops the start with exit 2', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '../../bot/main.ts')], {
        env: { PATH: process.env.PATH, DATA_DIR: mkdtempSync(join(tmpdir(), 'authprofiles-cfg-')), ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const host = run({ HOST: '0.0.0.0' });
    expect(host.status).toBe(2);
    expect(host.stderr).toMatch(
      /invalid configuration:\n {2}- HOST: "0\.0\.0\.0" is not a loopback address: /,
    );
    expect(host.stderr).toContain('DEV_ALLOW_NETWORK=true');
    const url = run({ PUBLIC_URL: 'https://bot.example.com' });
    expect(url.status).toBe(2);
    expect(url.stderr).toMatch(
      /- PUBLIC_URL: "https:\/\/bot\.example\.com" is not a loopback URL: .*Use PUBLIC_URL=http:\/\/localhost:3978/,
    );
  });

  test('DEV_ALLOW_NETWORK=true listens on HOST=0.0.0.0 with a loud warning', async () => {
    const service = await startService({
      name: 'dev-network',
      env: { HOST: '0.0.0.0', DEV_ALLOW_NETWORK: 'true' },
    });
    try {
      const banner = await service.waitForLog(
        /^WARNING: DEV_ALLOW_NETWORK=true: dev mode is exposed to the network \(HOST=0\.0\.0\.0\)/,
      );
      expect(banner.stream).toBe('stderr');
      const warning = await service.waitForLog((line) => line.json?.devNetworkExposure === 'HOST=0.0.0.0');
      expect(warning.json?.level).toBe(40);
      if (address) expect(await reachable(`http://${address}:${service.port}/healthz`)).toBe(true);
    } finally {
      await service.stop();
    }
  });
});

test('token service settings: Microsoft defaults, lists parsed, bad entries named, https keys in production', () => {
  const defaults = loadConfig({}).env;
  expect(defaults.TOKEN_SERVICE_ALLOWED_APP_IDS).toEqual([]);
  expect(defaults.TOKEN_SERVICE_JWT_ISSUER).toEqual([
    'https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/',
    'https://login.microsoftonline.com/d6d49420-f39b-4df7-a1dc-d59a935871db/v2.0',
  ]);
  expect(defaults.TOKEN_SERVICE_JWKS_URL).toBe(
    'https://login.microsoftonline.com/common/discovery/v2.0/keys',
  );
  expect(defaults.TOKEN_SERVICE_JWT_AUDIENCE).toBe('https://api.botframework.com');
  const set = loadConfig({
    TOKEN_SERVICE_ALLOWED_APP_IDS: ' app-1 , 00000000-0000-4000-8000-000000000002 ',
    TOKEN_SERVICE_JWT_ISSUER: 'https://sts.windows.net/tenant-1/',
  }).env;
  expect(set.TOKEN_SERVICE_ALLOWED_APP_IDS).toEqual(['app-1', '00000000-0000-4000-8000-000000000002']);
  expect(set.TOKEN_SERVICE_JWT_ISSUER).toEqual(['https://sts.windows.net/tenant-1/']);
  expect(problems({ TOKEN_SERVICE_ALLOWED_APP_IDS: 'ok,not an id' })[0]).toMatch(
    /^TOKEN_SERVICE_ALLOWED_APP_IDS: entry 2 must be an app id/,
  );
  expect(problems({ TOKEN_SERVICE_JWT_ISSUER: 'nope' })[0]).toMatch(
    /^TOKEN_SERVICE_JWT_ISSUER: entry 1 must be an issuer URL/,
  );
  expect(problems({ TOKEN_SERVICE_JWKS_URL: 'keys' })[0]).toMatch(/^TOKEN_SERVICE_JWKS_URL: /);
  expect(problems({ NODE_ENV: 'production', TOKEN_SERVICE_JWKS_URL: 'http://keys.example/' })).toContain(
    'TOKEN_SERVICE_JWKS_URL: must be https in production',
  );
});

test('DEMO_CRM_URL: a plain http(s) base URL in dev mode, refused in production', () => {
  expect(loadConfig({ DEMO_CRM_URL: 'http://127.0.0.1:4100/demo/crm' }).env.DEMO_CRM_URL).toBe(
    'http://127.0.0.1:4100/demo/crm',
  );
  expect(loadConfig({}).env.DEMO_CRM_URL).toBeUndefined();
  expect(problems({ DEMO_CRM_URL: 'not a url' })[0]).toMatch(/^DEMO_CRM_URL: /);
  expect(problems({ DEMO_CRM_URL: 'ftp://127.0.0.1/crm' })).toEqual([
    'DEMO_CRM_URL: must be an http:// or https:// URL',
  ]);
  expect(problems({ DEMO_CRM_URL: 'http://127.0.0.1:4100/crm?x=1' })).toEqual([
    'DEMO_CRM_URL: must be a plain base URL (no query, fragment or credentials)',
  ]);
  expect(
    problems({
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://bot.example.com',
      ENCRYPTION_KEYS: 'k1:x',
      ...BOT,
      DEMO_CRM_URL: 'https://crm.example.com/demo/crm',
    }),
  ).toEqual(['DEMO_CRM_URL: is a dev-only setting (the demo CRM); unset it in production']);
});
