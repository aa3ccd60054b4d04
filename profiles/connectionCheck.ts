import type { EngineContext } from './engineContext';
import { isAuthProfilesError } from './errors';
import type { CheckedUrl, OutboundFetch } from './outboundRequests';
import { subjectFromKey } from './subjects';
import type { TokenService } from './tokens';

export interface ConnectionCheck {
  ok: boolean;
  /**
   * `ok`, a getToken reason, `no-check-url`, `rejected` (401/403), `http-<status>`, `unreachable`,
   * `outbound-refused` (the check URL's host or its address is internal, SECURITY #41, #42).
   */
  reason: string;
  /** Which host and address were refused, for `outbound-refused`. */
  detail?: string;
  /** HTTP status of the check URL, when it was called. */
  status?: number;
  /** The token was refreshed for this check. */
  refreshed: boolean;
  ms: number;
}

/**
 * "Test connection": get a valid token (refreshing if due), call the profile's `checkUrl` with it,
 * and say whether it works, and if not, why. A 401 gets one refresh and one retry, as API calls do.
 */
export async function checkConnection(
  engine: EngineContext,
  tokens: TokenService,
  connectionId: string,
  fetchImpl: OutboundFetch = engine.outbound.fetch,
): Promise<ConnectionCheck | null> {
  const started = engine.clock();
  const connection = await engine.store.connections.getById(connectionId);
  if (!connection) return null;
  const profile = await engine.catalog.find(connection.profileId);
  const done = (result: Omit<ConnectionCheck, 'ms'>): ConnectionCheck => ({
    ...result,
    ms: engine.clock() - started,
  });
  if (!profile) return done({ ok: false, reason: 'profile-not-found', refreshed: false });
  const subject = subjectFromKey(connection.subjectKey);
  let token = await tokens.getToken(profile, subject);
  if (!token.ok) return done({ ok: false, reason: token.reason, refreshed: false });
  let refreshed = token.expiresAt !== connection.expiresAt;
  if (profile.missing.length > 0 || profile.checkUrl === undefined)
    return done({ ok: true, reason: 'no-check-url', refreshed });
  let url: CheckedUrl;
  try {
    url = engine.outbound.profileUrl(profile, 'checkUrl') as CheckedUrl;
  } catch (error) {
    if (!isAuthProfilesError(error, 'outbound-refused')) throw error;
    return done({ ok: false, reason: 'outbound-refused', detail: error.message, refreshed });
  }
  for (let attempt = 0; attempt < 2; attempt += 1) {
    let response: Response;
    try {
      response = await fetchImpl(url, {
        headers: { authorization: `Bearer ${token.accessToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(engine.settings.http.timeoutMs),
      });
      await response.body?.cancel();
    } catch (error) {
      if (isAuthProfilesError(error, 'outbound-refused'))
        return done({ ok: false, reason: 'outbound-refused', detail: error.message, refreshed });
      return done({ ok: false, reason: 'unreachable', refreshed });
    }
    if (response.ok) return done({ ok: true, reason: 'ok', status: response.status, refreshed });
    if (response.status !== 401 || attempt > 0) {
      const reason =
        response.status === 401 || response.status === 403 ? 'rejected' : `http-${response.status}`;
      return done({ ok: false, reason, status: response.status, refreshed });
    }
    token = await tokens.getToken(profile, subject, { rejectedAccessToken: token.accessToken });
    if (!token.ok) return done({ ok: false, reason: token.reason, status: 401, refreshed });
    refreshed = true;
  }
  return done({ ok: false, reason: 'rejected', refreshed });
}
