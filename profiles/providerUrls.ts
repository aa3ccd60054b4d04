import type { EngineContext } from './engineContext';
import { AuthProfilesError } from './errors';
import type { Profile } from './profileCatalog';
import { urlProblem, type ProfileValidationOptions } from './profileSchema';

/**
 * URLs that come from a provider's answer rather than from a profile (Salesforce's `instance_url`,
 * named by the profile's `apiBaseUrlFrom`): the service will send tokens there, so they meet the
 * same address rule as a profile's own URLs (SECURITY.md #35, #41–#42). Every such URL passes through
 * this one function, the place to route through a stricter address check (request-time DNS).
 */
export function acceptProviderUrl(
  value: string,
  field: string,
  validation: ProfileValidationOptions,
): string {
  const problem = urlProblem(value, validation);
  if (problem) {
    // The value is the provider's, not a secret, but it is not echoed: it may be long or odd.
    throw new AuthProfilesError('invalid-token-response', `the token response's ${field} ${problem}`);
  }
  const url = new URL(value);
  if (url.search !== '') {
    throw new AuthProfilesError(
      'invalid-token-response',
      `the token response's ${field} must not contain a query`,
    );
  }
  // An API base: paths are appended to it, so keep it without a trailing slash.
  return url.toString().replace(/\/+$/, '');
}

/**
 * The API base a token response assigned (profile `apiBaseUrlFrom`), checked like a profile URL.
 * Required after a code exchange; a refresh that leaves it out keeps the stored one (null here).
 */
export function apiBaseUrlOf(
  engine: EngineContext,
  profile: Profile,
  value: string | null,
  options: { required: boolean },
): string | null {
  const field = profile.apiBaseUrlFrom;
  if (field === undefined) return null;
  if (value === null) {
    if (!options.required) return null;
    throw new AuthProfilesError(
      'invalid-token-response',
      `the token response has no ${field}, which this profile uses as its API base URL`,
    );
  }
  return acceptProviderUrl(value, field, engine.catalog.validationOptions);
}
