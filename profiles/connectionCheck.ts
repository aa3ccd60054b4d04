import type { EngineContext } from './engineContext';
import { isAuthProfilesError } from './errors';
import { isExternalSubjectKey } from './externalConsents';
import { safeErrorCode } from './oauth/tokenResponse';
import type { CheckedUrl, OutboundFetch, OutboundResponse } from './outboundRequests';
import type { Profile } from './profileCatalog';
import { DEFAULT_CONNECTION, splitConnectionKey } from './connectionNames';
import { subjectFromKey } from './subjects';
import type { TokenService } from './tokens';

export interface ConnectionCheck {
  ok: boolean;
  /**
   * `ok`, a getToken reason, `no-check-url`, `rejected` (401/403, or a 2xx whose success field is
   * not true), `unexpected-answer` (a 2xx without the success field), `http-<status>`, `unreachable`,
   * `outbound-refused` (the check URL's host or its address is internal, SECURITY.md #41, #42),
   * `not-linked` (an external consent's connection not yet linked to a chat user).
   */
  reason: string;
  /** HTTP status of the check URL, when it was called. */
  status?: number;
  /** The token was refreshed for this check. */
  refreshed: boolean;
  /**
   * For `outbound-refused`: which host and address were refused.
   * Otherwise what the provider answered, when that says more than the reason: the connection's `lastError`
   * for `needs-reauthorization` (e.g. `refresh-refused: HTTP 400, no error code`), or the API's error
   * code for a 200 `{"ok": false}`. Never a token or a body.
   */
  detail?: string;
  ms: number;
}

/** The most of a check URL's answer read to find its success field. */
const MAX_CHECK_BODY_BYTES = 64 * 1024;

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
  // A consent another system started belongs to no chat user until it is linked (profiles/externalConsents.ts).
  if (isExternalSubjectKey(connection.subjectKey))
    return done({ ok: false, reason: 'not-linked', refreshed: false });
  const subject = subjectFromKey(connection.subjectKey);
  const connectionName = splitConnectionKey(connection.subjectKey).name ?? DEFAULT_CONNECTION;
  let token = await tokens.getToken(profile, subject, { connection: connectionName });
  if (!token.ok) {
    return done({
      ok: false,
      reason: token.reason,
      refreshed: false,
      ...(await lastErrorOf(engine, connectionId, token.reason)),
    });
  }
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
    let response: OutboundResponse;
    let verdict: BodyVerdict;
    try {
      response = await fetchImpl(url, {
        headers: { authorization: `Bearer ${token.accessToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(engine.settings.http.timeoutMs),
      });
      verdict = response.ok ? await successFieldVerdict(profile, response) : { ok: true };
      await response.body?.cancel().catch(() => undefined);
    } catch (error) {
      if (isAuthProfilesError(error, 'outbound-refused'))
        return done({ ok: false, reason: 'outbound-refused', detail: error.message, refreshed });
      return done({ ok: false, reason: 'unreachable', refreshed });
    }
    if (response.ok) {
      if (!verdict.ok) return done({ ...verdict, status: response.status, refreshed });
      return done({ ok: true, reason: 'ok', status: response.status, refreshed });
    }
    if (response.status !== 401 || attempt > 0) {
      const reason =
        response.status === 401 || response.status === 403 ? 'rejected' : `http-${response.status}`;
      return done({ ok: false, reason, status: response.status, refreshed });
    }
    token = await tokens.getToken(profile, subject, { rejectedAccessToken: token.accessToken });
    if (!token.ok) {
      return done({
        ok: false,
        reason: token.reason,
        status: 401,
        refreshed,
        ...(await lastErrorOf(engine, connectionId, token.reason)),
      });
    }
    refreshed = true;
  }
  return done({ ok: false, reason: 'rejected', refreshed });
}

type BodyVerdict = { ok: true } | { ok: false; reason: 'rejected' | 'unexpected-answer'; detail: string };

/**
 * Providers that answer every call with HTTP 200 and say in the body whether it worked (Slack:
 * `{"ok": false, "error": "invalid_auth"}` for a dead token) name that member in the profile's
 * `responseSuccessField`; the check passes only when it is `true`.
 */
export async function successFieldVerdict(
  profile: Profile,
  response: OutboundResponse,
): Promise<BodyVerdict> {
  const field = profile.responseSuccessField;
  if (field === undefined) return { ok: true };
  const body = await readJson(response);
  if (body === undefined || typeof body !== 'object' || body === null || !(field in body)) {
    return { ok: false, reason: 'unexpected-answer', detail: `the answer has no "${field}" member` };
  }
  const record = body as Record<string, unknown>;
  if (record[field] === true) return { ok: true };
  const error = typeof record.error === 'string' ? ` (error "${safeErrorCode(record.error)}")` : '';
  return {
    ok: false,
    reason: 'rejected',
    // The API's value is shown to admins: bounded, it may be anything.
    detail: `the API answered "${field}": ${(JSON.stringify(record[field]) ?? 'undefined').slice(0, 100)}${error}`,
  };
}

/** Reads at most MAX_CHECK_BODY_BYTES and parses them; undefined when that is not JSON. */
async function readJson(response: OutboundResponse): Promise<unknown> {
  if (!response.body) return undefined;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_CHECK_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** For a connection the provider refused: what it answered, as recorded in `lastError` (SECURITY.md #49). */
async function lastErrorOf(
  engine: EngineContext,
  connectionId: string,
  reason: string,
): Promise<{ detail?: string }> {
  if (reason !== 'needs-reauthorization') return {};
  const current = await engine.store.connections.getById(connectionId).catch(() => null);
  return current?.lastError ? { detail: current.lastError } : {};
}
