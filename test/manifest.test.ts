// The Teams app package: the rendered manifest must pass the official schema (offline, from
// @microsoft/app-manifest), bad inputs must be refused with errors that name what to fix, and the zip
// must hold exactly what Teams expects.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';

import JSZip from 'jszip';

import {
  buildPackage,
  ConfigError,
  DEV_PUBLIC_URL,
  MANIFEST_DIR,
  ManifestValidationError,
  PLACEHOLDER_GUID,
  readPngInfo,
  renderManifest,
  resolveConfig,
  validateManifest,
  type ManifestOptions,
} from '../manifest/build';

const BOT_ID = '8f1c2b7e-4d3a-4c5b-9e6f-0a1b2c3d4e5f';
const APP_ID = '1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d';

const options: ManifestOptions = {
  appId: APP_ID,
  botId: BOT_ID,
  publicUrl: 'https://bot.example.com',
  appVersion: '1.2.3',
  appName: 'Auth Profiles',
};

/** A deep copy that tests can break freely. */
function rendered(overrides: Partial<ManifestOptions> = {}): Record<string, unknown> {
  return JSON.parse(JSON.stringify(renderManifest({ ...options, ...overrides }))) as Record<string, unknown>;
}

function schemaVersion(): string {
  const template = JSON.parse(readFileSync(path.join(MANIFEST_DIR, 'manifest.template.json'), 'utf8')) as {
    manifestVersion: string;
  };
  return template.manifestVersion;
}

describe('manifest template', () => {
  it('targets a schema bundled by @microsoft/app-manifest, with its official URL', () => {
    const version = schemaVersion();
    expect(version).toMatch(/^1\.(19|[2-9]\d)$/);
    const bundled = require.resolve(
      `@microsoft/app-manifest/build/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`,
    );
    expect(bundled).toBeTruthy();
    expect(renderManifest(options).$schema).toBe(
      `https://developer.microsoft.com/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`,
    );
  });

  it('renders a manifest that validates against the official schema', () => {
    expect(validateManifest(renderManifest(options))).toEqual([]);
  });

  it('puts the given ids, host and URLs where Teams looks for them', () => {
    const manifest = renderManifest({ ...options, publicUrl: 'https://bot.example.com:8443/teams/' });
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.version).toBe('1.2.3');
    expect(manifest.bots).toHaveLength(1);
    const bot = manifest.bots?.[0];
    expect(bot?.botId).toBe(BOT_ID);
    expect(bot?.scopes).toEqual(expect.arrayContaining(['personal', 'team', 'groupChat']));
    expect(bot?.supportsFiles).toBe(false);
    expect(manifest.validDomains).toContain('bot.example.com');
    expect(manifest.webApplicationInfo).toEqual({
      id: BOT_ID,
      resource: `api://bot.example.com/botid-${BOT_ID}`,
    });
    expect(manifest.developer.websiteUrl).toBe('https://bot.example.com:8443/teams/');
    expect(manifest.developer.privacyUrl).toBe('https://bot.example.com:8443/teams/privacy');
    expect(manifest.developer.termsOfUseUrl).toBe('https://bot.example.com:8443/teams/terms');
    expect(manifest.name.short).toBe('Auth Profiles');
    expect(manifest.description.short).toMatch(/HubSpot/);
    expect(manifest.description.full).toMatch(/on your behalf/);
    const titles = bot?.commandLists?.flatMap((list) => list.commands.map((command) => command.title));
    expect(titles).toEqual([
      'show my deals',
      'find contact',
      'show companies',
      'show my tickets',
      'my connections',
      'sign out',
      'help',
    ]);
    expect(validateManifest(manifest)).toEqual([]);
  });

  it('escapes values instead of letting them break the JSON', () => {
    const name = 'A "quoted" \\ name\n';
    const manifest = renderManifest({ ...options, appName: name });
    expect(manifest.name.short).toBe(name);
    expect(manifest.developer.name).toBe(name);
  });
});

describe('validateManifest', () => {
  it('names a bot id that is not a GUID', () => {
    const errors = validateManifest(rendered({ botId: 'not-a-guid' }));
    expect(errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\/bots\/0\/botId must match pattern/)]),
    );
    expect(errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\/webApplicationInfo\/id must match pattern/)]),
    );
  });

  it('names a missing required field', () => {
    const manifest = rendered();
    delete manifest.developer;
    expect(validateManifest(manifest)).toEqual(["/ must have required property 'developer'"]);
  });

  it('names an unknown property and a wrong accent color', () => {
    const manifest = rendered();
    manifest.accentColor = 'blue';
    manifest.botz = [];
    const errors = validateManifest(manifest);
    expect(errors).toContain('/ must NOT have additional properties (botz)');
    expect(errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\/accentColor must match pattern/)]),
    );
  });

  it('checks $schema and manifestVersion agree with a bundled schema', () => {
    const wrongUrl = rendered();
    wrongUrl.$schema = 'https://developer.microsoft.com/json-schemas/teams/v1.5/MicrosoftTeams.schema.json';
    expect(validateManifest(wrongUrl)).toEqual([expect.stringMatching(/^\/\$schema must be https:/)]);

    const unknownVersion = rendered();
    unknownVersion.manifestVersion = '9.99';
    expect(validateManifest(unknownVersion)).toEqual([expect.stringMatching(/^\/manifestVersion "9.99"/)]);
  });
});

describe('resolveConfig', () => {
  const env = { MicrosoftAppId: BOT_ID, PUBLIC_URL: 'https://bot.example.com/' };

  it('uses MicrosoftAppId for the app and bot ids and the package.json version', () => {
    const config = resolveConfig(env);
    const pkg = JSON.parse(readFileSync(path.join(MANIFEST_DIR, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(config.options).toEqual({
      appId: BOT_ID,
      botId: BOT_ID,
      publicUrl: 'https://bot.example.com',
      appVersion: pkg.version,
      appName: 'Auth Profiles',
    });
    expect(config.validationOnly).toBe(false);
    expect(config.warnings).toEqual([]);
  });

  it('takes TEAMS_APP_ID, TEAMS_APP_VERSION and TEAMS_APP_NAME when given', () => {
    const config = resolveConfig({
      ...env,
      TEAMS_APP_ID: APP_ID,
      TEAMS_APP_VERSION: '2.0.1',
      TEAMS_APP_NAME: 'CRM Helper',
    });
    expect(config.options).toMatchObject({
      appId: APP_ID,
      botId: BOT_ID,
      appVersion: '2.0.1',
      appName: 'CRM Helper',
    });
  });

  it('rejects a non-https PUBLIC_URL outside dev, naming PUBLIC_URL', () => {
    expect(() => resolveConfig({ ...env, PUBLIC_URL: 'http://bot.example.com' })).toThrow(
      /PUBLIC_URL must be an https URL/,
    );
    expect(() => resolveConfig({ MicrosoftAppId: BOT_ID })).toThrow(/PUBLIC_URL is required/);
    expect(() => resolveConfig({ ...env, PUBLIC_URL: 'not a url' })).toThrow(
      /PUBLIC_URL must be an absolute URL/,
    );
  });

  it('accepts http://localhost:3978 by default in dev', () => {
    const config = resolveConfig({ MicrosoftAppId: BOT_ID }, { dev: true });
    expect(config.options.publicUrl).toBe(DEV_PUBLIC_URL);
    expect(renderManifest(config.options).validDomains).toEqual(['localhost']);
  });

  it('names each bad variable, all at once', () => {
    let error: unknown;
    try {
      resolveConfig({
        MicrosoftAppId: 'my-bot',
        TEAMS_APP_ID: 'app',
        PUBLIC_URL: 'ftp://bot.example.com',
        TEAMS_APP_VERSION: '1.0.0-beta.1',
        TEAMS_APP_NAME: 'A name that is far too long for Teams',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(5);
    for (const variable of [
      'MicrosoftAppId',
      'TEAMS_APP_ID',
      'PUBLIC_URL',
      'TEAMS_APP_VERSION',
      'TEAMS_APP_NAME',
    ]) {
      expect(problems).toEqual(expect.arrayContaining([expect.stringContaining(variable)]));
    }
  });

  it('falls back to a placeholder bot id with a warning when MicrosoftAppId is missing', () => {
    const config = resolveConfig({ PUBLIC_URL: 'https://bot.example.com' });
    expect(config.options.botId).toBe(PLACEHOLDER_GUID);
    expect(config.validationOnly).toBe(true);
    expect(config.warnings).toEqual([expect.stringMatching(/MicrosoftAppId.*validation only/)]);
    expect(validateManifest(renderManifest(config.options))).toEqual([]);
  });
});

/** Decodes an 8-bit RGBA, non-interlaced PNG (what the icons are) into its pixel bytes. */
function decodeRgba(png: Buffer): { width: number; height: number; pixels: Buffer } {
  const info = readPngInfo(png);
  expect(info).toMatchObject({ bitDepth: 8, colorType: 6 });
  const idat: Buffer[] = [];
  for (let offset = 8; offset < png.length;) {
    const length = png.readUInt32BE(offset);
    if (png.toString('ascii', offset + 4, offset + 8) === 'IDAT') {
      idat.push(png.subarray(offset + 8, offset + 8 + length));
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = info.width * 4;
  const pixels = Buffer.alloc(stride * info.height);
  for (let y = 0; y < info.height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] ?? 0;
      const left = x >= 4 ? (pixels[y * stride + x - 4] ?? 0) : 0;
      const up = y > 0 ? (pixels[(y - 1) * stride + x] ?? 0) : 0;
      const upLeft = x >= 4 && y > 0 ? (pixels[(y - 1) * stride + x - 4] ?? 0) : 0;
      let predictor = 0;
      if (filter === 1) predictor = left;
      else if (filter === 2) predictor = up;
      else if (filter === 3) predictor = Math.floor((left + up) / 2);
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      pixels[y * stride + x] = (value + predictor) & 0xff;
    }
  }
  return { width: info.width, height: info.height, pixels };
}

describe('icons', () => {
  it('color.png is 192x192 and opaque', () => {
    const png = readFileSync(path.join(MANIFEST_DIR, 'color.png'));
    expect(readPngInfo(png)).toMatchObject({ width: 192, height: 192 });
    const { pixels } = decodeRgba(png);
    let notOpaque = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 255) notOpaque++;
    expect(notOpaque).toBe(0);
  });

  it('outline.png is 32x32, white on transparent', () => {
    const png = readFileSync(path.join(MANIFEST_DIR, 'outline.png'));
    expect(readPngInfo(png)).toMatchObject({ width: 32, height: 32, hasTransparency: true });
    const { pixels } = decodeRgba(png);
    let transparent = 0;
    let opaque = 0;
    let notWhite = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const alpha = pixels[i + 3] ?? 0;
      if (alpha === 0) transparent++;
      if (alpha === 255) opaque++;
      if (alpha > 0 && (pixels[i] !== 255 || pixels[i + 1] !== 255 || pixels[i + 2] !== 255)) notWhite++;
    }
    expect(notWhite).toBe(0);
    expect(transparent).toBeGreaterThan(0);
    expect(opaque).toBeGreaterThan(0);
  });
});

describe('buildPackage', () => {
  it('zips exactly manifest.json, color.png and outline.png at the root', async () => {
    const zip = await JSZip.loadAsync(await buildPackage(options));
    const names = Object.values(zip.files)
      .filter((entry) => !entry.dir)
      .map((entry) => entry.name)
      .sort();
    expect(names).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(Object.values(zip.files).some((entry) => entry.dir)).toBe(false);

    const manifest = JSON.parse((await zip.file('manifest.json')?.async('string')) ?? 'null') as unknown;
    expect(manifest).toEqual(renderManifest(options));
    expect(validateManifest(manifest)).toEqual([]);

    for (const [name, size] of [
      ['color.png', 192],
      ['outline.png', 32],
    ] as const) {
      const png = await zip.file(name)?.async('nodebuffer');
      expect(png?.equals(readFileSync(path.join(MANIFEST_DIR, name)))).toBe(true);
      expect(readPngInfo(png ?? Buffer.alloc(0))).toMatchObject({ width: size, height: size });
    }
  });

  it('refuses to package a manifest that fails the schema, listing the errors', async () => {
    const build = buildPackage({ ...options, botId: 'not-a-guid' });
    await expect(build).rejects.toBeInstanceOf(ManifestValidationError);
    await expect(build).rejects.toMatchObject({
      errors: expect.arrayContaining([expect.stringMatching(/^\/bots\/0\/botId /)]),
    });
  });
});
