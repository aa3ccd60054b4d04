import type { FieldIssue } from '../../../profiles';
import { ACCESS_FIELDS, ADMIN_USERS_FIELD, accessListValue, applyAccessLists } from './accessFormFields';
import {
  ACCOUNT_FIELDS,
  REQUIRED_ACCOUNT_AND_REDIRECT_FIELDS,
  accountValue,
  applyAccountFields,
} from './accountFormFields';
import type { Form } from './adminPage';
import { ACTIONS_JSON_FIELD, actionsJsonValue, ownsIssue } from './actionFormFields';

/**
 * The profile forms' fields: one list drives rendering, the conversion to a profile document and where
 * each schema error is shown (next to its field).
 */

export interface FieldSpec {
  name: string;
  label: string;
  kind:
    | 'text'
    | 'url'
    | 'password'
    | 'scopes'
    | 'checkbox'
    | 'select'
    | 'list'
    | 'ids'
    | 'account'
    | 'lines'
    | 'json';
  required?: boolean;
  hint?: string;
  options?: { value: string; label: string }[];
  /** Override forms: leaving the field empty removes the override. */
  emptyMeansBundled?: boolean;
}

const AUTH_METHOD_OPTIONS = [
  { value: 'client_secret_basic', label: 'client_secret_basic (HTTP Basic)' },
  { value: 'client_secret_post', label: 'client_secret_post (in the body)' },
];
const AUTHORIZATION_OPTIONS = [
  { value: 'per-user', label: 'per-user: each chat user consents in the conversation' },
  { value: 'pre-authorized', label: 'pre-authorized: an admin connects once for the organisation' },
];

export const CUSTOM_FIELDS: readonly FieldSpec[] = [
  {
    name: 'id',
    label: 'Id',
    kind: 'text',
    required: true,
    hint: '1-64 lowercase letters, digits or dashes; fixed once created.',
  },
  { name: 'displayName', label: 'Display name', kind: 'text', required: true },
  { name: 'authorizationUrl', label: 'Authorization URL', kind: 'url', required: true },
  { name: 'tokenUrl', label: 'Token URL', kind: 'url', required: true },
  { name: 'refreshUrl', label: 'Refresh URL', kind: 'url', hint: 'Empty: the token URL.' },
  { name: 'revocationUrl', label: 'Revocation URL', kind: 'url', hint: 'Optional (RFC 7009).' },
  {
    name: 'issuer',
    label: 'Issuer',
    kind: 'url',
    hint: 'Optional: the iss the provider sends on the callback (RFC 9207).',
  },
  { name: 'clientId', label: 'Client id', kind: 'text' },
  { name: 'clientSecret', label: 'Client secret', kind: 'password' },
  { name: 'scopes', label: 'Scopes', kind: 'scopes', hint: 'Separated by spaces.' },
  { name: 'pkce', label: 'Use PKCE (S256)', kind: 'checkbox' },
  {
    name: 'tokenEndpointAuthMethod',
    label: 'Token endpoint authentication',
    kind: 'select',
    options: AUTH_METHOD_OPTIONS,
  },
  { name: 'authorization', label: 'Authorization', kind: 'select', options: AUTHORIZATION_OPTIONS },
  { name: 'apiBaseUrl', label: 'API base URL', kind: 'url' },
  {
    name: 'apiBaseUrlFrom',
    label: 'API base URL from the token response',
    kind: 'text',
    hint: "Optional: the token response member that holds each connection's own API base URL (Salesforce: instance_url); it is used instead of the API base URL and must meet the same address rules.",
  },
  {
    name: 'checkUrl',
    label: 'Check URL',
    kind: 'url',
    hint: 'Optional: a URL that answers 2xx to a working token (Test connection).',
  },
  {
    name: 'responseSuccessField',
    label: 'Response success field',
    kind: 'text',
    hint: 'Optional: a JSON member that must be true in a 2xx answer for it to count as success (Slack: ok).',
  },
  {
    name: 'jwksUrl',
    label: 'JWKS URL',
    kind: 'url',
    hint: "The issuer's JSON Web Key Set, to verify ID tokens. Required, with the issuer, when the scopes include openid.",
  },
  ...ACCESS_FIELDS,
  ADMIN_USERS_FIELD,
  ...ACCOUNT_FIELDS,
  ACTIONS_JSON_FIELD,
];

/** Fields an admin may set on a bundled profile; hints show what applies when left empty. */
export function overrideFields(baseline: {
  clientId?: string;
  scopes?: string;
  authorization?: string;
}): FieldSpec[] {
  const shown = (value: string | undefined) => (value === undefined ? '' : ` (now ${value || 'none'})`);
  return [
    {
      name: 'clientId',
      label: 'Client id',
      kind: 'text',
      hint: `Empty: as bundled or configured${shown(baseline.clientId)}.`,
    },
    { name: 'clientSecret', label: 'Client secret', kind: 'password' },
    {
      name: 'scopes',
      label: 'Scopes',
      kind: 'scopes',
      emptyMeansBundled: true,
      hint: `Separated by spaces. Empty: the bundled scopes${shown(baseline.scopes)}.`,
    },
    {
      name: 'authorization',
      label: 'Authorization',
      kind: 'select',
      options: [
        { value: '', label: `as bundled${baseline.authorization ? ` (${baseline.authorization})` : ''}` },
        ...AUTHORIZATION_OPTIONS,
      ],
    },
    ...ACCESS_FIELDS,
    ADMIN_USERS_FIELD,
    ...REQUIRED_ACCOUNT_AND_REDIRECT_FIELDS,
  ];
}

/** Account fields (accountFormFields.ts) are named by their schema path and converted there. */
const isAccountField = (field: FieldSpec) => ACCOUNT_FIELDS.some((account) => account.name === field.name);

/** Raw form values as typed, for showing the form again (never the secret). */
export type FormValues = Record<string, string>;

export function valuesFromDocument(
  fields: readonly FieldSpec[],
  document: Record<string, unknown>,
): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    if (isAccountField(field)) {
      values[field.name] = accountValue(document, field);
      continue;
    }
    const value = document[field.name];
    switch (field.kind) {
      case 'password':
        values[field.name] = '';
        break;
      case 'scopes':
        values[field.name] = Array.isArray(value) ? value.map(String).join(' ') : '';
        break;
      case 'checkbox':
        values[field.name] = value === false ? '' : 'on';
        break;
      case 'list':
        values[field.name] = accessListValue(document, field.name);
        break;
      case 'ids':
        values[field.name] = Array.isArray(value) ? value.map(String).join(' ') : '';
        break;
      case 'json':
        values[field.name] = actionsJsonValue(document);
        break;
      default:
        values[field.name] = typeof value === 'string' ? value : '';
    }
  }
  return values;
}

export function valuesFromForm(fields: readonly FieldSpec[], form: Form): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    const raw = form.get(field.name);
    values[field.name] = field.kind === 'checkbox' ? (raw === undefined ? '' : 'on') : (raw ?? '');
  }
  return values;
}

/** The profile (or override) document: `base` with the form's fields laid over it. */
export function documentFromValues(
  fields: readonly FieldSpec[],
  values: FormValues,
  base: Record<string, unknown>,
): Record<string, unknown> {
  const document: Record<string, unknown> = { ...base };
  delete document.clientSecret;
  for (const field of fields) {
    if (field.name === 'id' || isAccountField(field)) continue;
    const value = values[field.name] ?? '';
    switch (field.kind) {
      case 'password':
        if (value.trim() !== '') document[field.name] = value.trim();
        break;
      case 'scopes': {
        const scopes = value.split(/\s+/).filter(Boolean);
        // On an override form, empty means "as bundled"; on a custom profile, no scopes.
        if (scopes.length === 0 && field.emptyMeansBundled) delete document[field.name];
        else document[field.name] = scopes;
        break;
      }
      case 'checkbox':
        document[field.name] = value === 'on';
        break;
      case 'list':
      // actionFormFields.ts applies it: its text may not parse, which is a field error, not a throw.
      case 'json':
        break;
      case 'ids':
        document[field.name] = value.split(/[\s,]+/).filter(Boolean);
        break;
      default:
        if (value.trim() === '') delete document[field.name];
        else document[field.name] = value.trim();
    }
  }
  if (fields.some((field) => field.kind === 'list')) applyAccessLists(document, values);
  applyAccountFields(document, fields, values);
  return document;
}

interface FieldView {
  name: string;
  label: string;
  hint?: string;
  value: string;
  errors: string[];
  required: boolean;
  isText: boolean;
  isLines: boolean;
  isJson: boolean;
  isPassword: boolean;
  isCheckbox: boolean;
  isSelect: boolean;
  checked: boolean;
  options: { value: string; label: string; selected: boolean }[];
}

export function fieldViews(
  fields: readonly FieldSpec[],
  values: FormValues,
  issues: Map<string, string[]>,
): FieldView[] {
  return fields.map((field) => {
    const value = field.kind === 'password' ? '' : (values[field.name] ?? '');
    return {
      name: field.name,
      label: field.label,
      ...(field.hint ? { hint: field.hint } : {}),
      value,
      errors: issues.get(field.name) ?? [],
      required: field.required ?? false,
      isText:
        field.kind === 'text' ||
        field.kind === 'url' ||
        field.kind === 'scopes' ||
        field.kind === 'list' ||
        field.kind === 'ids' ||
        field.kind === 'account',
      isLines: field.kind === 'lines',
      isJson: field.kind === 'json',
      isPassword: field.kind === 'password',
      isCheckbox: field.kind === 'checkbox',
      isSelect: field.kind === 'select',
      checked: value === 'on',
      options: (field.options ?? []).map((option) => ({ ...option, selected: option.value === value })),
    };
  });
}

/** Puts each issue next to its field (by the first segment of its path); the rest are general. */
export function placeIssues(
  fields: readonly FieldSpec[],
  values: FormValues,
  issues: readonly FieldIssue[],
): { byField: Map<string, string[]>; general: string[] } {
  const byField = new Map<string, string[]>();
  const general: string[] = [];
  const scopesOf = (name: string) => (values[name] ?? '').split(/\s+/).filter(Boolean);
  const json = fields.find((field) => field.kind === 'json');
  for (const issue of issues) {
    const [first, second] = issue.path.split('.');
    if (json && ownsIssue(issue.path)) {
      // One field holds many schema paths: the message keeps the path (`actions.1.path: …`).
      const list = byField.get(json.name) ?? [];
      const message = issue.path === json.name ? issue.message : `${issue.path}: ${issue.message}`;
      if (!list.includes(message)) list.push(message);
      byField.set(json.name, list);
      continue;
    }
    // Access lists are named `access.<list>` (accessFormFields.ts); account fields by their schema path.
    const head =
      nestedFieldFor(fields, issue.path) ??
      (first === 'access' && second !== undefined ? `access.${second}` : first);
    const field = fields.find((candidate) => candidate.name === head);
    if (!field || head === undefined) {
      general.push(`${issue.path}: ${issue.message}`);
      continue;
    }
    let message = issue.message;
    if (field.required && (values[field.name] ?? '').trim() === '') message = 'is required';
    else if (field.kind === 'scopes' && second !== undefined && /^\d+$/.test(second)) {
      message = `"${scopesOf(field.name)[Number(second)] ?? second}" ${issue.message}`;
    }
    const list = byField.get(head) ?? [];
    if (!list.includes(message)) list.push(message);
    byField.set(head, list);
  }
  return { byField, general };
}

/**
 * The account field an issue path belongs to (accountFormFields.ts): the longest field name the path
 * starts with (`consentRedirectUrls.1` → `consentRedirectUrls`), or the first field inside the path
 * (`identity.fields` → `identity.fields.id`).
 */
function nestedFieldFor(fields: readonly FieldSpec[], path: string): string | undefined {
  const names = fields.filter(isAccountField).map((field) => field.name);
  const enclosing = names
    .filter((name) => path === name || path.startsWith(`${name}.`))
    .sort((a, b) => b.length - a.length)[0];
  return enclosing ?? names.find((name) => name.startsWith(`${path}.`));
}
