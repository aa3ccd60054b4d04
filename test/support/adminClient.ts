// A tiny browser for the admin pages over HTTP: cookies per name, no automatic redirects, form posts.
// Optionally sends from a given local address (127.0.0.x), so tests can be several clients.
import { request } from 'node:http';

export interface Reply {
  status: number;
  location: string | null;
  html: string;
  headers: Headers;
  setCookies: string[];
}

export class Client {
  readonly cookies = new Map<string, string>();

  /** `localAddress`: the source address to send from (any 127.0.0.x works on Linux). */
  constructor(
    private readonly base: string,
    private readonly localAddress?: string,
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private async send(
    path: string,
    init: { method: string; headers?: Record<string, string>; body?: string },
  ): Promise<Reply> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0 && !headers.has('cookie')) headers.set('cookie', this.cookieHeader());
    const res = await this.exchange(new URL(path, this.base), init.method, headers, init.body);
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return {
      status: res.status,
      location: res.headers.get('location'),
      html: res.text,
      headers: res.headers,
      setCookies,
    };
  }

  private async exchange(
    url: URL,
    method: string,
    headers: Headers,
    body: string | undefined,
  ): Promise<{ status: number; headers: Headers; text: string }> {
    if (this.localAddress === undefined) {
      const res = await fetch(url, { method, headers, body, redirect: 'manual' });
      return { status: res.status, headers: res.headers, text: await res.text() };
    }
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method, headers: headerObject(headers), localAddress: this.localAddress },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const out = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              for (const item of Array.isArray(value) ? value : [value ?? '']) out.append(name, item);
            }
            resolve({ status: res.statusCode ?? 0, headers: out, text: Buffer.concat(chunks).toString() });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.send(path, { method: 'GET', headers });
  }

  post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
    return this.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.base, ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Posts a form with the CSRF token taken from the page at `from`. */
  async submit(from: string, action: string, fields: Record<string, string>): Promise<Reply> {
    const page = await this.get(from);
    expect(page.status).toBe(200);
    return this.post(action, { _csrf: csrfOf(page.html), ...fields });
  }
}

export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no CSRF token on the page');
  return match[1];
}

/** Fills in the sign-in form at `from` (the login page, possibly with `?authorization=…`). */
export async function signIn(client: Client, key: string, from = '/admin/login'): Promise<Reply> {
  const page = await client.get(from);
  expect(page.status).toBe(200);
  const token = /name="_login" value="([^"]+)"/.exec(page.html)?.[1] ?? '';
  const authorization = /name="authorization" value="([^"]+)"/.exec(page.html)?.[1];
  return client.post('/admin/login', { _login: token, key, ...(authorization ? { authorization } : {}) });
}

function headerObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => (out[name] = value));
  return out;
}
