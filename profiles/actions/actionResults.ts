import type { FieldIssue } from '../errors';
import type { OutboundResponse } from '../outboundRequests';
import { redactToken } from './tokenRedaction';
import { cleanProviderText } from '../oauth/providerText';
import { retryAfterMs } from '../retryPolicy';
import type { TokenUnavailableReason } from '../tokens';
import type { ActionDeclaration, FieldFormat } from './actionSchema';

/**
 * What running an action gives its callers (chat, the execute API): the declared fields of each
 * result, or a failure with a stable code and a message fit to show (never a token or a body).
 */

export type ActionErrorCode =
  | 'unknown-action'
  | 'action-disabled'
  | 'invalid-params'
  /** The connection lacks scopes the action needs (`missingScopes`; `declinedScopes` when the user said no). */
  | 'missing-scopes'
  /** `{{currentUser}}` could not be found at the API (no account email, no match). */
  | 'current-user-unknown'
  | 'no-api-base'
  | TokenUnavailableReason
  /** The API refused the token again after one refresh. */
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'rate-limited'
  | 'unavailable'
  | 'bad-response'
  | 'bad-request';

export type ActionValue = string | number | boolean | null;

export interface ActionField {
  name: string;
  label: string;
  format: FieldFormat;
}

export interface ActionItem {
  /** The value of the results' `titleField`, when declared. */
  title?: string;
  values: Record<string, ActionValue>;
  /** ISO 4217 code of a `currency` field's value, by field name, when the field has a `currencyPath`. */
  currencies?: Record<string, string>;
}

export type ActionOutcome =
  | {
      ok: true;
      action: string;
      /** The API's HTTP status. */
      status: number;
      fields: ActionField[];
      items: ActionItem[];
      /** Matches in all, when the API says. */
      total?: number;
    }
  | {
      ok: false;
      action: string;
      code: ActionErrorCode;
      message: string;
      status?: number;
      retryAfterMs?: number;
      missingScopes?: string[];
      declinedScopes?: string[];
      issues?: FieldIssue[];
      connectionId?: string;
    };

export type ActionFailure = Extract<ActionOutcome, { ok: false }>;

/** At most this many results are kept from one answer (cards and execute results stay small). */
export const MAX_ITEMS = 50;
const MAX_TEXT = 1000;

export function fieldsOf(action: ActionDeclaration): ActionField[] {
  return action.results.fields.map((field) => ({
    name: field.name ?? field.path.split('.').at(-1) ?? field.path,
    label: field.label,
    format: field.format,
  }));
}

/** Reads a dotted path (`results.0.id`) from parsed JSON. */
export function valueAt(document: unknown, path: string): unknown {
  let current: unknown = document;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(part)) return undefined;
      current = current[Number(part)];
    } else {
      if (!Object.hasOwn(current, part)) return undefined;
      current = (current as Record<string, unknown>)[part];
    }
  }
  return current;
}

/**
 * A value as shown, at most MAX_TEXT characters, with the access token replaced wherever an API echoed
 * it (SECURITY.md #72): what an action shows (chat cards, execute-API results) never holds the token.
 * Replaced before the cut: a token that straddled it would otherwise be shown in part.
 */
function shown(value: unknown, token: string): ActionValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  // A nested object or list: its JSON, shortened; a declaration should point at a leaf.
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return redactToken(text, token).slice(0, MAX_TEXT);
}

/** The declared fields of each result in a 2xx answer; `null` when the answer is not what was declared. */
export function extractResults(
  action: ActionDeclaration,
  document: unknown,
  /** The token the answer was obtained with, replaced in every value before it is cut to length. */
  token = '',
): { items: ActionItem[]; total?: number } | null {
  const declared = action.results;
  const list = declared.path === undefined ? document : valueAt(document, declared.path);
  let records: unknown[];
  if (Array.isArray(list)) records = list;
  else if (list !== null && typeof list === 'object') records = [list];
  else return null;
  const fields = fieldsOf(action);
  const items = records.slice(0, MAX_ITEMS).map((record) => {
    const values: Record<string, ActionValue> = {};
    declared.fields.forEach((field, index) => {
      values[(fields[index] as ActionField).name] = shown(valueAt(record, field.path), token);
    });
    const item: ActionItem = { values };
    declared.fields.forEach((field, index) => {
      if (field.currencyPath === undefined) return;
      const code = valueAt(record, field.currencyPath);
      if (typeof code === 'string' && /^[A-Z]{3}$/.test(code)) {
        item.currencies = { ...item.currencies, [(fields[index] as ActionField).name]: code };
      }
    });
    if (declared.titleField !== undefined) {
      const title = shown(valueAt(record, declared.titleField), token);
      if (title !== null) item.title = String(title);
    }
    return item;
  });
  const total = declared.totalPath === undefined ? undefined : valueAt(document, declared.totalPath);
  return typeof total === 'number' && Number.isInteger(total) && total >= 0 ? { items, total } : { items };
}

/** A non-2xx answer as a failure; `detail` is the API's own message, cleaned and without the token. */
export function failureOfAnswer(
  action: string,
  apiName: string,
  response: OutboundResponse,
  detail: string | undefined,
): ActionFailure {
  const status = response.status;
  const said = detail ? `: ${detail}` : '';
  switch (true) {
    case status === 401:
      return {
        ok: false,
        action,
        code: 'unauthorized',
        status,
        message: `${apiName} rejected the access again after it was refreshed`,
      };
    case status === 403:
      return { ok: false, action, code: 'forbidden', status, message: `${apiName} refused access${said}` };
    case status === 404:
      return {
        ok: false,
        action,
        code: 'not-found',
        status,
        message: `${apiName} found nothing there${said}`,
      };
    case status === 429 || status === 503: {
      const wait = retryAfterMs(response.headers.get('retry-after') ?? undefined, Date.now()) ?? 1000;
      if (status === 503 && response.headers.get('retry-after') === null) break;
      return {
        ok: false,
        action,
        code: 'rate-limited',
        status,
        retryAfterMs: wait,
        message: `${apiName} is rate limiting requests; try again in ${Math.ceil(wait / 1000)} s`,
      };
    }
    case status >= 400 && status < 500:
      return {
        ok: false,
        action,
        code: 'bad-request',
        status,
        message: `${apiName} rejected the request (HTTP ${status})${said}`,
      };
  }
  return {
    ok: false,
    action,
    code: 'unavailable',
    status,
    message: `${apiName} is not answering properly right now (HTTP ${status})`,
  };
}

/** The API's error message from a JSON error body, shortened, with the token removed should it appear. */
export async function errorDetail(response: OutboundResponse, token: string): Promise<string | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await response.text());
  } catch {
    return undefined;
  }
  const candidate =
    valueAt(parsed, 'message') ?? valueAt(parsed, 'error.message') ?? valueAt(parsed, 'error_description');
  if (typeof candidate !== 'string' || candidate.length === 0) return undefined;
  const redacted = redactToken(candidate, token);
  return cleanProviderText(redacted, 300) ?? undefined;
}
