import { isAuthProfilesError, type AuthorizationEngine } from '../../profiles';
import type { Logger } from '../logger';
import { callerLabel, type ActionCaller } from './actionCaller';
import type { ConnectionTarget } from './connectionTarget';
import { ApiError } from './responses';

/**
 * What the execute API and the proxy record: an admin-initiated call in the audit log (who, which
 * profile and connection, the action or the method and path — never a query string, a body or a
 * token), refusals of callers in the log, and unexpected failures as a generic 500.
 */

export async function auditCall(
  engine: AuthorizationEngine,
  caller: Extract<ActionCaller, { kind: 'admin' }>,
  target: ConnectionTarget,
  entry: { action: 'proxy.called' | 'action.executed'; what: Record<string, string | number> },
): Promise<void> {
  await engine.audit({
    actor: callerLabel(caller),
    action: entry.action,
    target: `profile:${target.profile.id}`,
    details: { connection: target.whose, ...entry.what },
  });
}

/** The answer for a failure: an ApiError as it is, an engine error by its code, anything else a 500. */
export function failureOf(
  error: unknown,
  log: Logger,
  context: { caller: string; surface: 'proxy' | 'execute API' },
): ApiError {
  if (error instanceof ApiError) {
    if (error.status === 401 || error.status === 403) {
      log.warn({ ...context, errorCode: error.code }, `${context.surface}: caller refused`);
    }
    return error;
  }
  if (isAuthProfilesError(error)) {
    if (error.code === 'store-unavailable') {
      return new ApiError(503, error.code, 'the service cannot reach its store; try again', [], {
        'Retry-After': '5',
      });
    }
    if (error.code === 'outbound-refused') {
      // The API host is internal and not allow-listed (SECURITY.md #42); the address is not repeated.
      return new ApiError(
        502,
        'outbound-refused',
        "the profile's API host may not be reached from this service",
      );
    }
    // Engine messages name problems, never secrets (profiles/errors.ts).
    return new ApiError(error.status, error.code, error.message, error.issues);
  }
  log.error({ ...context, err: error }, `${context.surface}: unexpected error`);
  return new ApiError(500, 'internal-error', 'something went wrong; the error was logged');
}
