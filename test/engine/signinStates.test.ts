// The one sign-in vocabulary (profiles/signinStates.ts, docs/signin-states.md): how a stored request
// reads as a sign-in state, whatever record format the store keeps.
import { signinRequestOf, signinStateOf } from '../../profiles/signinStates';
import type { AuthorizationRequestOutcome, StoredAuthorizationRequest } from '../../profiles/store/types';

function request(
  status: StoredAuthorizationRequest['status'],
  outcome: AuthorizationRequestOutcome | null = null,
): StoredAuthorizationRequest {
  return {
    id: 'req_000000000000000000000000',
    profileId: 'crm',
    subjectKey: 'user:webchat:alice',
    status,
    stateHash: 'state-hash',
    bindingHash: 'binding-hash',
    codeVerifier: 'sealed-verifier',
    nonceHash: null,
    redirectUri: 'https://bot.example.com/oauth/callback/crm',
    expectedIssuer: null,
    scopes: ['read'],
    profileFingerprint: 'fingerprint',
    requireVerification: true,
    context: { conversation: { id: 'conv-1' } },
    createdBy: 'user:webchat:alice',
    createdAt: 1_000,
    expiresAt: 601_000,
    startedAt: null,
    consumedAt: null,
    outcome,
  };
}

test.each([
  ['created', request('created'), 'created'],
  ['started', request('started'), 'started'],
  ['consumed (the code is being exchanged)', request('consumed'), 'consumed'],
  ['completed: connected', request('completed', { result: 'connected', connectionId: 'c1' }), 'connected'],
  [
    'completed: pending-verification',
    request('completed', { result: 'pending-verification', connectionId: 'c1' }),
    'pending-verification',
  ],
  ['completed: denied', request('completed', { result: 'denied', error: 'consent-denied' }), 'denied'],
  ['completed: failed', request('completed', { result: 'failed', error: 'invalid-grant' }), 'failed'],
  ['completed: failed / expired', request('completed', { result: 'failed', error: 'expired' }), 'expired'],
  [
    'completed: failed / cancelled',
    request('completed', { result: 'failed', error: 'cancelled' }),
    'cancelled',
  ],
] as const)('a stored request %s reads as the sign-in state %s', (_label, stored, state) => {
  expect(signinStateOf(stored)).toBe(state);
});

test('hosts see the state, the error code of a failure and the connection made, never hashes or the verifier', () => {
  const failed = signinRequestOf(request('completed', { result: 'failed', error: 'invalid-grant' }));
  expect(failed).toEqual({
    id: 'req_000000000000000000000000',
    profileId: 'crm',
    subjectKey: 'user:webchat:alice',
    connectionName: null,
    state: 'failed',
    error: 'invalid-grant',
    context: { conversation: { id: 'conv-1' } },
    createdBy: 'user:webchat:alice',
    expiresAt: 601_000,
  });
  const connected = signinRequestOf(request('completed', { result: 'connected', connectionId: 'c1' }));
  expect(connected.state).toBe('connected');
  expect(connected.connectionId).toBe('c1');
  // A named connection's sign-in (issue 10 point 3): the base subject key, so `=== 'org'` checks hold.
  const named = signinRequestOf({ ...request('created'), subjectKey: 'org#ops' });
  expect([named.subjectKey, named.connectionName]).toEqual(['org', 'ops']);
  expect(connected).not.toHaveProperty('error');
  expect(JSON.stringify(connected)).not.toMatch(/state-hash|binding-hash|sealed-verifier/);
});
