import { splitConnectionKey } from './connectionNames';
import type { StoredAuthorizationRequest } from './store/types';

/**
 * One sign-in, one vocabulary (docs/signin-states.md draws the machine). A sign-in is an authorization
 * request; every surface names where it is with these words: the request record (`SigninRequest.state`),
 * the callback's outcome (`CallbackOutcome.kind`), the event that resumes a waiting dialog
 * (`SigninEventValue.outcome`), the dialog's own wait and result, and the admin page's notice.
 *
 *   created ──start link opened──▶ started ──callback validated──▶ consumed ──code exchanged──▶ outcome
 *   outcome: connected | pending-verification | denied | failed
 *   created | started ──time ran out──▶ expired          created | started ──user moved on──▶ cancelled
 *   pending-verification ──code typed──▶ connected       (too many wrong codes ▶ failed, too late ▶ expired)
 *
 * The store keeps its own record format (`status` created/started/consumed/completed plus an outcome
 * `result`, with `expired` and `cancelled` stored as failures with that error code) so existing records
 * stay readable; `signinStateOf` is the one place that reads it.
 */
export type SigninState = 'created' | 'started' | 'consumed' | SigninOutcome;

/** How a sign-in ended (or, for `pending-verification`, where it waits for the chat user's code). */
export type SigninOutcome =
  'connected' | 'pending-verification' | 'denied' | 'failed' | 'expired' | 'cancelled';

/** The outcomes a callback can produce (time and the user's cancel end a sign-in elsewhere). */
export type CallbackOutcomeKind = Extract<
  SigninOutcome,
  'connected' | 'pending-verification' | 'denied' | 'failed'
>;

/** A sign-in still waiting for the browser or the provider: a later callback may still complete it. */
export function isOpen(state: SigninState): state is 'created' | 'started' {
  return state === 'created' || state === 'started';
}

/** What hosts may see of a sign-in: no state hash, binding, verifier or nonce. */
export interface SigninRequest {
  id: string;
  profileId: string;
  /** The subject's key (`org` for an organisation sign-in, whatever connection name it makes). */
  subjectKey: string;
  /** The named connection the sign-in makes (issue 10 point 3); null for the default one. */
  connectionName: string | null;
  state: SigninState;
  /** The engine's error code when `state` is `failed` (profiles/errors.ts). */
  error?: string;
  /** The connection the sign-in made, once it made one. */
  connectionId?: string;
  /** Host data stored with the request (a conversation reference, the admin who started it). */
  context: Record<string, unknown>;
  createdBy: string;
  expiresAt: number;
}

export function signinStateOf(request: StoredAuthorizationRequest): SigninState {
  if (request.status !== 'completed' || !request.outcome) {
    return request.status === 'completed' ? 'failed' : request.status;
  }
  const { result, error } = request.outcome;
  if (result === 'failed' && error === 'expired') return 'expired';
  if (result === 'failed' && error === 'cancelled') return 'cancelled';
  return result;
}

export function signinRequestOf(request: StoredAuthorizationRequest): SigninRequest {
  const state = signinStateOf(request);
  const { error, connectionId } = request.outcome ?? {};
  // The base key, so a host's `subjectKey === 'org'` check (the admin gate, SECURITY.md #44) also holds
  // for a named organisation connection (`org#ops`).
  const { subjectKey, name } = splitConnectionKey(request.subjectKey);
  return {
    id: request.id,
    profileId: request.profileId,
    subjectKey,
    connectionName: name,
    state,
    ...(state === 'failed' && error ? { error } : {}),
    ...(connectionId ? { connectionId } : {}),
    context: request.context,
    createdBy: request.createdBy,
    expiresAt: request.expiresAt,
  };
}
