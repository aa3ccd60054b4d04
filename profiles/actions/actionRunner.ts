import type { EngineContext } from '../engineContext';
import { isAuthProfilesError } from '../errors';
import { withPath, type CheckedUrl } from '../outboundRequests';
import type { Profile } from '../profileCatalog';
import { declinedScopesOf } from '../scopesOnDemand';
import type { Subject } from '../subjects';
import type { TokenResult, TokenService } from '../tokens';
import { checkActionParams } from './actionParams';
import {
  errorDetail,
  extractResults,
  failureOfAnswer,
  fieldsOf,
  type ActionFailure,
  type ActionOutcome,
} from './actionResults';
import { actionKey, isActionEnabled, type ActionDeclaration, type ParamDeclaration } from './actionSchema';
import { placeholdersOf, renderBody, renderPath, renderQuery, type TemplateValue } from './actionTemplates';
import {
  ApiRequestError,
  authorizedRequest,
  INTERACTIVE_API_POLICY,
  type ApiTokenSource,
} from './authorizedRequest';
import { CurrentUserLookup } from './currentUser';

/** An action as hosts list it (chat menus, the execute API's catalogue, admin pages). */
export interface ActionView {
  key: string;
  entity: string;
  action: string;
  title: string;
  description?: string;
  access: 'read' | 'write';
  method: string;
  params: Record<string, ParamDeclaration>;
  scopes: string[];
  phrases: string[];
  enabled: boolean;
}

export interface RunActionOptions {
  /** A named connection (`work`); absent: the subject's default one. */
  connection?: string;
  /** A token the caller already holds for this subject (the authorization dialog's); used first. */
  token?: TokenResult;
  signal?: AbortSignal;
}

export function viewOf(profile: Profile, action: ActionDeclaration): ActionView {
  return {
    key: actionKey(action),
    entity: action.entity,
    action: action.action,
    title: action.title,
    ...(action.description !== undefined ? { description: action.description } : {}),
    access: action.access,
    method: action.method,
    params: action.params,
    scopes: action.scopes,
    phrases: action.phrases,
    enabled: isActionEnabled(action, profile.actionSettings),
  };
}

/**
 * Runs declared actions with a subject's connection (issue 11): checks the key, the admin's switch,
 * the parameters and the connection's scopes before anything is sent, then one authorized request
 * (profiles/actions/authorizedRequest.ts) to the profile's API host only.
 */
const viewsOfFrozen = new WeakMap<Profile, readonly ActionView[]>();

export class ActionRunner {
  private readonly currentUsers: CurrentUserLookup;

  constructor(
    private readonly context: EngineContext,
    private readonly tokens: TokenService,
  ) {
    this.currentUsers = new CurrentUserLookup(context);
  }

  /**
   * The views of a profile's actions. A frozen profile (the catalogue hands out one per unchanged
   * record) cannot change, so its views are built once; every chat message lists them (issue 12).
   */
  list(profile: Profile): readonly ActionView[] {
    const known = Object.isFrozen(profile) ? viewsOfFrozen.get(profile) : undefined;
    if (known) return known;
    const views = Object.freeze(profile.actions.map((action) => Object.freeze(viewOf(profile, action))));
    if (Object.isFrozen(profile)) viewsOfFrozen.set(profile, views);
    return views;
  }

  async run(
    profile: Profile,
    subject: Subject,
    key: string,
    rawParams: unknown,
    options: RunActionOptions = {},
  ): Promise<ActionOutcome> {
    const action = profile.actions.find((candidate) => actionKey(candidate) === key);
    const fail = (failure: Omit<ActionFailure, 'ok' | 'action'>): ActionFailure => ({
      ok: false,
      action: key,
      ...failure,
    });
    if (!action)
      return fail({ code: 'unknown-action', message: `${profile.displayName} has no action "${key}"` });
    if (!isActionEnabled(action, profile.actionSettings)) {
      return fail({
        code: 'action-disabled',
        message: `"${action.title}" is turned off for ${profile.displayName}`,
      });
    }
    const params = checkActionParams(action, rawParams);
    if (!params.ok) {
      const summary = params.issues.map((issue) => `${issue.path} ${issue.message}`).join('; ');
      return fail({
        code: 'invalid-params',
        message: `invalid parameters: ${summary}`,
        issues: params.issues,
      });
    }

    const first = options.token ?? (await this.tokens.getToken(profile, subject, pick(options)));
    if (!first.ok) {
      return fail({
        code: first.reason,
        message: first.message,
        ...(first.connectionId !== undefined ? { connectionId: first.connectionId } : {}),
      });
    }
    const connectionId = first.connectionId;
    const usesCurrentUser = placeholdersOf(action).includes('currentUser');
    const needed = [...action.scopes, ...(usesCurrentUser ? (profile.currentUser?.scopes ?? []) : [])];
    // A provider that reported no scopes leaves nothing to compare: the API will say.
    const missing = first.scopes.length === 0 ? [] : needed.filter((scope) => !first.scopes.includes(scope));
    if (missing.length > 0)
      return fail(await this.missingScopes(profile, action, first, [...new Set(missing)]));

    const base = this.apiBase(profile, first);
    if (!base)
      return fail({ code: 'no-api-base', message: `${profile.displayName} has no API base URL configured` });

    // The token this run holds: the one obtained first, for every request of this run (the currentUser
    // lookup, then the action) while it is well before its expiry; a refresh after a 401 replaces it.
    // It lives as long as this run only; the next run asks the engine, which sees revocations.
    let held: TokenResult = first;
    const { clock, settings } = this.context;
    const fresh = (token: TokenResult) => token.ok && token.expiresAt - settings.refreshSkewMs > clock();
    const tokens: ApiTokenSource = {
      get: async () => {
        if (!fresh(held)) held = await this.tokens.getToken(profile, subject, pick(options));
        return held;
      },
      refreshAfterRejection: async (token) => {
        held = await this.tokens.getToken(profile, subject, { ...pick(options), rejectedAccessToken: token });
        return held;
      },
    };

    const values: Record<string, TemplateValue | undefined> = { ...params.values };
    // The connection's account is read from the store only when something needs it: the action's own
    // templates, or a currentUser lookup that is not cached (a "my …" action on every turn reads none).
    let accountRead: Promise<Record<string, string | undefined>> | undefined;
    const account = () => (accountRead ??= this.accountValues(connectionId));
    if (placeholdersOf(action).some((name) => name.startsWith('account.'))) {
      Object.assign(values, await account());
    }
    if (usesCurrentUser && profile.currentUser) {
      const id = await this.currentUsers.lookup(profile, profile.currentUser, {
        base,
        tokens,
        connectionId,
        account,
        accessToken: first.accessToken,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (typeof id !== 'string') return { ...id, action: key };
      values.currentUser = id;
    }

    let url: CheckedUrl;
    let body: string | undefined;
    try {
      const query = renderQuery(action.query, values);
      url = withPath(base, `${renderPath(action.path, values)}${query ? `?${query}` : ''}`);
      if (action.body !== undefined) body = JSON.stringify(renderBody(action.body, values));
    } catch (error) {
      if (!isAuthProfilesError(error)) throw error;
      return fail({ code: 'invalid-params', message: error.message, issues: error.issues ?? [] });
    }
    return this.send(profile, action, key, url, body, tokens, options);
  }

  private async send(
    profile: Profile,
    action: ActionDeclaration,
    key: string,
    url: CheckedUrl,
    body: string | undefined,
    tokens: ApiTokenSource,
    options: RunActionOptions,
  ): Promise<ActionOutcome> {
    const apiName = profile.displayName;
    let answer;
    try {
      answer = await authorizedRequest({
        url,
        method: action.method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body } : {}),
        repeatable: action.access === 'read',
        tokens,
        fetch: this.context.outbound.fetch,
        policy: INTERACTIVE_API_POLICY,
        apiName,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (!(error instanceof ApiRequestError)) throw error;
      return {
        ok: false,
        action: key,
        code: error.code,
        message: error.message,
        ...(error.details.connectionId !== undefined ? { connectionId: error.details.connectionId } : {}),
      };
    }
    const { response, accessToken } = answer;
    if (response.status < 200 || response.status >= 300) {
      return failureOfAnswer(key, apiName, response, await errorDetail(response, accessToken));
    }
    let document: unknown = null;
    const text = await response.text();
    if (text.trim() !== '') {
      try {
        document = JSON.parse(text);
      } catch {
        return {
          ok: false,
          action: key,
          code: 'bad-response',
          status: response.status,
          message: `${apiName} answered with something that is not JSON`,
        };
      }
    }
    const results = document === null ? { items: [] } : extractResults(action, document, accessToken);
    if (!results) {
      return {
        ok: false,
        action: key,
        code: 'bad-response',
        status: response.status,
        message: `${apiName} answered a document without the declared results`,
      };
    }
    return {
      ok: true,
      action: key,
      status: response.status,
      fields: fieldsOf(action),
      ...results,
    };
  }

  /**
   * The failure of an action whose scopes the connection lacks. Scopes the user declined at the last
   * consent are named as such (`declinedScopes`), so the message does not send the user to an admin
   * for what only they can allow; every action scope is declared, so a sign-in may ask for it.
   */
  private async missingScopes(
    profile: Profile,
    action: ActionDeclaration,
    token: Extract<TokenResult, { ok: true }>,
    missing: string[],
  ): Promise<Omit<ActionFailure, 'ok' | 'action'>> {
    const connectionId = token.connectionId;
    const declinedAtConsent =
      token.declinedScopes ??
      declinedScopesOf((await this.context.store.connections.getById(connectionId)) ?? { scopes: [] });
    const declined = missing.filter((scope) => declinedAtConsent.includes(scope));
    const other = missing.filter((scope) => !declined.includes(scope));
    const name = profile.displayName;
    const parts = [
      ...(other.length > 0 ? [`this needs access ${name} has not granted: ${other.join(', ')}`] : []),
      ...(declined.length > 0
        ? [
            `"${action.title}" needs access you declined when you last signed in to ${name}: ${declined.join(', ')}. Sign in again and allow it to use this`,
          ]
        : []),
    ];
    return {
      code: 'missing-scopes',
      message: parts.join('; '),
      missingScopes: missing,
      ...(declined.length > 0 ? { declinedScopes: declined } : {}),
      connectionId,
    };
  }

  private apiBase(profile: Profile, token: Extract<TokenResult, { ok: true }>): CheckedUrl | undefined {
    // The connection's own base (Salesforce's instance_url) is checked like any profile URL (SECURITY.md #41).
    if (token.apiBaseUrl !== undefined) return this.context.outbound.check(token.apiBaseUrl, 'apiBaseUrl');
    return this.context.outbound.profileUrl(profile, 'apiBaseUrl');
  }

  private async accountValues(connectionId: string): Promise<Record<string, string | undefined>> {
    const connection = await this.context.store.connections.getById(connectionId);
    const account = connection?.account;
    return {
      'account.sub': account?.sub || undefined,
      'account.email': account?.email ?? undefined,
      'account.name': account?.name ?? undefined,
    };
  }
}

function pick(options: RunActionOptions): { connection?: string } {
  return options.connection !== undefined ? { connection: options.connection } : {};
}
