import { exchangeCode, isValidatedCallback, validateCallback, type CallbackInput } from './callback';
import { saveConnection, summarize, type ConnectionSummary } from './connections';
import { recordAudit, type EngineContext } from './engineContext';
import { AuthProfilesError, isAuthProfilesError } from './errors';
import type { Profile } from './profileCatalog';
import { signinRequestOf, type CallbackOutcomeKind, type SigninRequest } from './signinStates';
import type { AuthorizationRequestOutcome, StoredAuthorizationRequest } from './store/types';

/** How a callback ended, for the page to show and the waiting dialog to resume with (profiles/signinStates.ts). */
export type CallbackOutcome = { kind: CallbackOutcomeKind; request: SigninRequest; profile: Profile } & (
  | { kind: 'connected'; connection: ConnectionSummary }
  | {
      kind: 'pending-verification';
      connection: ConnectionSummary;
      /** Shown once, on the callback page, to the person who consented. */
      verificationCode: string;
    }
  | { kind: 'denied' }
  | { kind: 'failed'; error: AuthProfilesError }
);

/**
 * The callback, end to end: validates (throws `AuthProfilesError` for SECURITY.md #1–#5 without
 * consuming anything), then exchanges the code and stores the connection, records the outcome with the
 * request (where a waiting dialog finds it) and in the audit log. Failures after consumption come back
 * as `failed`.
 */
export async function completeCallback(
  context: EngineContext,
  input: CallbackInput,
): Promise<CallbackOutcome> {
  const callback = await validateCallback(context, input);
  const { request, profile } = callback;
  if (!isValidatedCallback(callback)) {
    const denied = callback.error.code === 'consent-denied';
    // The provider's own words (cleaned, bounded) are the clue an operator needs (SECURITY.md #7).
    context.log.warn(
      {
        profileId: profile.id,
        requestId: request.id,
        providerError: callback.error.provider?.error,
        description: callback.error.provider?.description,
      },
      denied ? 'access was not granted at the provider' : 'the provider refused the authorization',
    );
    await finish(context, request, { result: denied ? 'denied' : 'failed', error: callback.error.code });
    await recordAudit(context, {
      actor: request.createdBy,
      action: denied ? 'authorization.denied' : 'authorization.failed',
      target: `profile:${profile.id}`,
      details: { subject: request.subjectKey, code: callback.error.code },
    });
    return denied
      ? { kind: 'denied', request: finished(request, 'denied', callback.error.code), profile }
      : {
          kind: 'failed',
          request: finished(request, 'failed', callback.error.code),
          profile,
          error: callback.error,
        };
  }
  try {
    const { tokens, account, apiBaseUrl } = await exchangeCode(context, callback);
    const saved = await saveConnection(context, profile, request.subjectKey, tokens, {
      createdBy: request.createdBy,
      requireVerification: request.requireVerification,
      account,
      apiBaseUrl,
      requestedScopes: request.scopes,
    });
    const connection = summarize(saved.connection, context.keyRing);
    await finish(context, request, {
      result: saved.verificationCode ? 'pending-verification' : 'connected',
      connectionId: connection.id,
    });
    await recordAudit(context, {
      actor: request.createdBy,
      action: 'authorization.completed',
      target: `connection:${connection.id}`,
      details: { profile: profile.id, subject: request.subjectKey, status: connection.status },
    });
    context.log.info(
      { profileId: profile.id, connectionId: connection.id, status: connection.status },
      'authorization completed',
    );
    return saved.verificationCode
      ? {
          kind: 'pending-verification',
          request: finished(request, 'pending-verification', undefined, connection.id),
          profile,
          connection,
          verificationCode: saved.verificationCode,
        }
      : {
          kind: 'connected',
          request: finished(request, 'connected', undefined, connection.id),
          profile,
          connection,
        };
  } catch (error) {
    const failure = isAuthProfilesError(error)
      ? error
      : new AuthProfilesError('provider-error', 'the authorization could not be completed');
    context.log.warn(
      {
        profileId: profile.id,
        requestId: request.id,
        errorCode: failure.code,
        providerStatus: failure.provider?.httpStatus,
        providerError: failure.provider?.error,
      },
      'authorization failed',
    );
    await finish(context, request, { result: 'failed', error: failure.code });
    await recordAudit(context, {
      actor: request.createdBy,
      action: 'authorization.failed',
      target: `profile:${profile.id}`,
      details: { subject: request.subjectKey, errorCode: failure.code },
    });
    return { kind: 'failed', request: finished(request, 'failed', failure.code), profile, error: failure };
  }
}

async function finish(
  context: EngineContext,
  request: StoredAuthorizationRequest,
  outcome: AuthorizationRequestOutcome,
): Promise<void> {
  try {
    await context.store.authorizationRequests.complete(request.id, outcome);
  } catch (error) {
    // The request is already consumed; a lost outcome only delays the dialog's timeout message.
    context.log.warn(
      { requestId: request.id, errorCode: (error as { code?: string }).code },
      'recording the request outcome failed',
    );
  }
}

/** The request as hosts see it once the callback decided its outcome. */
function finished(
  request: StoredAuthorizationRequest,
  state: CallbackOutcomeKind,
  error?: string,
  connectionId?: string,
): SigninRequest {
  return {
    ...signinRequestOf(request),
    state,
    ...(state === 'failed' && error ? { error } : {}),
    ...(connectionId ? { connectionId } : {}),
  };
}
