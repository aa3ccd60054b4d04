import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { Response } from 'restify';
import { repoRoot } from '../paths';

/**
 * Server-rendered pages (Handlebars, auto-escaped) with the headers of SECURITY.md #12: no caching,
 * no referrer (the callback URL holds the code), and a CSP that admits only this server's assets.
 */

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

const views = Handlebars.create();
const compiled = new Map<string, HandlebarsTemplateDelegate>();
const loadedDirs = new Set<string>();

/**
 * Adds the `.hbs` files of `dir` (a folder under the repository root, e.g. `bot/admin/views`) to the
 * pages: `_name.hbs` as partial `name`, the others as views. Each room keeps its own views; they all
 * share this layout (`_layout`), its headers and its stylesheet. Loading a folder twice is a no-op.
 */
export function addViews(...dir: string[]): void {
  const path = join(repoRoot(), ...dir);
  if (loadedDirs.has(path)) return;
  loadedDirs.add(path);
  for (const file of readdirSync(path)) {
    if (!file.endsWith('.hbs')) continue;
    const name = file.slice(0, -4);
    const source = readFileSync(join(path, file), 'utf8');
    if (name.startsWith('_')) views.registerPartial(name.slice(1), source);
    else compiled.set(name, views.compile(source, { strict: false }));
  }
}
addViews('bot', 'web', 'views');

export function renderView(name: string, data: Record<string, unknown>): string {
  const template = compiled.get(name);
  if (!template) throw new Error(`no view "${name}"`);
  return template(data, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
}

/** Renders `view` and sends it with the page headers (and `headers`, e.g. Set-Cookie). */
export function sendPage(
  res: Response,
  status: number,
  view: string,
  data: Record<string, unknown>,
  headers: Record<string, string | string[]> = {},
): void {
  const body = renderView(view, data);
  res.writeHead(status, {
    ...PAGE_HEADERS,
    ...headers,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

export interface ErrorPage {
  status: number;
  title: string;
  message: string;
  /** Offer "reload to try again" (the request was left intact, SECURITY.md #24). */
  retry?: boolean;
  /** The provider's own words (`error_description`), shown escaped as a quotation. */
  detail?: string;
}

export function sendErrorPage(res: Response, page: ErrorPage): void {
  sendPage(res, page.status, 'error', {
    title: page.title,
    message: page.message,
    retry: page.retry ?? false,
    detail: page.detail ?? null,
  });
}
