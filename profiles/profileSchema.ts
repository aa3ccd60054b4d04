import { z } from 'zod';
import { accessPolicySchema, adminUsersSchema } from './accessPolicy';
import {
  accountFieldIssues,
  consentRedirectUrlsField,
  identityField,
  requiredAccountField,
} from './accountFields';
import { actionIssues, actionSettingsField, actionsField, currentUserSchema } from './actions/actionSchema';
import { AuthProfilesError, type FieldIssue } from './errors';
import { hostProblem, internalHostKind, normaliseHost, type AddressRule } from './outboundAddress';
import { assertSafeVariableValue, renderUrlTemplate, templateVariables } from './urlTemplates';

/**
 * One schema for every way a profile arrives: bundled catalog, profile files, the store and the
 * admin API. It validates, supplies defaults (`refreshUrl` = `tokenUrl`, ...) and reports errors
 * with the path of the offending field.
 */

/**
 * `allowInsecureLoopback`: accept `http://` on loopback hosts and internal addresses (dev mode and
 * tests); everything else must be https on a public host or one on `outboundAllowList`.
 */
export type ProfileValidationOptions = AddressRule;

/** THE profile id: 1-64 lowercase letters, digits or dashes, not starting or ending with a dash. */
export const PROFILE_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export function isProfileId(value: string): boolean {
  return PROFILE_ID.test(value);
}
const VARIABLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
const ENV_NAME = /^[A-Z][A-Z0-9_]{0,79}$/;
// RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`.
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/;

/** One OAuth scope token (RFC 6749 §3.3), as every scope list of a profile must hold. */
export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && SCOPE.test(value);
}
/** Parameters the engine sets itself; a profile must not be able to replace them. */
export const RESERVED_AUTHORIZATION_PARAMS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'state',
  'scope',
  'code_challenge',
  'code_challenge_method',
  'nonce',
] as const;

const urlTemplate = z.string().trim().min(1).max(2048);
/** Token-response members that hold secrets: never copied into a non-secret field. */
const SECRET_RESPONSE_MEMBERS = ['access_token', 'refresh_token', 'id_token'];
const scopeList = z.array(z.string().regex(SCOPE, 'must be an OAuth scope token')).max(100);

const variableDeclaration = z.strictObject({ description: z.string().max(500).optional() });
// Without defaults, so an override that leaves them out does not reset what the bundle says
// (zod 4 applies an inner default even under `.optional()`).
const authorizationParamsField = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a parameter name'),
  z.string().max(1000),
);
const variableValuesField = z.record(
  z.string().regex(VARIABLE_NAME, 'must be a variable name'),
  z.string().max(253),
);
const authorizationField = z.enum(['pre-authorized', 'per-user']);

export const profileFields = {
  id: z.string().regex(PROFILE_ID, 'must be 1-64 lowercase letters, digits or dashes'),
  kind: z.enum(['system', 'custom']).default('custom'),
  displayName: z.string().trim().min(1).max(100),
  authorizationUrl: urlTemplate,
  tokenUrl: urlTemplate,
  refreshUrl: urlTemplate.optional(),
  revocationUrl: urlTemplate.optional(),
  /** Expected `iss` on the callback (RFC 9207); when set, a callback must carry exactly this. */
  issuer: z.string().trim().url().max(2048).optional(),
  /** The provider always sends `iss` (authorization_response_iss_parameter_supported). */
  issuerParameterSupported: z.boolean().default(false),
  clientId: z.string().trim().min(1).max(500).optional(),
  clientSecret: z.string().min(1).max(4000).optional(),
  clientIdEnv: z.string().regex(ENV_NAME, 'must be an environment variable name').optional(),
  clientSecretEnv: z.string().regex(ENV_NAME, 'must be an environment variable name').optional(),
  scopes: scopeList.default([]),
  optionalScopes: scopeList.default([]),
  /** Where optional scopes go; unset means they are appended to `scope` (HubSpot uses `optional_scope`). */
  optionalScopesParam: z
    .string()
    .regex(/^[a-z_]{1,40}$/)
    .optional(),
  scopeSeparator: z.enum([' ', ',', '+']).default(' '),
  pkce: z.boolean().default(true),
  tokenEndpointAuthMethod: z
    .enum(['client_secret_basic', 'client_secret_post'])
    .default('client_secret_basic'),
  authorizationParams: authorizationParamsField.default({}),
  variables: z
    .record(z.string().regex(VARIABLE_NAME, 'must be a variable name'), variableDeclaration)
    .default({}),
  variableValues: variableValuesField.default({}),
  authorization: authorizationField.default('per-user'),
  apiBaseUrl: urlTemplate.optional(),
  /**
   * A token-response member whose value is this connection's API base URL, kept on the connection
   * and used instead of `apiBaseUrl` (Salesforce: `instance_url`, the org's own host). The value must
   * meet the same address rule as the profile's URLs.
   */
  apiBaseUrlFrom: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a token-response member name')
    .refine((name) => !SECRET_RESPONSE_MEMBERS.includes(name), 'must not name a token')
    .optional(),
  checkUrl: urlTemplate.optional(),
  /**
   * A JSON member that must be `true` in a 2xx answer of the check URL (and the API) for it to count
   * as success: Slack answers HTTP 200 `{"ok": false}` to a dead token.
   */
  responseSuccessField: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a JSON member name')
    .optional(),
  /**
   * The issuer's JSON Web Key Set, to verify OpenID Connect ID tokens (required with scope `openid`,
   * SECURITY.md #50). The expected `iss` is the profile's `issuer`.
   */
  jwksUrl: urlTemplate.optional(),
  /** token_type values accepted in token responses, compared case-insensitively (RFC 6749 §7.1). */
  tokenTypes: z
    .array(z.string().regex(/^[A-Za-z0-9_-]{1,40}$/))
    .min(1)
    .max(10)
    .default(['bearer']),
  /** Lifetime assumed when a token response has no `expires_in` (SECURITY.md #16). */
  defaultTokenTtlSeconds: z.number().int().min(60).max(31_536_000).default(3600),
  /** Which account a token belongs to, asked at the callback (profiles/accountFields.ts). */
  identity: identityField.optional(),
  /** The account an organisation requires; another one is refused at the callback. */
  requiredAccount: requiredAccountField.optional(),
  /** Where a consent started through the admin API may send the browser back (exact origin + path). */
  consentRedirectUrls: consentRedirectUrlsField.optional(),
  /** Who may use the profile (issue 10 point 1, profiles/accessPolicy.ts): "everyone" or listed ids. */
  access: accessPolicySchema.default('everyone'),
  /** Chat users told when the organisation connection breaks or is repaired (issue 10 point 7). */
  adminUsers: adminUsersSchema.default([]),
  /** API operations chat, the execute API and the proxy may run (issue 11, profiles/actions/). */
  actions: actionsField,
  /** Admins' on/off choice per action key (`deals.list-mine`); unlisted: the action's default. */
  actionSettings: actionSettingsField.default({}),
  /** How to find the signed-in user's id at the API, for `{{currentUser}}` in actions. */
  currentUser: currentUserSchema.optional(),
};

export const profileSchema = z.strictObject(profileFields);

/** What a profile document says after defaults are applied. `clientSecret` lives only in memory. */
export type ProfileDocument = z.output<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;

/** Fields a deployment may change on a bundled (system) profile: credentials and safe knobs, never URLs. */
export const systemOverrideSchema = z.strictObject({
  id: profileFields.id,
  kind: z.literal('system').optional(),
  displayName: profileFields.displayName.optional(),
  clientId: profileFields.clientId,
  clientSecret: profileFields.clientSecret,
  scopes: scopeList.optional(),
  optionalScopes: scopeList.optional(),
  authorizationParams: authorizationParamsField.optional(),
  variableValues: variableValuesField.optional(),
  authorization: authorizationField.optional(),
  checkUrl: profileFields.checkUrl,
  // A deployment's own choices, not where tokens go: which account it requires, where its consents end.
  requiredAccount: profileFields.requiredAccount,
  consentRedirectUrls: profileFields.consentRedirectUrls,
  access: accessPolicySchema.optional(),
  adminUsers: adminUsersSchema.optional(),
  // Which bundled actions this deployment runs; the actions themselves (paths, hosts) stay bundled.
  actionSettings: actionSettingsField.optional(),
});
export type SystemOverride = z.output<typeof systemOverrideSchema>;

export const URL_FIELDS = [
  'authorizationUrl',
  'tokenUrl',
  'refreshUrl',
  'revocationUrl',
  'apiBaseUrl',
  'checkUrl',
  'jwksUrl',
] as const;
export type UrlField = (typeof URL_FIELDS)[number];

/** Parses and checks a whole profile; throws `invalid-profile` naming every bad field. */
export function parseProfile(input: unknown, options: ProfileValidationOptions): ProfileDocument {
  const result = profileSchema.safeParse(input);
  if (!result.success) throw invalidProfile(zodIssues(result.error));
  const profile = result.data;
  // Checked before the default is filled in, so a bad tokenUrl is reported once, as `tokenUrl`,
  // and not again under a `refreshUrl` the author never wrote.
  const issues = checkProfileSemantics(profile, options);
  if (issues.length > 0) throw invalidProfile(issues);
  if (profile.refreshUrl === undefined) profile.refreshUrl = profile.tokenUrl;
  return profile;
}

export function parseSystemOverride(input: unknown): SystemOverride {
  const result = systemOverrideSchema.safeParse(input);
  if (!result.success) throw invalidProfile(zodIssues(result.error));
  return result.data;
}

function checkProfileSemantics(profile: ProfileDocument, options: ProfileValidationOptions): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const declared = Object.keys(profile.variables);
  for (const name of Object.keys(profile.authorizationParams)) {
    if ((RESERVED_AUTHORIZATION_PARAMS as readonly string[]).includes(name.toLowerCase())) {
      issues.push({
        path: `authorizationParams.${name}`,
        message: 'is set by the engine and cannot be overridden',
      });
    }
  }
  for (const [name, value] of Object.entries(profile.variableValues)) {
    if (!declared.includes(name)) {
      issues.push({ path: `variableValues.${name}`, message: 'is not a declared variable' });
      continue;
    }
    try {
      assertSafeVariableValue(name, value, `variableValues.${name}`);
    } catch (error) {
      issues.push(...((error as AuthProfilesError).issues ?? []));
    }
  }
  for (const field of URL_FIELDS) {
    const source = profile[field];
    if (source === undefined) continue;
    let names: string[];
    try {
      names = templateVariables(source, field);
    } catch (error) {
      issues.push(...(error as AuthProfilesError).issues);
      continue;
    }
    const undeclared = names.filter((name) => !declared.includes(name));
    if (undeclared.length > 0) {
      issues.push({ path: field, message: `uses undeclared variable "${undeclared[0]}"` });
      continue;
    }
    // Judge the URL as it will be requested: rendered with the profile's own values, so a host that
    // comes from a variable (`https://{{h}}/token`, h = 127.0.0.1) meets the same address rule as a
    // literal one (SECURITY.md #41). A variable without a value yet gets a neutral sample; the merged
    // profile is judged again when the value arrives, and every request checks again.
    const values = Object.fromEntries(
      names.map((name) => [name, profile.variableValues[name] ?? 'sample.example']),
    );
    let rendered: string;
    try {
      rendered = renderUrlTemplate(source, field, values);
    } catch (error) {
      // An unsafe value is reported under variableValues above.
      if (error instanceof AuthProfilesError) continue;
      throw error;
    }
    const problem = urlProblem(rendered, options);
    if (problem) issues.push({ path: field, message: templated(problem, names) });
  }
  if (profile.issuer !== undefined) {
    const problem = urlProblem(profile.issuer, options);
    if (problem) issues.push({ path: 'issuer', message: problem });
  }
  if ([...profile.scopes, ...profile.optionalScopes].includes('openid')) {
    // OpenID Connect: the ID token that comes back is verified, or the sign-in fails (SECURITY.md #50);
    // without these two it could only be trusted blindly.
    for (const field of ['issuer', 'jwksUrl'] as const) {
      if (profile[field] === undefined) {
        issues.push({
          path: field,
          message: 'is required when the scopes include openid (to verify ID tokens)',
        });
      }
    }
  }
  issues.push(
    ...accountFieldIssues(profile, {
      urlProblem: (value) => urlProblem(value, options),
      allowInsecureLoopback: options.allowInsecureLoopback,
    }),
  );
  issues.push(...actionIssues(profile.actions, profile.actionSettings, profile.currentUser));
  if (profile.issuerParameterSupported && profile.issuer === undefined) {
    // Without an expected issuer any `iss` would pass, which defeats RFC 9207.
    issues.push({ path: 'issuer', message: 'is required when issuerParameterSupported is true' });
  }
  return issues;
}

/** Why a URL is unacceptable for a profile, or undefined (SECURITY.md #35, #41, #42). */
export function urlProblem(value: string, options: ProfileValidationOptions): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  return parsedUrlProblem(url, value, originVerdict(url.protocol, url.hostname, options));
}

/** What a URL's scheme and host name alone decide: the same for every URL with them. */
export interface OriginVerdict {
  scheme: string | undefined;
  host: string | undefined;
}

export function originVerdict(
  protocol: string,
  hostname: string,
  options: ProfileValidationOptions,
): OriginVerdict {
  const loopback = internalHostKind(hostname) === 'loopback' || normaliseHost(hostname) === 'localhost';
  const insecure =
    protocol !== 'https:' && !(protocol === 'http:' && loopback && options.allowInsecureLoopback);
  return {
    scheme: insecure
      ? options.allowInsecureLoopback
        ? 'must use https (http only on loopback)'
        : 'must use https'
      : undefined,
    // Outside dev, a profile must not aim the service's token requests (with client credentials) or
    // API calls (with tokens) at its own host or the private network. Names that resolve to private
    // addresses are refused when the request is made (profiles/outboundRequests.ts).
    host: hostProblem(hostname, options),
  };
}

/** `urlProblem` for a URL already parsed from `value`, with the verdict on its scheme and host. */
export function parsedUrlProblem(url: URL, value: string, origin: OriginVerdict): string | undefined {
  if (origin.scheme) return origin.scheme;
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (url.hash !== '' || value.includes('#')) return 'must not contain a fragment';
  return origin.host;
}

function templated(problem: string, variables: readonly string[]): string {
  if (variables.length === 0) return problem;
  return `${problem} (as rendered with ${variables.map((name) => `{{${name}}}`).join(', ')})`;
}

export function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues
    .map((issue) => ({
      path: issue.path.map(String).join('.') || (issue.code === 'unrecognized_keys' ? '' : '(root)'),
      message: issue.message,
    }))
    .flatMap((issue, index) => {
      const raw = error.issues[index];
      // A union (`access`: "everyone" or an object of lists): report the branch the input was meant
      // for, the one that got past its type check, so the error names the inner field at fault.
      if (raw && raw.code === 'invalid_union') {
        const meant = raw.errors.find(
          (branch) =>
            branch.length > 0 &&
            !branch.some(
              (inner) => inner.path.length === 0 && ['invalid_type', 'invalid_value'].includes(inner.code),
            ),
        );
        if (meant) {
          const nested = new z.ZodError(
            meant.map((inner) => ({ ...inner, path: [...raw.path, ...inner.path] })),
          );
          return zodIssues(nested);
        }
      }
      // Unknown keys: name each one, so the error points at the field to remove.
      if (raw && raw.code === 'unrecognized_keys') {
        const prefix = issue.path && issue.path !== '(root)' ? `${issue.path}.` : '';
        return raw.keys.map((key) => ({ path: `${prefix}${key}`, message: 'is not a known field' }));
      }
      return [issue];
    });
}

export function invalidProfile(issues: FieldIssue[]): AuthProfilesError {
  const summary = issues
    .slice(0, 5)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('; ');
  return new AuthProfilesError('invalid-profile', `invalid profile: ${summary}`, { issues });
}
