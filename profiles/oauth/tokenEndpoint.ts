import debugModule from 'debug';
import { LRUCache } from 'lru-cache';
import { AuthorizationCode, type ModuleOptions } from 'simple-oauth2';
import { sha256 } from '../ids';
import type { CheckedUrl, OutboundRequests } from '../outboundRequests';
import { repeatDelay, type HttpPolicy, type TokenCall } from '../retryPolicy';
import { classifyFailure, failureError } from './tokenCallFailures';

/**
 * Token-endpoint calls (code exchange, refresh, revocation) through simple-oauth2, with a timeout,
 * repeats only where retryPolicy.ts allows them (SECURITY.md #48, #19) and errors mapped to the
 * catalogue without the response body, which may contain tokens.
 */

// simple-oauth2 logs the Basic authorization header through `debug` when DEBUG names it; strip
// its namespaces so an operator's DEBUG=* cannot put client secrets in the logs (SECURITY.md #32).
if (process.env.DEBUG) {
  const kept = process.env.DEBUG.split(',').filter(
    (ns) => ns.trim() !== '' && !/^(simple-oauth2|\*)/.test(ns.trim()),
  );
  debugModule.enable(kept.join(','));
}

export interface TokenEndpointClient {
  clientId: string;
  clientSecret: string;
  authMethod: 'client_secret_basic' | 'client_secret_post';
}

export { DEFAULT_HTTP_POLICY, type HttpPolicy } from '../retryPolicy';

/**
 * simple-oauth2 clients, one per endpoint and client, kept per outbound client (its lookup goes into
 * them): building one validates its options with joi, a measurable part of each token call (issue 12).
 * A client holds only that configuration. The key names the secret by its hash only.
 */
const clients = new WeakMap<OutboundRequests, LRUCache<string, AuthorizationCode>>();
const MAX_CLIENTS = 200;

function oauthFor(
  endpoint: CheckedUrl,
  client: TokenEndpointClient,
  policy: HttpPolicy,
  outbound: OutboundRequests,
): { oauth: AuthorizationCode; path: string } {
  // Only a checked URL is requested, and through the outbound lookup that refuses internal DNS
  // answers in production (SECURITY.md #41, #42); Wreck hands `lookup` to http.request. Checked on
  // every call, cached client or not.
  const checked = outbound.check(endpoint.href, endpoint.field);
  const url = new URL(checked.href);
  let cache = clients.get(outbound);
  if (!cache) {
    cache = new LRUCache({ max: MAX_CLIENTS });
    clients.set(outbound, cache);
  }
  const key = [
    url.href,
    client.clientId,
    sha256(client.clientSecret),
    client.authMethod,
    policy.timeoutMs,
  ].join('\n');
  let oauth = cache.get(key);
  if (!oauth) {
    const options: ModuleOptions = {
      client: { id: client.clientId, secret: client.clientSecret },
      auth: {
        tokenHost: url.origin,
        tokenPath: `${url.pathname}${url.search}`,
        revokePath: `${url.pathname}${url.search}`,
      },
      options: { authorizationMethod: client.authMethod === 'client_secret_basic' ? 'header' : 'body' },
      http: {
        timeout: policy.timeoutMs,
        redirects: 0,
        // The outbound client's kept-alive agent (issue 12: without one Wreck opened a connection, in
        // production a TLS handshake, for every code exchange, refresh and revocation). Its own
        // `lookup` (the same guarded one) is what node uses for each connection it opens; a kept one
        // goes back to the same host and port only (profiles/outboundRequests.ts).
        agent: outbound.agentFor(checked),
        ...(outbound.lookup ? { lookup: outbound.lookup } : {}),
      },
    };
    oauth = new AuthorizationCode(options);
    cache.set(key, oauth);
  }
  return { oauth, path: url.pathname };
}

/** `grant_type=authorization_code`; returns the raw parsed body for `processTokenResponse`. */
export async function requestCodeToken(
  tokenUrl: CheckedUrl,
  client: TokenEndpointClient,
  params: { code: string; redirectUri: string; codeVerifier: string | null },
  policy: HttpPolicy,
  outbound: OutboundRequests,
): Promise<unknown> {
  const { oauth } = oauthFor(tokenUrl, client, policy, outbound);
  return callTokenEndpoint('authorization_code', policy, async () => {
    const token = await oauth.getToken({
      code: params.code,
      redirect_uri: params.redirectUri,
      ...(params.codeVerifier ? { code_verifier: params.codeVerifier } : {}),
    } as Parameters<AuthorizationCode['getToken']>[0]);
    return token.token;
  });
}

/** `grant_type=refresh_token`. simple-oauth2's own copy of a missing refresh_token is unreliable; callers keep theirs. */
export async function requestRefreshToken(
  refreshUrl: CheckedUrl,
  client: TokenEndpointClient,
  refreshToken: string,
  policy: HttpPolicy,
  outbound: OutboundRequests,
): Promise<unknown> {
  const { oauth } = oauthFor(refreshUrl, client, policy, outbound);
  return callTokenEndpoint('refresh_token', policy, async () => {
    const refreshed = await oauth.createToken({ refresh_token: refreshToken }).refresh();
    const body = { ...refreshed.token } as Record<string, unknown>;
    // simple-oauth2 adds `refresh_token: undefined` and `expires_at` of its own; drop both so the
    // body is what the provider sent.
    if (body.refresh_token === undefined) delete body.refresh_token;
    delete body.expires_at;
    return body;
  });
}

/** RFC 7009 revocation of one token. */
export async function revokeToken(
  revocationUrl: CheckedUrl,
  client: TokenEndpointClient,
  token: string,
  hint: 'access_token' | 'refresh_token',
  policy: HttpPolicy,
  outbound: OutboundRequests,
): Promise<void> {
  const { oauth } = oauthFor(revocationUrl, client, policy, outbound);
  await callTokenEndpoint('revocation', policy, async () => {
    // `json: true` accepts the empty 200 most servers answer with (FACTS: simple-oauth2 revoke).
    await oauth.createToken({ [hint]: token }).revoke(hint, { json: true });
  });
}

/**
 * Sends `send` and, after a failure, again only when `repeatDelay` allows it for this kind of call
 * (SECURITY.md #48): never a code or refresh token that may already have reached the provider.
 */
async function callTokenEndpoint<T>(call: TokenCall, policy: HttpPolicy, send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await send();
    } catch (error) {
      const failure = classifyFailure(error);
      const delay = repeatDelay(call, failure, attempt, policy);
      if (delay === null) throw failureError(call, failure);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
