// Builds the Teams app package (manifest.json + icons, zipped) for the bot.
//
//   npm run manifest                    real package; needs MicrosoftAppId and an https PUBLIC_URL
//   npm run manifest -- --dev           accepts http://localhost:3978 (the default PUBLIC_URL in dev)
//   npm run manifest -- --out app.zip   writes somewhere other than manifest/build/authprofiles-teams.zip
//
// The manifest is rendered from manifest.template.json, then validated offline against the official
// Teams schema bundled by @microsoft/app-manifest (the one its manifestVersion names) before anything
// is written, so a package that Teams would refuse never leaves this script.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import JSZip from 'jszip';

import type { TeamsManifestV1D30 } from '@microsoft/app-manifest';

import { loadIcons } from './icons';
import { ManifestValidationError, validateManifest } from './manifestSchema';

export { loadIcons, readPngInfo, type PngInfo } from './icons';
export { ManifestValidationError, officialSchemaUrl, validateManifest } from './manifestSchema';

/** The manifest the template produces (its `manifestVersion` is 1.30). */
export type TeamsManifest = TeamsManifestV1D30.TeamsManifestV1D30;

export interface ManifestOptions {
  /** Teams app id (a GUID); usually the bot's Microsoft App ID. */
  appId: string;
  /** The bot's Microsoft App ID (a GUID). */
  botId: string;
  /** Where the bot is reachable, e.g. `https://bot.example.com`; hosts `/oauth/start` and `/oauth/callback`. */
  publicUrl: string;
  /** MAJOR.MINOR.PATCH */
  appVersion: string;
  /** Short app name, at most 30 characters. */
  appName: string;
}

export const PLACEHOLDER_GUID = '00000000-0000-0000-0000-000000000000';
export const DEV_PUBLIC_URL = 'http://localhost:3978';
export const DEFAULT_APP_NAME = 'Auth Profiles';
export const PACKAGE_FILE_NAME = 'authprofiles-teams.zip';

const GUID = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
// Same rule as the schema's `semver` definition: Teams wants plain MAJOR.MINOR.PATCH.
const TEAMS_VERSION = /^([0-9]|[1-9]+[0-9]*)\.([0-9]|[1-9]+[0-9]*)\.([0-9]|[1-9]+[0-9]*)$/;
const MAX_SHORT_NAME = 30;

/** Walks up from this file (manifest/ under ts, dist/manifest/ once compiled) to the package root. */
function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

export const PROJECT_ROOT = findProjectRoot(__dirname);
export const MANIFEST_DIR = path.join(PROJECT_ROOT, 'manifest');
export const TEMPLATE_PATH = path.join(MANIFEST_DIR, 'manifest.template.json');
export const DEFAULT_OUT = path.join(MANIFEST_DIR, 'build', PACKAGE_FILE_NAME);

// ---------------------------------------------------------------------------------------------------
// Configuration

/** Invalid inputs; each problem names the environment variable (or flag) to fix. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export interface BuildFlags {
  dev?: boolean;
  out?: string;
}

export interface BuildConfig {
  options: ManifestOptions;
  out: string;
  /** True when MicrosoftAppId was missing and the placeholder GUID was used. */
  validationOnly: boolean;
  warnings: string[];
}

function readPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : '';
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/**
 * Checks a public URL and returns it without a trailing slash (the template appends paths).
 * https is required unless `dev`; the URL may carry a path prefix but no query, fragment or credentials.
 */
export function normalizePublicUrl(value: string, dev: boolean, variable = 'PUBLIC_URL'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError([
      `${variable} must be an absolute URL such as https://bot.example.com, got "${value}"`,
    ]);
  }
  const problems: string[] = [];
  if (url.protocol !== 'https:' && !(dev && url.protocol === 'http:')) {
    problems.push(
      dev
        ? `${variable} must be an http(s) URL, got "${value}"`
        : `${variable} must be an https URL (Teams only opens sign-in pages over https), got "${value}"; ` +
            `use --dev to build with an http URL for local testing`,
    );
  }
  if (url.search || url.hash) problems.push(`${variable} must not have a query or fragment, got "${value}"`);
  if (url.username || url.password) problems.push(`${variable} must not contain credentials`);
  if (problems.length > 0) throw new ConfigError(problems);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Reads and checks the build configuration; throws ConfigError listing every problem at once. */
export function resolveConfig(env: NodeJS.ProcessEnv, flags: BuildFlags = {}): BuildConfig {
  const dev = flags.dev === true;
  const problems: string[] = [];
  const warnings: string[] = [];

  let botId = envValue(env, 'MicrosoftAppId');
  const validationOnly = botId === undefined;
  if (botId === undefined) {
    botId = PLACEHOLDER_GUID;
    warnings.push(
      `MicrosoftAppId is not set: using the placeholder ${PLACEHOLDER_GUID}. ` +
        'This package is for validation only; Teams will not accept it for a real bot.',
    );
  } else if (!GUID.test(botId)) {
    problems.push(`MicrosoftAppId must be a GUID (the bot's Microsoft App ID), got "${botId}"`);
  }

  const appId = envValue(env, 'TEAMS_APP_ID') ?? botId;
  if (appId !== botId && !GUID.test(appId)) {
    problems.push(`TEAMS_APP_ID must be a GUID, got "${appId}"`);
  }

  let publicUrl = envValue(env, 'PUBLIC_URL');
  if (publicUrl === undefined && dev) publicUrl = DEV_PUBLIC_URL;
  if (publicUrl === undefined) {
    problems.push(
      'PUBLIC_URL is required: the https URL where the bot serves /oauth/start and /oauth/callback ' +
        `(use --dev to default to ${DEV_PUBLIC_URL})`,
    );
  } else {
    try {
      publicUrl = normalizePublicUrl(publicUrl, dev);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }

  const explicitVersion = envValue(env, 'TEAMS_APP_VERSION');
  const appVersion = explicitVersion ?? readPackageVersion();
  if (!TEAMS_VERSION.test(appVersion)) {
    problems.push(
      explicitVersion !== undefined
        ? `TEAMS_APP_VERSION must be MAJOR.MINOR.PATCH (e.g. 1.0.0), got "${appVersion}"`
        : `package.json version "${appVersion}" is not MAJOR.MINOR.PATCH; set TEAMS_APP_VERSION`,
    );
  }

  const appName = envValue(env, 'TEAMS_APP_NAME') ?? DEFAULT_APP_NAME;
  if (appName.length > MAX_SHORT_NAME) {
    problems.push(`TEAMS_APP_NAME must be at most ${MAX_SHORT_NAME} characters, got ${appName.length}`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  const out = flags.out ? path.resolve(flags.out) : DEFAULT_OUT;
  return {
    options: { appId, botId, publicUrl: publicUrl as string, appVersion, appName },
    out,
    validationOnly,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------------
// Rendering

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;

/** Placeholder values the template may use. */
export function templateValues(options: ManifestOptions): Record<string, string> {
  let url: URL;
  try {
    url = new URL(options.publicUrl);
  } catch {
    throw new ConfigError([`PUBLIC_URL must be an absolute URL, got "${options.publicUrl}"`]);
  }
  return {
    appId: options.appId,
    botId: options.botId,
    appVersion: options.appVersion,
    appName: options.appName,
    publicUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    // validDomains and the Entra application ID URI take a bare host name: no scheme, no port.
    publicHost: url.hostname,
  };
}

function substitute(node: Json, values: Record<string, string>): Json {
  if (typeof node === 'string') {
    return node.replace(PLACEHOLDER, (_match, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`manifest template uses {{${name}}}, which has no value`);
      return value;
    });
  }
  if (Array.isArray(node)) return node.map((item) => substitute(item, values));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, substitute(value, values)]));
  }
  return node;
}

/**
 * Renders the manifest. The template is parsed as JSON first and placeholders are replaced inside the
 * parsed strings, so no value (quotes, backslashes, newlines) can break the JSON structure.
 */
export function renderManifest(options: ManifestOptions, templateText?: string): TeamsManifest {
  const template = JSON.parse(templateText ?? readFileSync(TEMPLATE_PATH, 'utf8')) as Json;
  return substitute(template, templateValues(options)) as unknown as TeamsManifest;
}

// ---------------------------------------------------------------------------------------------------
// Package

/** Renders and validates the manifest, checks the icons, and returns the zipped app package. */
export async function buildPackage(options: ManifestOptions): Promise<Buffer> {
  const manifest = renderManifest(options);
  const errors = validateManifest(manifest);
  if (errors.length > 0) throw new ManifestValidationError(errors);
  const icons = loadIcons(manifest, MANIFEST_DIR);

  const zip = new JSZip();
  zip.file('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [name, png] of icons) zip.file(name, png);
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
}

// ---------------------------------------------------------------------------------------------------
// CLI

const USAGE = `Usage: npm run manifest -- [--dev] [--out <file>]

Builds the Teams app package (manifest.json, color.png, outline.png).

Environment:
  MicrosoftAppId     the bot's Microsoft App ID (GUID); without it a placeholder is used (validation only)
  PUBLIC_URL         https URL of the bot (sign-in pages /oauth/start, /oauth/callback)
  TEAMS_APP_ID       Teams app id (GUID), default MicrosoftAppId
  TEAMS_APP_VERSION  MAJOR.MINOR.PATCH, default the package.json version
  TEAMS_APP_NAME     short name (<= 30 characters), default "${DEFAULT_APP_NAME}"

Options:
  --dev         accept an http PUBLIC_URL; PUBLIC_URL defaults to ${DEV_PUBLIC_URL}
  --out <file>  where to write the package (default manifest/build/${PACKAGE_FILE_NAME})
`;

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** Runs the CLI; returns the exit code (0 ok, 1 invalid manifest, 2 bad configuration or usage). */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let flags: BuildFlags;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { dev: { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    flags = { dev: values.dev, out: values.out };
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }

  let config: BuildConfig;
  try {
    config = resolveConfig(env, flags);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(
      `Cannot build the Teams app package:\n${err.problems.map((p) => `  - ${p}\n`).join('')}`,
    );
    return 2;
  }
  for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);

  let zip: Buffer;
  try {
    zip = await buildPackage(config.options);
  } catch (err) {
    if (!(err instanceof ManifestValidationError || err instanceof ConfigError)) throw err;
    const problems = err instanceof ManifestValidationError ? err.errors : err.problems;
    process.stderr.write(
      `The Teams app manifest does not validate against the official schema:\n` +
        problems.map((p) => `  - ${p}\n`).join(''),
    );
    return 1;
  }

  mkdirSync(path.dirname(config.out), { recursive: true });
  writeFileSync(config.out, zip);
  const { appId, botId, publicUrl, appVersion } = config.options;
  process.stdout.write(
    `Teams app package written to ${displayPath(config.out)}` +
      `${config.validationOnly ? ' (validation only: placeholder bot id)' : ''}\n` +
      `  app id ${appId}, bot id ${botId}, version ${appVersion}, public URL ${publicUrl}\n`,
  );
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
