// Plays the user's part of an authorization-code flow at Glewlwyd with plain HTTP, doing what its
// login page does (webapp/login.js of the Debian package, 2.7.5):
//   1. GET <authorization endpoint>  →  302 to <external_url>/login.html?client_id&scope&callback_url
//   2. POST /api/auth/  {username, password}          (sets the GLEWLWYD2_SESSION_ID cookie)
//   3. PUT  /api/auth/grant/<client_id>/  {scope}     (the consent; scopes joined by SPACES: the
//                                                      comma-separated list of its API docs gets 401)
//   4. GET  <callback_url>&g_continue                 →  302 to the client's redirect URI
// Without `g_continue` the authorization endpoint always sends the browser back to the login page.
import { CookieJar } from './browserlessConsent';

export interface GlewlwydSignInOptions {
  /** `http://127.0.0.1:<port>/api` */
  apiUrl: string;
  username: string;
  password: string;
  /** Share one jar between flows to keep Glewlwyd's session. */
  cookieJar?: CookieJar;
  /** Scopes to grant; default: every scope the login page asks for. */
  grant?: string[];
}

const MAX_REDIRECTS = 5;

async function send(
  jar: CookieJar,
  url: URL,
  init: { method?: string; json?: unknown } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
    redirect: 'manual',
  });
  jar.store(url, res);
  return res;
}

/** Follows redirects from `url` until the client's redirect URI or the login page; returns that URL. */
async function follow(jar: CookieJar, url: URL, isClientRedirect: (url: URL) => boolean): Promise<URL> {
  let current = url;
  for (let step = 0; step < MAX_REDIRECTS; step += 1) {
    const res = await send(jar, current);
    const location = res.headers.get('location');
    const body = await res.text();
    if (res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`Glewlwyd answered ${res.status} at ${current.pathname}: ${body.slice(0, 300)}`);
    }
    const next = new URL(location, current);
    if (isClientRedirect(next) || next.pathname.endsWith('/login.html')) return next;
    current = next;
  }
  throw new Error(`Glewlwyd redirected more than ${MAX_REDIRECTS} times from ${url.pathname}`);
}

/**
 * Signs in at Glewlwyd and consents; returns the redirect to the client's redirect URI (with code,
 * state and iss, or an error such as `nonce required`). The redirect URI itself is not requested.
 */
export async function signInAtGlewlwyd(authorizationUrl: string, opts: GlewlwydSignInOptions): Promise<URL> {
  const jar = opts.cookieJar ?? new CookieJar();
  const start = new URL(authorizationUrl);
  const redirectParam = start.searchParams.get('redirect_uri');
  if (!redirectParam) throw new Error('the authorization URL has no redirect_uri');
  const redirectUri = new URL(redirectParam);
  const isClientRedirect = (url: URL): boolean =>
    url.origin === redirectUri.origin && url.pathname === redirectUri.pathname;

  const first = await follow(jar, start, isClientRedirect);
  // Errors found before login (unknown client, missing nonce, bad PKCE) go straight back.
  if (isClientRedirect(first)) return first;

  const clientId = first.searchParams.get('client_id');
  const scope = first.searchParams.get('scope');
  const callbackUrl = first.searchParams.get('callback_url');
  if (!clientId || scope === null || !callbackUrl) {
    throw new Error(`unexpected Glewlwyd login page URL: ${first.pathname}${first.search}`);
  }
  const api = (pathname: string): URL => new URL(`${opts.apiUrl}${pathname}`);

  const login = await send(jar, api('/auth/'), {
    method: 'POST',
    json: { username: opts.username, password: opts.password },
  });
  await login.body?.cancel();
  if (login.status !== 200)
    throw new Error(`Glewlwyd refused the login of ${opts.username}: ${login.status}`);

  const granted = opts.grant ?? scope.split(' ').filter(Boolean);
  const grant = await send(jar, api(`/auth/grant/${encodeURIComponent(clientId)}/`), {
    method: 'PUT',
    json: { scope: granted.join(' ') },
  });
  const grantBody = await grant.text();
  if (grant.status !== 200) throw new Error(`Glewlwyd refused the grant: ${grant.status} ${grantBody}`);

  const resume = new URL(
    callbackUrl.includes('?') ? `${callbackUrl}&g_continue` : `${callbackUrl}?g_continue`,
  );
  const back = await follow(jar, resume, isClientRedirect);
  if (!isClientRedirect(back)) {
    throw new Error(
      `Glewlwyd sent the browser back to its login page after login and consent: ${back.search}`,
    );
  }
  return back;
}
