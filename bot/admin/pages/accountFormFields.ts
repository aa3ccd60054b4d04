import type { FieldSpec } from './profileFormFields';

/**
 * The account fields on the profile forms (issue 10 points 4 and 6): the identity URL, the required
 * account and the consent redirect URLs. Field names are the schema's paths (`identity.url`,
 * `requiredAccount.value`, `consentRedirectUrls`), so an error such as `identity.fields.id` or
 * `consentRedirectUrls.1` is shown next to its field; the profile schema validates them, not this file.
 */

const IDENTITY_FIELDS: readonly FieldSpec[] = [
  {
    name: 'identity.url',
    label: 'Identity URL',
    kind: 'account',
    hint: 'Optional: where to ask which account a new token belongs to (OIDC userinfo, or a URL holding {token}). Empty: the ID token, if any.',
  },
  {
    name: 'identity.token',
    label: 'Identity URL token',
    kind: 'select',
    options: [
      { value: 'bearer', label: 'bearer: Authorization: Bearer <token>' },
      { value: 'path', label: 'path: the URL holds {token}' },
    ],
  },
  {
    name: 'identity.fields.id',
    label: 'Identity id member',
    kind: 'account',
    hint: "The answer's JSON member (or dotted path) holding the account's stable id; required with an identity URL.",
  },
  { name: 'identity.fields.name', label: 'Identity name member', kind: 'account' },
  { name: 'identity.fields.email', label: 'Identity email member', kind: 'account' },
];

/** Fields a bundled profile's override may set too (its identity URL comes with the product). */
export const REQUIRED_ACCOUNT_AND_REDIRECT_FIELDS: readonly FieldSpec[] = [
  {
    name: 'requiredAccount.field',
    label: 'Required account: compare',
    kind: 'select',
    options: [
      { value: 'id', label: 'id' },
      { value: 'email', label: 'email' },
      { value: 'name', label: 'name' },
    ],
  },
  {
    name: 'requiredAccount.value',
    label: 'Required account: value',
    kind: 'account',
    hint: 'Optional: only this account may connect (its id, email or name must equal this). Empty: any account.',
  },
  {
    name: 'consentRedirectUrls',
    label: 'Consent redirect URLs',
    kind: 'lines',
    hint: 'One absolute URL per line: where a consent started through the admin API or CLI may send the browser back (same origin and path).',
  },
];

export const ACCOUNT_FIELDS: readonly FieldSpec[] = [
  ...IDENTITY_FIELDS,
  ...REQUIRED_ACCOUNT_AND_REDIRECT_FIELDS,
];

function at(document: Record<string, unknown>, path: string): unknown {
  let value: unknown = document;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The form value of an account field read from a profile document. */
export function accountValue(document: Record<string, unknown>, field: FieldSpec): string {
  const value = at(document, field.name);
  if (field.kind === 'lines') return Array.isArray(value) ? value.map(String).join('\n') : '';
  if (field.name === 'identity.token') return typeof value === 'string' ? value : 'bearer';
  if (field.name === 'requiredAccount.field') return typeof value === 'string' ? value : 'id';
  return typeof value === 'string' ? value : '';
}

/** Lays the form's account fields over `document`: each group is removed when its main values are empty. */
export function applyAccountFields(
  document: Record<string, unknown>,
  fields: readonly FieldSpec[],
  values: Record<string, string>,
): void {
  const value = (name: string) => (values[name] ?? '').trim();
  const has = (name: string) => fields.some((field) => field.name === name);
  if (has('identity.url')) {
    const url = value('identity.url');
    const members = {
      id: value('identity.fields.id'),
      name: value('identity.fields.name'),
      email: value('identity.fields.email'),
    };
    if (url === '' && Object.values(members).every((member) => member === '')) delete document.identity;
    else {
      // An empty id member is passed on so the schema names it (`identity.fields.id`) next to its field.
      const fieldsOut: Record<string, string> = { id: members.id };
      if (members.name) fieldsOut.name = members.name;
      if (members.email) fieldsOut.email = members.email;
      document.identity = { url, token: value('identity.token') || 'bearer', fields: fieldsOut };
    }
  }
  if (has('requiredAccount.value')) {
    const required = value('requiredAccount.value');
    if (required === '') delete document.requiredAccount;
    else document.requiredAccount = { field: value('requiredAccount.field') || 'id', value: required };
  }
  if (has('consentRedirectUrls')) {
    const urls = (values.consentRedirectUrls ?? '')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean);
    if (urls.length === 0) delete document.consentRedirectUrls;
    else document.consentRedirectUrls = urls;
  }
}

/** Rows for the profile details page. */
export function accountDetails(profile: {
  identity?:
    { url: string; token: string; fields: { id: string; name?: string; email?: string } } | undefined;
  requiredAccount?: { field: string; value: string } | undefined;
  consentRedirectUrls?: string[] | undefined;
}): { label: string; value: string }[] {
  const identity = profile.identity;
  const members = identity
    ? Object.entries(identity.fields)
        .filter(([, member]) => member !== undefined)
        .map(([key, member]) => `${key}: ${member}`)
        .join(', ')
    : '';
  return [
    {
      label: 'Identity URL',
      value: identity ? `${identity.url} (token: ${identity.token}; ${members})` : '',
    },
    {
      label: 'Required account',
      value: profile.requiredAccount
        ? `${profile.requiredAccount.field} = ${profile.requiredAccount.value}`
        : '',
    },
    { label: 'Consent redirect URLs', value: (profile.consentRedirectUrls ?? []).join(' ') },
  ];
}
