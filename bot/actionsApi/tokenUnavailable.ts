import type { TokenUnavailableReason } from '../../profiles';
import type { ConnectionTarget } from './connectionTarget';
import { ApiError } from './responses';

/**
 * "No usable token" for the execute API and the proxy: 409 with the reason as the code (the state of
 * the connection, not the request, is at fault), or 503 with Retry-After when the provider's token
 * endpoint is not answering. Never a sign-in link: a bot signs its user in through the token service
 * (GetSignInResource / OAuthPrompt), an admin reconnects on the admin pages; the message says which.
 */
export function tokenUnavailable(target: ConnectionTarget, reason: TokenUnavailableReason): ApiError {
  const name = target.profile.displayName;
  const id = target.profile.id;
  if (reason === 'provider-unavailable') {
    return new ApiError(
      503,
      'provider-unavailable',
      `${name} is not answering; the stored tokens are kept, try again shortly`,
      [],
      { 'Retry-After': '5' },
    );
  }
  const fix =
    target.whose === 'org'
      ? `an admin connects it for the organisation (admin pages, profile "${id}")`
      : target.userSignsIn
        ? `sign the user in through the token service (connectionName "${id}") first`
        : "the connection's owner signs in again";
  const what: Record<Exclude<TokenUnavailableReason, 'provider-unavailable'>, string> = {
    'not-connected': `there is no connection of "${id}" for this ${target.whose === 'org' ? 'organisation' : 'user'}`,
    'needs-reauthorization': `the connection of "${id}" was refused by ${name} and needs a new sign-in`,
    'pending-verification': `the sign-in to "${id}" waits for its verification code`,
  };
  return new ApiError(409, reason, `${what[reason]}: ${fix}`);
}
