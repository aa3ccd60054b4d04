import { z } from 'zod';
import type { FieldIssue } from './errors';

/**
 * Profile fields about the connected account and about consent started by another system (issue 10,
 * points 4 and 6): where to ask which account a token belongs to, which account an organisation
 * requires, and where a consent started through the admin API may send the browser back to.
 */

/** The placeholder an identity URL carries when the provider wants the access token in the path. */
export const TOKEN_PLACEHOLDER = '{token}';

// `hub_id`, `user`, `owner.email`: a JSON member, or a dotted path into nested objects.
const memberPath = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,4}$/, 'must be a JSON member path');

export const identityField = z.strictObject({
  /**
   * The provider's "who is this token" endpoint. `token: "path"` (HubSpot's
   * `https://api.hubapi.com/oauth/v1/access-tokens/{token}`): the URL holds `{token}`, replaced by
   * the access token; `token: "bearer"`: a GET with `Authorization: Bearer <token>` (OIDC userinfo).
   */
  url: z.string().trim().min(1).max(2048),
  token: z.enum(['bearer', 'path']).default('bearer'),
  /** Members of the answer: `id` (required: the account's stable id), `name` and `email`. */
  fields: z.strictObject({
    id: memberPath,
    name: memberPath.optional(),
    email: memberPath.optional(),
  }),
});
export type IdentityConfig = z.output<typeof identityField>;

/** An organisation's required account: the connected account's `id`, `email` or `name` must equal `value`. */
export const requiredAccountField = z.strictObject({
  field: z.enum(['id', 'email', 'name']).default('id'),
  value: z.string().trim().min(1).max(200),
});
export type RequiredAccount = z.output<typeof requiredAccountField>;

/**
 * Where a consent started through the admin API may end (issue 10 point 6). Each entry is an absolute
 * URL without query or fragment; a requested redirect URL is allowed when its origin and path equal
 * an entry's exactly (a query of its own is allowed, a fragment is not). Exact, not a prefix: a prefix
 * would let `/done` allow `/done/../anything` style paths on shared hosts.
 */
export const consentRedirectUrlsField = z.array(z.string().trim().min(1).max(2048)).max(20);

export interface AccountFieldsOptions {
  /** Why a URL the engine calls is unacceptable (profileSchema's `urlProblem` under the profile rule). */
  urlProblem: (value: string) => string | undefined;
  allowInsecureLoopback: boolean;
}

/** Checks beyond the shapes: URLs, the token placeholder, redirect entries. */
export function accountFieldIssues(
  profile: {
    identity?: IdentityConfig | undefined;
    consentRedirectUrls?: string[] | undefined;
  },
  options: AccountFieldsOptions,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const identity = profile.identity;
  if (identity) {
    const count = identity.url.split(TOKEN_PLACEHOLDER).length - 1;
    if (identity.token === 'path' && count !== 1) {
      issues.push({
        path: 'identity.url',
        message: `must contain ${TOKEN_PLACEHOLDER} once when token is "path"`,
      });
    } else if (identity.token === 'bearer' && count !== 0) {
      issues.push({
        path: 'identity.url',
        message: `may contain ${TOKEN_PLACEHOLDER} only when token is "path"`,
      });
    } else {
      const problem = options.urlProblem(identity.url.replace(TOKEN_PLACEHOLDER, 'token'));
      if (problem) issues.push({ path: 'identity.url', message: problem });
    }
  }
  (profile.consentRedirectUrls ?? []).forEach((entry, index) => {
    const problem = redirectEntryProblem(entry, options.allowInsecureLoopback);
    if (problem) issues.push({ path: `consentRedirectUrls.${index}`, message: problem });
  });
  return issues;
}

function redirectEntryProblem(value: string, allowInsecureLoopback: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback && allowInsecureLoopback)) {
    return allowInsecureLoopback ? 'must use https (http only on loopback)' : 'must use https';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (url.search !== '' || value.includes('?')) return 'must not contain a query';
  if (url.hash !== '' || value.includes('#')) return 'must not contain a fragment';
  return undefined;
}

/** Whether `requested` may receive a consent's browser: same origin and path as an allowed entry. */
export function isAllowedConsentRedirect(allowed: readonly string[], requested: string): boolean {
  let url: URL;
  try {
    url = new URL(requested);
  } catch {
    return false;
  }
  if (url.hash !== '' || requested.includes('#') || url.username !== '' || url.password !== '') return false;
  return allowed.some((entry) => {
    const allowedUrl = new URL(entry);
    return allowedUrl.origin === url.origin && allowedUrl.pathname === url.pathname;
  });
}
