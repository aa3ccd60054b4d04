// Dev-mode Web Chat page at `/`, talking to the local Direct Line (./directLine.ts) on the same server.
// Everything the page loads comes from this server: the page, and Web Chat's own bundle.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

import Handlebars from 'handlebars';
import type { Request, Response, Server } from 'restify';

export interface WebChatOptions {
  publicUrl: string;
  botName: string;
}

const SCRIPT_PATH = '/webchat/webchat.js';

// SHA-256 of the empty string. Web Chat 4.18 does not pass its nonce on to react-scroll-to-bottom, whose
// emotion instance adds an empty <style> and fills it through CSSOM (which CSP does not police); without
// this hash the transcript loses its scrolling styles. Allowing an empty element allows no CSS text.
const EMPTY_STYLE_HASH = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='";

// Web Chat stamps its own styles with the nonce we hand it, and its icons use data: URLs; nothing needs
// 'unsafe-inline' or 'unsafe-eval' (checked in Chromium by test/dev/directLine.test.ts).
function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    `style-src 'self' 'nonce-${nonce}' ${EMPTY_STYLE_HASH}`,
    "img-src 'self' data: blob:",
    "media-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'self'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function registerWebChat(server: Server, options: WebChatOptions): void {
  const template = Handlebars.create().compile(readFileSync(viewPath('webchat.hbs'), 'utf8'), {
    strict: true,
  });
  const bundle = readFileSync(webChatBundlePath());
  const etag = `"${createHash('sha256').update(bundle).digest('base64url').slice(0, 22)}"`;
  let gzipped: Promise<Buffer> | undefined;
  const directLineUrl = `${options.publicUrl.replace(/\/+$/, '')}/v3/directline`;

  server.get('/', async function webChatPage(_req: Request, res: Response): Promise<void> {
    const nonce = randomBytes(16).toString('base64');
    const html = template({
      botName: options.botName,
      directLineUrl,
      // Relative, so a path prefix in front of the server still works; the version makes caching safe.
      webChatScriptUrl: `${SCRIPT_PATH.slice(1)}?v=${etag.slice(1, 9)}`,
      nonce,
    });
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': contentSecurityPolicy(nonce),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    });
    res.end(html);
  });

  server.get(SCRIPT_PATH, async function webChatScript(req: Request, res: Response): Promise<void> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/javascript; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      ETag: etag,
      Vary: 'Accept-Encoding',
      // The page asks for ?v=<hash of this file>, so a cached copy can never be stale.
      'Cache-Control': 'public, max-age=31536000, immutable',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    // 3.9 MB of JavaScript is 1 MB gzipped, which matters through a tunnel; compressed once, on demand.
    if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      gzipped ??= promisify(gzip)(bundle);
      const body = await gzipped;
      res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip', 'Content-Length': String(body.length) });
      res.end(body);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(bundle.length) });
    res.end(bundle);
  });
}

// The package's "exports" hide dist/webchat.js from require.resolve, so find it next to the main entry.
function webChatBundlePath(): string {
  return path.join(path.dirname(require.resolve('botframework-webchat')), '..', 'dist', 'webchat.js');
}

// Views stay in the source tree (tsc does not copy them): bot/dev/views from bot/dev, or from dist/bot/dev.
function viewPath(name: string): string {
  const candidates = [
    path.join(__dirname, 'views', name),
    path.join(__dirname, '..', '..', '..', 'bot', 'dev', 'views', name),
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`view ${name} not found in ${candidates.join(' or ')}`);
  return found;
}
