import type { ActionFailure, ActionOutcome } from '../../profiles';
import type { ConnectionTarget } from './connectionTarget';
import { DetailedApiError } from './responses';
import { tokenUnavailable } from './tokenUnavailable';

/**
 * An action's outcome (engine.runAction) as the execute API answers it: 200 with the declared fields of
 * each result, or an error with the outcome's stable code and an HTTP status for it. The provider's
 * own status, when there was one, is `upstreamStatus`; the message never holds a token or a body.
 */

export interface ExecuteResult {
  action: string;
  /** The provider's HTTP status. */
  status: number;
  /** Label and format of each result field, in declaration order. */
  fields: { name: string; label: string; format: string }[];
  results: Record<string, string | number | boolean | null>[];
  total?: number;
}

export function executeResult(outcome: Extract<ActionOutcome, { ok: true }>): ExecuteResult {
  return {
    action: outcome.action,
    status: outcome.status,
    fields: outcome.fields.map(({ name, label, format }) => ({ name, label, format })),
    results: outcome.items.map((item) => item.values),
    ...(outcome.total !== undefined ? { total: outcome.total } : {}),
  };
}

/** HTTP status of each failure code; the provider's failures are 4xx/5xx of their own kind. */
const STATUS: Record<ActionFailure['code'], number> = {
  'unknown-action': 404,
  'action-disabled': 403,
  'invalid-params': 400,
  'missing-scopes': 403,
  'current-user-unknown': 422,
  'no-api-base': 503,
  'not-connected': 409,
  'needs-reauthorization': 409,
  'pending-verification': 409,
  'provider-unavailable': 503,
  // The provider refused the token again after one refresh: a failure upstream, not of the caller's key.
  unauthorized: 502,
  forbidden: 403,
  'not-found': 404,
  'rate-limited': 429,
  unavailable: 502,
  'bad-response': 502,
  'bad-request': 400,
};

export function executeFailure(failure: ActionFailure, target: ConnectionTarget): DetailedApiError {
  const details: Record<string, unknown> = {
    action: failure.action,
    ...(failure.status !== undefined ? { upstreamStatus: failure.status } : {}),
    ...(failure.missingScopes ? { missingScopes: failure.missingScopes } : {}),
    ...(failure.declinedScopes ? { declinedScopes: failure.declinedScopes } : {}),
  };
  const headers: Record<string, string> = {};
  if (failure.code === 'rate-limited') {
    headers['Retry-After'] = String(Math.max(1, Math.ceil((failure.retryAfterMs ?? 1000) / 1000)));
  }
  switch (failure.code) {
    case 'not-connected':
    case 'needs-reauthorization':
    case 'pending-verification':
    case 'provider-unavailable': {
      // One wording for both surfaces (tokenUnavailable.ts): who fixes it, never a sign-in link.
      const unavailable = tokenUnavailable(target, failure.code);
      return new DetailedApiError(
        unavailable.status,
        unavailable.code,
        unavailable.message,
        details,
        [],
        unavailable.headers,
      );
    }
  }
  return new DetailedApiError(
    STATUS[failure.code],
    failure.code,
    failure.message,
    details,
    failure.issues ?? [],
    headers,
  );
}
