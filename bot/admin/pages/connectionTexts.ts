import {
  type ConnectionCheck,
  type ConnectionStatus,
  type ConnectionSummary,
  describeUnreadable,
} from '../../../profiles';

/** How the admin pages word a connection's state and a connection test. */

const ORG_STATUS: Record<ConnectionStatus | 'none', { text: string; tone: string }> = {
  active: { text: 'connected', tone: 'ok' },
  'pending-verification': { text: 'waiting for verification', tone: 'warn' },
  'needs-reauthorization': { text: 'needs an admin to reconnect', tone: 'error' },
  revoked: { text: 'revoked: needs an admin to reconnect', tone: 'error' },
  none: { text: 'not connected yet', tone: 'warn' },
};

export function orgStatus(connection: ConnectionSummary | null) {
  const status = ORG_STATUS[connection?.status ?? 'none'];
  // Tokens sealed with a key this service lacks cannot be used, whatever the status says (#52).
  const unreadable = connection?.unreadable;
  return {
    ...status,
    ...(unreadable ? { text: `${status.text}, but ${describeUnreadable(unreadable)}`, tone: 'error' } : {}),
    key: connection?.status ?? 'none',
    broken:
      connection?.status === 'needs-reauthorization' ||
      connection?.status === 'revoked' ||
      Boolean(unreadable),
  };
}

/** The check's outcome, with what the provider answered when the check has it (`detail`, never a token). */
export function describeCheck(check: ConnectionCheck): string {
  const text = checkOutcome(check);
  // outbound-refused already names the refused host in its sentence. The detail may quote the API's
  // answer (a success field's value): bounded here, escaped by the template like every value.
  if (!check.detail || check.reason === 'outbound-refused') return text;
  const detail = check.detail.length > 300 ? `${check.detail.slice(0, 299)}…` : check.detail;
  return `${text} Detail: ${detail}.`;
}

function checkOutcome(check: ConnectionCheck): string {
  switch (check.reason) {
    case 'ok':
      return `OK: the check URL accepted the token (HTTP ${check.status ?? 200})${check.refreshed ? ' after a refresh' : ''}.`;
    case 'no-check-url':
      return 'A valid token is available; the profile has no check URL to call.';
    case 'not-connected':
      return 'Not connected.';
    case 'needs-reauthorization':
      return 'The provider no longer accepts this connection: an admin must reconnect it.';
    case 'pending-verification':
      return 'The connection still waits for verification.';
    case 'provider-unavailable':
      return 'The provider did not answer; try again in a minute.';
    case 'rejected':
      return `The API refused the token (HTTP ${check.status ?? 401}).`;
    case 'unexpected-answer':
      return `The check URL answered HTTP ${check.status ?? 200}, but not as the profile's response success field expects.`;
    case 'unreachable':
      return 'The check URL could not be reached.';
    case 'outbound-refused':
      return `The check URL was not called: ${check.detail ?? 'its address is not allowed'}.`;
    case 'profile-not-found':
      return 'The profile of this connection no longer exists.';
    default:
      return check.reason.startsWith('http-')
        ? `The check URL answered HTTP ${check.status ?? check.reason.slice(5)}.`
        : `Failed (${check.reason}).`;
  }
}
