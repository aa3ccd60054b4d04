// Plays the user's part of an authorization-code flow against oidc-provider's devInteractions pages
// with plain HTTP, so tests need no browser. The pages (oidc-provider 8, lib/views/*.js) are:
//   login:   <form action="/interaction/:uid" method="post"> prompt=login, login, password
//   consent: <form action="/interaction/:uid" method="post"> prompt=consent
//   cancel:  <a href="/interaction/:uid/abort">[ Cancel ]</a>  (GET; ends with error=access_denied)

const MAX_STEPS = 20;

interface StoredCookie {
  name: string;
  value: string;
  host: string;
  path: string;
}

/**
 * A minimal cookie jar: host-only cookies with Path and expiry, which is all oidc-provider uses.
 * Share one jar between flows to keep the provider's session (a second authorization skips login).
 */
export class CookieJar {
  private cookies: StoredCookie[] = [];

  store(url: URL, response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const cookie: StoredCookie = {
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        host: url.host,
        path: '/',
      };
      let expired = false;
      for (const attribute of attributes) {
        const [key = '', value = ''] = attribute.split('=').map((part) => part.trim());
        const name = key.toLowerCase();
        if (name === 'path' && value.startsWith('/')) cookie.path = value;
        if (name === 'expires' && Date.parse(value) <= Date.now()) expired = true;
        if (name === 'max-age' && Number(value) <= 0) expired = true;
      }
      this.cookies = this.cookies.filter(
        (c) => !(c.name === cookie.name && c.host === cookie.host && c.path === cookie.path),
      );
      if (!expired) this.cookies.push(cookie);
    }
  }

  header(url: URL): string {
    return this.cookies
      .filter((c) => c.host === url.host && pathMatches(url.pathname, c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

export interface ConsentOptions {
  login: string;
  /** Press Cancel on the consent page instead of Continue. */
  deny?: boolean;
  /**
   * Grant all but these scopes, as a user unticking permissions would: posted to the test server's
   * partial-consent hook (bot/dev/authServer.mjs `partialConsent`, test hooks only).
   */
  declineScopes?: string[];
  cookieJar?: CookieJar;
}

/**
 * Follows `authorizationUrl` through login and consent and returns the redirect to the client's
 * redirect_uri (with code, state and iss, or error=access_denied). The redirect URI itself is not
 * requested: that is the caller's callback to drive.
 */
export async function completeConsent(authorizationUrl: string, opts: ConsentOptions): Promise<URL> {
  const jar = opts.cookieJar ?? new CookieJar();
  const start = new URL(authorizationUrl);
  const redirectParam = start.searchParams.get('redirect_uri');
  const redirectUri = redirectParam ? new URL(redirectParam) : undefined;

  const isClientRedirect = (url: URL): boolean =>
    redirectUri
      ? url.origin === redirectUri.origin && url.pathname === redirectUri.pathname
      : url.origin !== start.origin;

  let url = start;
  let form: URLSearchParams | undefined;
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const headers: Record<string, string> = {};
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      headers,
      body: form?.toString(),
      redirect: 'manual',
    });
    jar.store(url, res);
    form = undefined;

    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url);
      if (isClientRedirect(url)) return url;
      continue;
    }

    const html = await res.text();
    if (res.status !== 200) {
      throw new Error(
        `authorization server answered ${res.status} at ${url.pathname}: ${html.slice(0, 500)}`,
      );
    }
    const page = parseInteractionPage(html, url);
    if (page.prompt === 'login') {
      url = page.action;
      form = new URLSearchParams({ prompt: 'login', login: opts.login, password: 'any' });
    } else if (opts.deny) {
      url = page.abort;
    } else if (opts.declineScopes) {
      url = new URL(`${page.action.pathname}/partial`, page.action);
      form = new URLSearchParams({ decline: opts.declineScopes.join(' ') });
    } else {
      url = page.action;
      form = new URLSearchParams({ prompt: 'consent' });
    }
  }
  throw new Error(`authorization did not reach the redirect URI within ${MAX_STEPS} requests`);
}

interface InteractionPage {
  prompt: 'login' | 'consent';
  action: URL;
  abort: URL;
}

function parseInteractionPage(html: string, base: URL): InteractionPage {
  const prompt = /name="prompt" value="(login|consent)"/.exec(html)?.[1];
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const abort = /<a href="([^"]+)">\[ Cancel \]<\/a>/.exec(html)?.[1];
  if ((prompt !== 'login' && prompt !== 'consent') || !action || !abort) {
    throw new Error(`unrecognised interaction page at ${base.pathname}: ${html.slice(0, 500)}`);
  }
  return {
    prompt,
    action: new URL(unescapeHtml(action), base),
    abort: new URL(unescapeHtml(abort), base),
  };
}

function unescapeHtml(value: string): string {
  return value
    .replace(/&#x2F;/g, '/')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
