import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response, Server } from 'restify';
import { repoRoot } from '../paths';

/** The few assets pages need, served by us (no third-party scripts on the sign-in pages, SECURITY.md #12). */
const ASSETS: Record<string, { file: () => string; type: string }> = {
  'pages.css': {
    file: () => join(repoRoot(), 'bot', 'web', 'static', 'pages.css'),
    type: 'text/css; charset=utf-8',
  },
  'teams-signin.js': {
    file: () => join(repoRoot(), 'bot', 'web', 'static', 'teams-signin.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'admin.js': {
    file: () => join(repoRoot(), 'bot', 'web', 'static', 'admin.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'teams-js.js': {
    file: () => require.resolve('@microsoft/teams-js/dist/umd/MicrosoftTeams.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

export function registerStaticRoutes(server: Server): void {
  const cache = new Map<string, Buffer>();
  server.get('/static/:name', async (req: Request, res: Response) => {
    const name = String(req.params.name ?? '');
    const asset = Object.prototype.hasOwnProperty.call(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) {
      res.send(404, { error: 'not found' });
      return;
    }
    let body = cache.get(name);
    if (!body) {
      try {
        body = readFileSync(asset.file());
      } catch {
        res.send(404, { error: 'not found' });
        return;
      }
      cache.set(name, body);
    }
    res.writeHead(200, {
      'Content-Type': asset.type,
      'Content-Length': body.length,
      'Cache-Control': 'public, max-age=3600',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(body);
  });
}
