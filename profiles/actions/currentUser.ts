import { LRUCache } from 'lru-cache';
import type { EngineContext } from '../engineContext';
import { sha256 } from '../ids';
import { withPath, type CheckedUrl } from '../outboundRequests';
import type { Profile } from '../profileCatalog';
import { errorDetail, failureOfAnswer, valueAt, type ActionFailure } from './actionResults';
import type { CurrentUserDeclaration } from './actionSchema';
import { renderPath, renderQuery } from './actionTemplates';
import {
  ApiRequestError,
  authorizedRequest,
  INTERACTIVE_API_POLICY,
  type ApiTokenSource,
} from './authorizedRequest';

/**
 * `{{currentUser}}` in an action: the signed-in user's id at the API (HubSpot's owner id), found by the
 * profile's `currentUser` request with the connection's account (`{{account.email}}`) and remembered for
 * ten minutes, so "my deals" costs one extra request per user per ten minutes, not per turn.
 */

const TTL_MS = 10 * 60_000;

export interface LookupInput {
  base: CheckedUrl;
  tokens: ApiTokenSource;
  connectionId: string;
  /** The connection's account (`account.*` values), read only when the id is not cached. */
  account: () => Promise<Record<string, string | undefined>>;
  /** The token the action runs with: only its digest keys the cache (see `lookup`). */
  accessToken: string;
  signal?: AbortSignal;
}

export class CurrentUserLookup {
  private readonly cache = new LRUCache<string, string>({ max: 10_000, ttl: TTL_MS });

  constructor(private readonly context: EngineContext) {}

  async lookup(
    profile: Profile,
    declaration: CurrentUserDeclaration,
    { base, tokens, connectionId, account, accessToken, signal }: LookupInput,
  ): Promise<string | Omit<ActionFailure, 'action'>> {
    // A new sign-in keeps the connection's id (the upsert replaces the slot), possibly with another
    // account, and a connection need not record its account: so the key is the token (its digest, never
    // the token itself), which every sign-in replaces. A refresh costs one lookup more, at most.
    const cacheKey = `${connectionId}:${sha256(accessToken)}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;
    const unknown = (why: string): Omit<ActionFailure, 'action'> => ({
      ok: false,
      code: 'current-user-unknown',
      message: `I could not find who you are in ${profile.displayName}: ${why}`,
      connectionId,
    });
    const values = await account();
    let url: CheckedUrl;
    try {
      const query = renderQuery(declaration.query, values);
      url = withPath(base, `${renderPath(declaration.path, values)}${query ? `?${query}` : ''}`);
    } catch {
      return unknown('the connection does not record the account it belongs to');
    }
    let answer;
    try {
      answer = await authorizedRequest({
        url,
        method: 'GET',
        headers: { accept: 'application/json' },
        repeatable: true,
        tokens,
        fetch: this.context.outbound.fetch,
        policy: INTERACTIVE_API_POLICY,
        apiName: profile.displayName,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (!(error instanceof ApiRequestError)) throw error;
      return { ok: false, code: error.code, message: error.message, connectionId };
    }
    if (!answer.response.ok) {
      const failure = failureOfAnswer(
        '',
        profile.displayName,
        answer.response,
        await errorDetail(answer.response, answer.accessToken),
      );
      const { action: _unused, ...rest } = failure;
      return rest;
    }
    let id: unknown;
    try {
      id = valueAt(await answer.response.json(), declaration.idPath);
    } catch {
      return unknown('the answer was not JSON');
    }
    if ((typeof id !== 'string' || id === '') && typeof id !== 'number') return unknown('no matching user');
    const value = String(id);
    this.cache.set(cacheKey, value);
    return value;
  }
}
