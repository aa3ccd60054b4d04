import { TextDecoder } from 'node:util';
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import type { Request, Response, Server } from 'restify';
import { TooManyAttemptsError } from '../../../profiles/attemptThrottle';
import { checkConnection, type ConnectionCheck } from '../../../profiles/connectionCheck';
import { summarize, type ConnectionSummary } from '../../../profiles/connections';
import { describeUnreadable } from '../../../profiles/encryption';
import { isAuthProfilesError, type FieldIssue } from '../../../profiles/errors';
import { randomToken, safeEqual, sha256 } from '../../../profiles/ids';
import { deleteProfile, publicProfile, saveProfile, type Actor } from '../../../profiles/profileAdmin';
import type { Profile } from '../../../profiles/profileCatalog';
import type { AuditEntry, ConnectionFilter, ConnectionStatus } from '../../../profiles/store/types';
import { ORGANIZATION } from '../../../profiles/subjects';
import { PAGE_HEADERS, renderView } from '../adminViews';
import { clientAddress, type AdminContext } from '../adminContext';
import { AdminSessions, type Session } from '../adminSessions';
import { adminRequestContext, requestKeyHash } from '../organizationGate';

export { SESSION_KEY_PREFIX, SESSION_TTL_MS } from '../adminSessions';

/**
 * The admin pages at `/admin` (issue 4 point 3): server-rendered Handlebars, no external assets,
 * the same engine functions as the REST API (bot/admin/api/adminApi.ts).
 *
 * - Sign-in with an admin key (form POST) starts a session (bot/admin/adminSessions.ts): an opaque
 *   random id in an HttpOnly, SameSite=Strict cookie; the session lives in the store and belongs to
 *   its key: removed, revoked or re-roled keys end or change their sessions (SECURITY.md #43).
 *   Failed sign-ins are throttled per client and overall with backoff (SECURITY.md #46).
 * - Every POST carries the session's synchronizer token (`_csrf`, compared in constant time) and
 *   must come from this origin (`Origin` / `Sec-Fetch-Site` when the browser sends them); anything
 *   else is a 403 and nothing changes. GET never changes state. The sign-in form itself is covered
 *   by a double-submit token (cookie + field) and the same origin checks.
 * - Pre-authorize: POST → 303 to a same-origin hand-over page whose link (followed by
 *   /static/admin.js) is the engine's `/oauth/start/{id}`; a form's own redirect chain may not leave
 *   `form-action 'self'`. The provider's redirect back is cross-site and carries no Strict cookie, so
 *   a session-less cross-site GET gets a "continue" page that re-requests the same path same-origin.
 *   `/oauth/start` of an organisation request needs a session of the key that started it
 *   (bot/admin/organizationGate.ts, SECURITY.md #44); the sign-in page then continues to it
 *   (`/admin/login?authorization=<request id>`).
 * - Roles as in the API: `developer` manages custom profiles and sees user connections; everything
 *   touching the organisation (pre-authorization, org connections, tests), bundled profiles and the
 *   audit log is for `admin` only, enforced here whatever the page shows.
 */

export const MAX_FORM_BYTES = 32 * 1024;
const DRAIN_LIMIT_BYTES = 256 * 1024;
const LOGIN_COOKIE = 'authprofiles_admin_login';
const LOGIN_TOKEN_TTL_S = 3600;
const PAGE_SIZE = 50;

const PROFILE_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const OPAQUE_ID = /^[A-Za-z0-9_-]{1,100}$/;
const REQUEST_ID = /^req_[A-Za-z0-9_-]{24}$/;
const STATUSES: readonly ConnectionStatus[] = [
  'active',
  'pending-verification',
  'needs-reauthorization',
  'revoked',
];

type Form = Map<string, string>;
type PageHandler = (req: Request, res: Response, session: Session) => Promise<void>;
type ActionHandler = (req: Request, res: Response, session: Session, form: Form) => Promise<void>;

export function registerAdminPages(server: Server, ctx: AdminContext): void {
  const pages = new AdminPages(ctx);
  const get = (path: string, handler: PageHandler) =>
    server.get(
      path,
      pages.guard((req, res) => pages.withSession(req, res, handler)),
    );
  const post = (path: string, handler: ActionHandler) =>
    server.post(
      path,
      pages.guard((req, res) => pages.withAction(req, res, handler)),
    );

  server.get(
    '/admin/login',
    pages.guard((req, res) => pages.loginPage(req, res)),
  );
  server.post(
    '/admin/login',
    pages.guard((req, res) => pages.login(req, res)),
  );
  post('/admin/logout', (req, res, session) => pages.logout(req, res, session));

  get('/admin', (req, res, session) => pages.profilesPage(req, res, session));
  get('/admin/profiles', (req, res, session) => pages.profilesPage(req, res, session));
  get('/admin/profiles/new', (req, res, session) => pages.newProfilePage(req, res, session));
  post('/admin/profiles/new', (req, res, session, form) => pages.createProfile(req, res, session, form));
  get('/admin/profiles/:id', (req, res, session) => pages.profilePage(req, res, session));
  get('/admin/profiles/:id/edit', (req, res, session) => pages.editProfilePage(req, res, session));
  post('/admin/profiles/:id/edit', (req, res, session, form) => pages.updateProfile(req, res, session, form));
  get('/admin/profiles/:id/delete', (req, res, session) => pages.deleteProfilePage(req, res, session));
  post('/admin/profiles/:id/delete', (req, res, session) => pages.deleteProfile(req, res, session));
  post('/admin/profiles/:id/authorize', (req, res, session) => pages.preAuthorize(req, res, session));
  get('/admin/authorizations/:requestId', (req, res, session) => pages.authorizationPage(req, res, session));
  get('/admin/connections', (req, res, session) => pages.connectionsPage(req, res, session));
  post('/admin/connections/:id/test', (req, res, session) => pages.testConnection(req, res, session));
  post('/admin/connections/:id/revoke', (req, res, session, form) =>
    pages.revokeConnection(req, res, session, form),
  );
  get('/admin/audit', (req, res, session) => pages.auditPage(req, res, session));
}

// ---------------------------------------------------------------------------------------------------
// Form fields: one list drives rendering, the conversion to a profile document and error placement.

interface FieldSpec {
  name: string;
  label: string;
  kind: 'text' | 'url' | 'password' | 'scopes' | 'checkbox' | 'select';
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

const CUSTOM_FIELDS: readonly FieldSpec[] = [
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
];

/** Fields an admin may set on a bundled profile; hints show what applies when left empty. */
function overrideFields(baseline: {
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
  ];
}

/** Raw form values as typed, for showing the form again (never the secret). */
type FormValues = Record<string, string>;

function valuesFromDocument(fields: readonly FieldSpec[], document: Record<string, unknown>): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
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
      default:
        values[field.name] = typeof value === 'string' ? value : '';
    }
  }
  return values;
}

function valuesFromForm(fields: readonly FieldSpec[], form: Form): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    const raw = form.get(field.name);
    values[field.name] = field.kind === 'checkbox' ? (raw === undefined ? '' : 'on') : (raw ?? '');
  }
  return values;
}

/** The profile (or override) document: `base` with the form's fields laid over it. */
function documentFromValues(
  fields: readonly FieldSpec[],
  values: FormValues,
  base: Record<string, unknown>,
): Record<string, unknown> {
  const document: Record<string, unknown> = { ...base };
  delete document.clientSecret;
  for (const field of fields) {
    if (field.name === 'id') continue;
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
      default:
        if (value.trim() === '') delete document[field.name];
        else document[field.name] = value.trim();
    }
  }
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
  isPassword: boolean;
  isCheckbox: boolean;
  isSelect: boolean;
  checked: boolean;
  options: { value: string; label: string; selected: boolean }[];
}

function fieldViews(
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
      isText: field.kind === 'text' || field.kind === 'url' || field.kind === 'scopes',
      isPassword: field.kind === 'password',
      isCheckbox: field.kind === 'checkbox',
      isSelect: field.kind === 'select',
      checked: value === 'on',
      options: (field.options ?? []).map((option) => ({ ...option, selected: option.value === value })),
    };
  });
}

/** Puts each issue next to its field (by the first segment of its path); the rest are general. */
function placeIssues(
  fields: readonly FieldSpec[],
  values: FormValues,
  issues: readonly FieldIssue[],
): { byField: Map<string, string[]>; general: string[] } {
  const byField = new Map<string, string[]>();
  const general: string[] = [];
  const scopesOf = (name: string) => (values[name] ?? '').split(/\s+/).filter(Boolean);
  for (const issue of issues) {
    const [head, second] = issue.path.split('.');
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

// ---------------------------------------------------------------------------------------------------

const ORG_STATUS: Record<ConnectionStatus | 'none', { text: string; tone: string }> = {
  active: { text: 'connected', tone: 'ok' },
  'pending-verification': { text: 'waiting for verification', tone: 'warn' },
  'needs-reauthorization': { text: 'needs an admin to reconnect', tone: 'error' },
  revoked: { text: 'revoked: needs an admin to reconnect', tone: 'error' },
  none: { text: 'not connected yet', tone: 'warn' },
};

const AUTHORIZATION_RESULTS: Record<string, { text: string; tone: string }> = {
  connected: { text: 'Connected: the organisation connection is active.', tone: 'ok' },
  'pending-verification': { text: 'The connection was made and waits for verification.', tone: 'warn' },
  denied: { text: 'Access was not granted at the provider; nothing was connected.', tone: 'error' },
  failed: {
    text: 'The authorization failed; nothing was connected. The audit log has the reason.',
    tone: 'error',
  },
};

/** The check's outcome, with what the provider answered when the check has it (`detail`, never a token). */
function describeCheck(check: ConnectionCheck): string {
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

function formatTime(ms: number | null): string {
  return ms === null
    ? ''
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, ' UTC');
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function queryOf(req: Request): URLSearchParams {
  const url = req.url ?? '';
  const index = url.indexOf('?');
  return new URLSearchParams(index < 0 ? '' : url.slice(index + 1));
}

function param(req: Request, name: string): string {
  return String((req.params as Record<string, unknown> | undefined)?.[name] ?? '');
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

class AdminPages {
  private readonly secure: boolean;
  private readonly sessions: AdminSessions;
  private readonly allowedOrigin: string;

  constructor(private readonly ctx: AdminContext) {
    this.secure = ctx.secureCookies;
    this.sessions = new AdminSessions(ctx);
    this.allowedOrigin = new URL(ctx.publicUrl).origin;
  }

  private get engine() {
    return this.ctx.engine;
  }

  // -- plumbing ---------------------------------------------------------------------------------------

  guard(handler: (req: Request, res: Response) => Promise<void>) {
    return async (req: Request, res: Response): Promise<void> => {
      try {
        await handler(req, res);
      } catch (error) {
        if (error instanceof HttpProblem) {
          this.message(res, error.status, error.title, error.message, undefined);
          return;
        }
        this.ctx.log.error(
          { err: error, path: (req.url ?? '').split('?')[0], errorCode: (error as { code?: string }).code },
          'admin page failed',
        );
        if (!res.headersSent) {
          const status = isAuthProfilesError(error, 'store-unavailable') ? 503 : 500;
          this.message(
            res,
            status,
            'Something went wrong',
            'The page could not be shown. Reload to try again.',
            undefined,
          );
        }
      }
    };
  }

  private send(
    res: Response,
    status: number,
    view: string,
    data: Record<string, unknown>,
    headers: Record<string, string | string[]> = {},
  ): void {
    const body = renderView(view, data);
    res.writeHead(status, {
      ...PAGE_HEADERS,
      ...headers,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  private redirect(res: Response, location: string, headers: Record<string, string | string[]> = {}): void {
    res.writeHead(303, { ...PAGE_HEADERS, ...headers, Location: location, 'Content-Length': 0 });
    res.end();
  }

  private message(
    res: Response,
    status: number,
    title: string,
    text: string,
    session: Session | undefined,
  ): void {
    this.send(res, status, 'admin-message', {
      title,
      message: text,
      me: session ? this.me(session) : undefined,
    });
  }

  private me(session: Session) {
    return { name: session.name, role: session.role, isAdmin: session.role === 'admin', csrf: session.csrf };
  }

  private forbidden(res: Response, session: Session, text: string): void {
    this.message(res, 403, 'Not allowed', text, session);
  }

  async withSession(req: Request, res: Response, handler: PageHandler): Promise<void> {
    const session = await this.loadSession(req);
    if (!session) {
      this.toLogin(req, res);
      return;
    }
    await handler(req, res, session);
  }

  async withAction(req: Request, res: Response, handler: ActionHandler): Promise<void> {
    const session = await this.loadSession(req);
    if (!session) {
      this.redirect(res, '/admin/login');
      return;
    }
    if (!this.sameOrigin(req)) {
      this.forbidden(res, session, 'This form did not come from the admin pages. Nothing was changed.');
      return;
    }
    const form = await this.readForm(req, res, session);
    if (!form) return;
    const token = form.get('_csrf') ?? '';
    if (!safeEqual(sha256(token), sha256(session.csrf))) {
      this.forbidden(
        res,
        session,
        'This form has expired or is not from this session. Reload the page and try again; nothing was changed.',
      );
      return;
    }
    await handler(req, res, session, form);
  }

  /**
   * A browser arriving from another site (the provider's redirect after a pre-authorization) does
   * not send the SameSite=Strict cookie; a same-origin hop (a link that our script follows) does.
   */
  private toLogin(req: Request, res: Response): void {
    const path = req.url ?? '/admin';
    if (
      req.method === 'GET' &&
      header(req, 'sec-fetch-site') === 'cross-site' &&
      /^\/admin(?:[/?]|$)/.test(path)
    ) {
      this.send(res, 200, 'admin-continue', {
        title: 'Continue',
        heading: 'Back to the admin pages',
        linkText: 'Continue',
        href: path,
      });
      return;
    }
    this.redirect(res, '/admin/login');
  }

  /**
   * `Sec-Fetch-Site` and `Origin`, when the browser sends them, must say "this site". Under
   * `Referrer-Policy: no-referrer` (PAGE_HEADERS) browsers send `Origin: null` on form posts, so a
   * null origin carries no information and the verdict rests on `Sec-Fetch-Site` and the token.
   */
  private sameOrigin(req: Request): boolean {
    const site = header(req, 'sec-fetch-site');
    if (site !== undefined && site !== 'same-origin') return false;
    const origin = header(req, 'origin');
    if (origin === undefined || origin === 'null') return true;
    if (origin === this.allowedOrigin) return true;
    const host = header(req, 'host');
    return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
  }

  private async readForm(
    req: Request,
    res: Response,
    session: Session | undefined,
  ): Promise<Form | undefined> {
    const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      this.message(
        res,
        415,
        'Unsupported form',
        'Forms must be sent as application/x-www-form-urlencoded.',
        session,
      );
      return undefined;
    }
    const declared = Number(header(req, 'content-length') ?? '0');
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > MAX_FORM_BYTES;
    if (!tooLarge) {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_FORM_BYTES) {
          tooLarge = true;
          if (size > DRAIN_LIMIT_BYTES) break;
          continue;
        }
        chunks.push(chunk);
      }
    }
    if (tooLarge) {
      res.setHeader('Connection', 'close');
      this.message(
        res,
        413,
        'Form too large',
        `A form may hold at most ${MAX_FORM_BYTES / 1024} KiB.`,
        session,
      );
      return undefined;
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    } catch {
      this.message(res, 400, 'Invalid form', 'The form is not valid UTF-8.', session);
      return undefined;
    }
    const form: Form = new Map();
    for (const [name, value] of new URLSearchParams(text)) {
      if (form.has(name)) {
        this.message(res, 400, 'Invalid form', `The field "${name}" was sent twice.`, session);
        return undefined;
      }
      form.set(name, value);
    }
    return form;
  }

  // -- sessions ---------------------------------------------------------------------------------------

  private loadSession(req: Request): Promise<Session | null> {
    return this.sessions.load(req);
  }

  private loginCookieHeader(value: string, maxAgeSeconds: number): string {
    return serializeCookie(LOGIN_COOKIE, value, {
      httpOnly: true,
      secure: this.secure,
      sameSite: 'strict',
      path: '/admin/login',
      maxAge: maxAgeSeconds,
    });
  }

  async loginPage(req: Request, res: Response): Promise<void> {
    const authorization = continuation(queryOf(req).get('authorization'));
    if (await this.loadSession(req)) {
      this.redirect(res, authorization ? authorizationPath(authorization) : '/admin/profiles');
      return;
    }
    this.renderLogin(res, 200, undefined, authorization);
  }

  private renderLogin(
    res: Response,
    status: number,
    error: string | undefined,
    authorization?: string,
    headers: Record<string, string> = {},
  ): void {
    const token = randomToken(32);
    this.send(
      res,
      status,
      'admin-login',
      {
        title: 'Admin sign-in',
        loginToken: token,
        error,
        authorization,
        forAuthorization: authorization !== undefined,
      },
      {
        ...headers,
        'Set-Cookie': this.loginCookieHeader(token, LOGIN_TOKEN_TTL_S),
      },
    );
  }

  async login(req: Request, res: Response): Promise<void> {
    if (!this.sameOrigin(req)) {
      this.renderLogin(res, 403, 'This sign-in did not come from this site. Please sign in here.');
      return;
    }
    const form = await this.readForm(req, res, undefined);
    if (!form) return;
    const authorization = continuation(form.get('authorization'));
    const cookieToken = parseCookies(header(req, 'cookie') ?? '')[LOGIN_COOKIE] ?? '';
    const formToken = form.get('_login') ?? '';
    if (cookieToken === '' || !safeEqual(sha256(cookieToken), sha256(formToken))) {
      this.renderLogin(res, 403, 'The sign-in form expired. Please try again.', authorization);
      return;
    }
    let principal;
    try {
      principal = await this.ctx.keys.authenticate(
        (form.get('key') ?? '').trim(),
        clientAddress(req, this.ctx.trustedProxyHops),
      );
    } catch (error) {
      if (!(error instanceof TooManyAttemptsError)) throw error;
      this.renderLogin(
        res,
        429,
        `Too many keys were refused. Try again in ${error.retryAfterSeconds} second${error.retryAfterSeconds === 1 ? '' : 's'}.`,
        authorization,
        { 'Retry-After': String(error.retryAfterSeconds) },
      );
      return;
    }
    if (!principal) {
      // No fixed delay: the throttle (per client and overall, with backoff) is what slows guessing.
      this.ctx.log.warn({ event: 'admin-login-failed' }, 'admin sign-in refused');
      this.renderLogin(res, 401, 'That key was not accepted.', authorization);
      return;
    }
    // A fresh id at every sign-in (no fixation); an earlier session of this browser ends.
    const previous = await this.loadSession(req);
    if (previous) await this.sessions.end(previous);
    const cookies = await this.sessions.create(principal);
    this.ctx.log.info({ actor: principal.name, event: 'admin-login' }, 'admin signed in');
    // On to a pre-authorization this browser was sent to sign in for (its page checks the key).
    this.redirect(res, authorization ? authorizationPath(authorization) : '/admin/profiles', {
      'Set-Cookie': [...cookies, this.loginCookieHeader('', 0)],
    });
  }

  async logout(_req: Request, res: Response, session: Session): Promise<void> {
    const cookies = await this.sessions.end(session);
    this.redirect(res, '/admin/login', { 'Set-Cookie': cookies });
  }

  // -- profiles ---------------------------------------------------------------------------------------

  private async profileOr404(req: Request): Promise<Profile> {
    const id = param(req, 'id');
    const profile = PROFILE_ID.test(id) ? await this.engine.catalog.find(id) : null;
    if (!profile) throw new HttpProblem(404, 'No such profile', `There is no profile "${id}".`);
    return profile;
  }

  private async userCounts(profileId: string): Promise<{ status: string; label: string; count: number }[]> {
    const counts = [];
    for (const status of STATUSES) {
      const count = await this.engine.store.connections.count({ profileId, subjectKind: 'user', status });
      counts.push({
        status,
        label: status === 'needs-reauthorization' ? 'needs re-authorization' : status,
        count,
      });
    }
    return counts;
  }

  private orgStatus(connection: ConnectionSummary | null) {
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

  private notices(query: URLSearchParams): { text: string; tone: string }[] {
    const notices: { text: string; tone: string }[] = [];
    const count = (name: string) => {
      const value = query.get(name) ?? '';
      return /^\d{1,7}$/.test(value) ? Number(value) : 0;
    };
    const saved = query.get('saved');
    if (saved === 'created') notices.push({ text: 'Profile created.', tone: 'ok' });
    if (saved === 'updated') notices.push({ text: 'Profile saved.', tone: 'ok' });
    const marked = count('marked');
    if (saved && marked > 0) {
      notices.push({
        text: `${marked} connection${marked === 1 ? ' was' : 's were'} marked for re-authorization: the change affects the client, scopes or URLs their tokens were issued for.`,
        tone: 'warn',
      });
    }
    const deleted = query.get('deleted');
    if (deleted && PROFILE_ID.test(deleted)) {
      const removed = count('removed');
      notices.push({
        text: `Deleted "${deleted}"; ${removed} connection${removed === 1 ? '' : 's'} revoked and removed.`,
        tone: 'ok',
      });
    }
    if (query.get('revoked') === '1') {
      notices.push({
        text:
          query.get('provider') === '1'
            ? 'Connection revoked at the provider and removed.'
            : 'Connection removed (the provider was not told: it has no revocation endpoint or did not answer).',
        tone: 'ok',
      });
    }
    const authorization = query.get('authorization');
    const result = authorization ? AUTHORIZATION_RESULTS[authorization] : undefined;
    if (result) notices.push(result);
    return notices;
  }

  async profilesPage(req: Request, res: Response, session: Session): Promise<void> {
    const isAdmin = session.role === 'admin';
    const profiles = await this.engine.catalog.list();
    const rows = [];
    const broken = [];
    for (const profile of profiles) {
      const system = this.engine.catalog.isSystem(profile.id);
      const preAuthorized = profile.authorization === 'pre-authorized';
      let org;
      if (isAdmin && preAuthorized) {
        const connection = await this.engine.store.connections.get(profile.id, 'org');
        org = this.orgStatus(connection ? summarize(connection, this.engine.context.keyRing) : null);
        if (org.broken) broken.push({ id: profile.id, displayName: profile.displayName, text: org.text });
      }
      rows.push({
        id: profile.id,
        displayName: profile.displayName,
        kind: system ? 'system' : 'custom',
        fromFile: profile.source === 'file',
        authorization: profile.authorization,
        preAuthorized,
        usable: profile.missing.length === 0,
        missing: profile.missing.join(', '),
        org,
        users: (await this.userCounts(profile.id)).filter((entry) => entry.count > 0),
      });
    }
    this.send(res, 200, 'admin-profiles', {
      title: 'Profiles',
      me: this.me(session),
      notices: this.notices(queryOf(req)),
      broken,
      rows,
    });
  }

  async profilePage(req: Request, res: Response, session: Session, check?: ConnectionCheck): Promise<void> {
    const profile = await this.profileOr404(req);
    await this.renderProfile(res, session, profile, queryOf(req), check);
  }

  private async renderProfile(
    res: Response,
    session: Session,
    profile: Profile,
    query: URLSearchParams,
    check?: ConnectionCheck,
  ): Promise<void> {
    const isAdmin = session.role === 'admin';
    const system = this.engine.catalog.isSystem(profile.id);
    const shown = publicProfile(profile);
    const preAuthorized = profile.authorization === 'pre-authorized';
    let org;
    if (isAdmin && preAuthorized) {
      const stored = await this.engine.store.connections.get(profile.id, 'org');
      const connection = stored ? summarize(stored, this.engine.context.keyRing) : null;
      org = {
        ...this.orgStatus(connection),
        connection: connection && {
          ...connection,
          expires: formatTime(connection.expiresAt),
          updated: formatTime(connection.updatedAt),
          scopes: connection.scopes.join(' '),
        },
        canStart: profile.missing.length === 0,
      };
    }
    const stored = await this.engine.store.profiles.get(profile.id);
    const details: { label: string; value: string }[] = [
      { label: 'Id', value: shown.id },
      { label: 'Kind', value: system ? 'system (bundled)' : 'custom' },
      {
        label: 'Defined in',
        value: { system: 'the bundled catalog', file: 'a profile file', store: 'the admin API / pages' }[
          shown.source
        ],
      },
      { label: 'Authorization', value: shown.authorization },
      { label: 'Authorization URL', value: shown.authorizationUrl },
      { label: 'Token URL', value: shown.tokenUrl },
      { label: 'Refresh URL', value: shown.refreshUrl ?? shown.tokenUrl },
      { label: 'Revocation URL', value: shown.revocationUrl ?? '' },
      { label: 'Issuer', value: shown.issuer ?? '' },
      { label: 'Client id', value: shown.clientId ?? '' },
      {
        label: 'Client secret',
        value: shown.unreadableSecret
          ? `set, but ${describeUnreadable(shown.unreadableSecret)}`
          : shown.hasClientSecret
            ? 'set (never shown)'
            : 'not set',
      },
      { label: 'Scopes', value: shown.scopes.join(' ') },
      { label: 'PKCE', value: shown.pkce ? 'yes (S256)' : 'no' },
      { label: 'Token endpoint authentication', value: shown.tokenEndpointAuthMethod },
      { label: 'API base URL', value: shown.apiBaseUrl ?? '' },
      { label: 'API base URL from the token response', value: shown.apiBaseUrlFrom ?? '' },
      { label: 'Check URL', value: shown.checkUrl ?? '' },
      { label: 'Response success field', value: shown.responseSuccessField ?? '' },
      { label: 'JWKS URL', value: shown.jwksUrl ?? '' },
    ].map((row) => ({ ...row, value: row.value || '—' }));
    const editable = system ? isAdmin : profile.source !== 'file';
    const deletable = system ? isAdmin && stored !== null : stored !== null;
    let audit: ReturnType<AdminPages['auditRow']>[] = [];
    if (isAdmin)
      audit = (await this.engine.store.audit.list({ limit: 10, target: `profile:${profile.id}` })).map(
        (entry) => this.auditRow(entry),
      );
    this.send(res, 200, 'admin-profile', {
      title: profile.displayName,
      me: this.me(session),
      notices: this.notices(query),
      profile: {
        id: profile.id,
        displayName: profile.displayName,
        missing: profile.missing.join(', '),
        usable: profile.missing.length === 0,
      },
      details,
      system,
      preAuthorized,
      org,
      check: check && { ok: check.ok, reason: check.reason, text: describeCheck(check) },
      users: await this.userCounts(profile.id),
      editable,
      deletable,
      fileDefined: !system && profile.source === 'file',
      audit,
    });
  }

  async newProfilePage(_req: Request, res: Response, session: Session): Promise<void> {
    const values = valuesFromDocument(CUSTOM_FIELDS, {
      pkce: true,
      tokenEndpointAuthMethod: 'client_secret_basic',
      authorization: 'per-user',
    });
    this.renderCustomForm(res, 200, session, { values, creating: true });
  }

  private renderCustomForm(
    res: Response,
    status: number,
    session: Session,
    options: {
      values: FormValues;
      creating: boolean;
      profile?: Profile;
      issues?: readonly FieldIssue[];
      general?: string[];
    },
  ): void {
    const fields = options.creating ? CUSTOM_FIELDS : CUSTOM_FIELDS.filter((field) => field.name !== 'id');
    const placed = placeIssues(fields, options.values, options.issues ?? []);
    this.send(res, status, 'admin-profile-form', {
      title: options.creating ? 'New custom profile' : `Edit ${options.profile?.displayName ?? ''}`,
      me: this.me(session),
      heading: options.creating ? 'New custom profile' : `Edit ${options.profile?.displayName ?? ''}`,
      action: options.creating ? '/admin/profiles/new' : `/admin/profiles/${options.profile?.id ?? ''}/edit`,
      profile: options.profile && {
        id: options.profile.id,
        displayName: options.profile.displayName,
        version: options.profile.storedVersion,
      },
      override: false,
      hasSecret: Boolean(options.profile?.clientSecret),
      fields: fieldViews(fields, options.values, placed.byField),
      errors: [...(options.general ?? []), ...placed.general],
      hasErrors: (options.issues?.length ?? 0) > 0 || (options.general?.length ?? 0) > 0,
    });
  }

  private rejectUnknownFields(form: Form, fields: readonly FieldSpec[]): string | undefined {
    for (const name of form.keys()) {
      if (name === '_csrf' || name === 'version') continue;
      if (!fields.some((field) => field.name === name)) return `"${name}" is not a field of this form`;
    }
    return undefined;
  }

  async createProfile(_req: Request, res: Response, session: Session, form: Form): Promise<void> {
    const values = valuesFromForm(CUSTOM_FIELDS, form);
    const unknown = this.rejectUnknownFields(form, CUSTOM_FIELDS);
    if (unknown) {
      this.renderCustomForm(res, 400, session, { values, creating: true, general: [unknown] });
      return;
    }
    const id = (values.id ?? '').trim();
    values.id = id;
    const issues: FieldIssue[] = [];
    if (id === '') issues.push({ path: 'id', message: 'is required' });
    else if (!PROFILE_ID.test(id))
      issues.push({ path: 'id', message: 'must be 1-64 lowercase letters, digits or dashes' });
    else if (id === 'new') issues.push({ path: 'id', message: 'is reserved by the admin pages' });
    else if (await this.engine.catalog.find(id))
      issues.push({ path: 'id', message: 'a profile with this id exists already' });
    if (issues.length > 0) {
      this.renderCustomForm(res, 400, session, { values, creating: true, issues });
      return;
    }
    const document = documentFromValues(CUSTOM_FIELDS, values, { kind: 'custom' });
    try {
      await saveProfile(this.engine.context, id, document, actorOf(session), { expectedVersion: 0 });
    } catch (error) {
      if (isAuthProfilesError(error, 'invalid-profile')) {
        this.renderCustomForm(res, 400, session, { values, creating: true, issues: error.issues });
        return;
      }
      if (isAuthProfilesError(error, 'conflict')) {
        this.renderCustomForm(res, 409, session, {
          values,
          creating: true,
          issues: [{ path: 'id', message: 'a profile with this id exists already' }],
        });
        return;
      }
      throw error;
    }
    this.redirect(res, `/admin/profiles/${encodeURIComponent(id)}?saved=created`);
  }

  /** Edit rules shared by the form and its submission. */
  private async editable(req: Request, res: Response, session: Session): Promise<Profile | undefined> {
    const profile = await this.profileOr404(req);
    if (this.engine.catalog.isSystem(profile.id)) {
      if (session.role !== 'admin') {
        this.forbidden(
          res,
          session,
          `"${profile.id}" is a bundled profile: only an admin may change its credentials and settings.`,
        );
        return undefined;
      }
    } else if (profile.source === 'file') {
      this.message(
        res,
        409,
        'Defined in a file',
        `"${profile.id}" is defined in a profile file: change the file and restart the service.`,
        session,
      );
      return undefined;
    }
    return profile;
  }

  /** What applies without the stored override, where it is known (no stored value for the field). */
  private async systemBaseline(
    profile: Profile,
  ): Promise<{ clientId?: string; scopes?: string; authorization?: string }> {
    const stored = await this.engine.store.profiles.get(profile.id);
    const overridden = stored?.document ?? {};
    return {
      ...(overridden.clientId === undefined ? { clientId: profile.clientId ?? '' } : {}),
      ...(overridden.scopes === undefined ? { scopes: profile.scopes.join(' ') } : {}),
      ...(overridden.authorization === undefined ? { authorization: profile.authorization } : {}),
    };
  }

  async editProfilePage(req: Request, res: Response, session: Session): Promise<void> {
    const profile = await this.editable(req, res, session);
    if (!profile) return;
    const stored = await this.engine.store.profiles.get(profile.id);
    if (this.engine.catalog.isSystem(profile.id)) {
      const fields = overrideFields(await this.systemBaseline(profile));
      this.renderOverrideForm(
        res,
        200,
        session,
        profile,
        fields,
        valuesFromDocument(fields, stored?.document ?? {}),
        [],
      );
      return;
    }
    this.renderCustomForm(res, 200, session, {
      values: valuesFromDocument(CUSTOM_FIELDS, stored?.document ?? {}),
      creating: false,
      profile,
    });
  }

  private renderOverrideForm(
    res: Response,
    status: number,
    session: Session,
    profile: Profile,
    fields: FieldSpec[],
    values: FormValues,
    issues: readonly FieldIssue[],
    general: string[] = [],
  ): void {
    const placed = placeIssues(fields, values, issues);
    this.send(res, status, 'admin-profile-form', {
      title: `Settings of ${profile.displayName}`,
      me: this.me(session),
      heading: `Settings of ${profile.displayName}`,
      action: `/admin/profiles/${profile.id}/edit`,
      profile: { id: profile.id, displayName: profile.displayName, version: profile.storedVersion },
      override: true,
      hasSecret: Boolean(profile.clientSecret),
      fields: fieldViews(fields, values, placed.byField),
      errors: [...general, ...placed.general],
      hasErrors: issues.length > 0 || general.length > 0,
    });
  }

  async updateProfile(req: Request, res: Response, session: Session, form: Form): Promise<void> {
    const profile = await this.editable(req, res, session);
    if (!profile) return;
    const system = this.engine.catalog.isSystem(profile.id);
    const stored = await this.engine.store.profiles.get(profile.id);
    const versionText = form.get('version') ?? '';
    const expectedVersion = /^\d{1,9}$/.test(versionText) ? Number(versionText) : undefined;
    const fields = system
      ? overrideFields(await this.systemBaseline(profile))
      : CUSTOM_FIELDS.filter((field) => field.name !== 'id');
    const values = valuesFromForm(fields, form);
    const rerender = (status: number, issues: readonly FieldIssue[], general: string[] = []) =>
      system
        ? this.renderOverrideForm(res, status, session, profile, fields, values, issues, general)
        : this.renderCustomForm(res, status, session, { values, creating: false, profile, issues, general });
    const unknown = this.rejectUnknownFields(form, fields);
    if (unknown) {
      rerender(400, [], [unknown]);
      return;
    }
    const document = documentFromValues(fields, values, (stored?.document ?? {}) as Record<string, unknown>);
    let result;
    try {
      result = await saveProfile(this.engine.context, profile.id, document, actorOf(session), {
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
      });
    } catch (error) {
      if (isAuthProfilesError(error, 'invalid-profile')) {
        rerender(400, error.issues);
        return;
      }
      if (isAuthProfilesError(error, 'conflict')) {
        rerender(
          409,
          [],
          [
            'Someone changed this profile meanwhile. Reload the page to see the current version, then make your change again.',
          ],
        );
        return;
      }
      throw error;
    }
    this.redirect(
      res,
      `/admin/profiles/${encodeURIComponent(profile.id)}?saved=updated&marked=${result.connectionsMarked}`,
    );
  }

  /** Delete rules shared by the confirmation page and the deletion. */
  private async deletable(req: Request, res: Response, session: Session): Promise<Profile | undefined> {
    const profile = await this.profileOr404(req);
    const system = this.engine.catalog.isSystem(profile.id);
    if (system && session.role !== 'admin') {
      this.forbidden(res, session, `"${profile.id}" is a bundled profile: only an admin may change it.`);
      return undefined;
    }
    const stored = await this.engine.store.profiles.get(profile.id);
    if (!stored) {
      this.message(
        res,
        409,
        'Nothing to delete',
        system
          ? `"${profile.id}" is a bundled profile without stored changes: there is nothing to delete.`
          : `"${profile.id}" is defined in a profile file: remove the file to delete it.`,
        session,
      );
      return undefined;
    }
    return profile;
  }

  async deleteProfilePage(req: Request, res: Response, session: Session): Promise<void> {
    const profile = await this.deletable(req, res, session);
    if (!profile) return;
    const system = this.engine.catalog.isSystem(profile.id);
    const total = await this.engine.store.connections.count({ profileId: profile.id });
    const org = await this.engine.store.connections.count({ profileId: profile.id, subjectKind: 'org' });
    this.send(res, 200, 'admin-delete', {
      title: `Delete ${profile.displayName}`,
      me: this.me(session),
      profile: { id: profile.id, displayName: profile.displayName },
      system,
      total,
      totalLabel: `${total} connection${total === 1 ? '' : 's'}`,
      org,
      users: total - org,
    });
  }

  async deleteProfile(req: Request, res: Response, session: Session): Promise<void> {
    const profile = await this.deletable(req, res, session);
    if (!profile) return;
    const result = await deleteProfile(this.engine.context, profile.id, actorOf(session));
    if (result.removedOverride) {
      this.redirect(
        res,
        `/admin/profiles/${encodeURIComponent(profile.id)}?deleted=${encodeURIComponent(profile.id)}&removed=${result.connectionsRemoved}`,
      );
      return;
    }
    this.redirect(
      res,
      `/admin/profiles?deleted=${encodeURIComponent(profile.id)}&removed=${result.connectionsRemoved}`,
    );
  }

  // -- organisation connection ------------------------------------------------------------------------

  async preAuthorize(req: Request, res: Response, session: Session): Promise<void> {
    if (session.role !== 'admin') {
      this.forbidden(res, session, 'Only an admin may connect an integration for the organisation.');
      return;
    }
    const profile = await this.profileOr404(req);
    if (profile.authorization !== 'pre-authorized') {
      this.message(
        res,
        400,
        'Per-user profile',
        `"${profile.id}" is per-user: each chat user connects it in the conversation.`,
        session,
      );
      return;
    }
    if (profile.missing.length > 0) {
      this.message(
        res,
        400,
        'Not set up yet',
        `"${profile.id}" cannot be connected before these are set: ${profile.missing.join(', ')}.`,
        session,
      );
      return;
    }
    const created = await this.engine.createAuthorizationRequest({
      profile,
      subject: ORGANIZATION,
      createdBy: session.name,
      context: adminRequestContext(session),
    });
    // The request id is the start link's secret half: not logged.
    this.ctx.log.info({ actor: session.name, profileId: profile.id }, 'pre-authorization started');
    // Not straight to the start URL: a form submission's redirect chain is held to the page's
    // `form-action 'self'`, which the provider is not. A same-origin page hands over instead.
    this.redirect(res, `/admin/authorizations/${encodeURIComponent(created.requestId)}`);
  }

  /** The hand-over to the provider: a link (followed by /static/admin.js) to `/oauth/start/{id}`. */
  async authorizationPage(req: Request, res: Response, session: Session): Promise<void> {
    const id = param(req, 'requestId');
    const request = REQUEST_ID.test(id) ? await this.engine.store.authorizationRequests.get(id) : null;
    // Only for the key that started it (SECURITY.md #44); /oauth/start checks the same again.
    if (!request || requestKeyHash(request) !== session.keyHash) {
      throw new HttpProblem(
        404,
        'No such authorization',
        'That authorization does not exist or is not yours. Start again from the profile page.',
      );
    }
    if (session.role !== 'admin') {
      this.forbidden(res, session, 'Only an admin may connect an integration for the organisation.');
      return;
    }
    const profile = await this.engine.catalog.find(request.profileId);
    const open =
      (request.status === 'created' || request.status === 'started') && request.expiresAt > Date.now();
    if (!open) {
      throw new HttpProblem(
        410,
        'Authorization finished',
        'This authorization is finished or expired. Start again from the profile page.',
      );
    }
    this.send(res, 200, 'admin-continue', {
      title: 'Connecting',
      heading: `Connecting ${profile?.displayName ?? request.profileId} for the organisation`,
      text: "You are being taken to the provider's consent page; you come back here when it is done.",
      linkText: 'Continue to the provider',
      href: `${this.engine.context.publicUrl.replace(/\/+$/, '')}/oauth/start/${request.id}`,
    });
  }

  private async connectionOr404(req: Request) {
    const id = param(req, 'id');
    const connection = OPAQUE_ID.test(id) ? await this.engine.store.connections.getById(id) : null;
    if (!connection)
      throw new HttpProblem(404, 'No such connection', 'That connection does not exist (any more).');
    return connection;
  }

  async testConnection(req: Request, res: Response, session: Session): Promise<void> {
    if (session.role !== 'admin') {
      this.forbidden(res, session, 'Only an admin may test connections.');
      return;
    }
    const connection = await this.connectionOr404(req);
    const check = await checkConnection(
      this.engine.context,
      this.engine.tokens,
      connection.id,
      this.ctx.fetch,
    );
    if (!check)
      throw new HttpProblem(404, 'No such connection', 'That connection does not exist (any more).');
    const profile = await this.engine.catalog.find(connection.profileId);
    if (!profile) {
      this.message(res, 200, 'Test connection', describeCheck(check), session);
      return;
    }
    await this.renderProfile(res, session, profile, new URLSearchParams(), check);
  }

  async revokeConnection(req: Request, res: Response, session: Session, form: Form): Promise<void> {
    const connection = await this.connectionOr404(req);
    if (
      session.role !== 'admin' &&
      (connection.subjectKey === 'org' || this.engine.catalog.isSystem(connection.profileId))
    ) {
      this.forbidden(res, session, 'A developer may revoke user connections of custom profiles only.');
      return;
    }
    const outcome = await this.engine.revokeById(connection.id, session.name);
    const done = `revoked=1&provider=${outcome.revokedAtProvider ? 1 : 0}`;
    this.redirect(
      res,
      form.get('back') === 'profile'
        ? `/admin/profiles/${encodeURIComponent(connection.profileId)}?${done}`
        : `/admin/connections?${done}`,
    );
  }

  // -- lists ------------------------------------------------------------------------------------------

  async connectionsPage(req: Request, res: Response, session: Session): Promise<void> {
    const isAdmin = session.role === 'admin';
    const query = queryOf(req);
    const profileId = query.get('profile') ?? '';
    const status = query.get('status') ?? '';
    const subject = query.get('subject') ?? '';
    const after = query.get('after') ?? '';
    const filter: ConnectionFilter = {};
    if (PROFILE_ID.test(profileId)) filter.profileId = profileId;
    if ((STATUSES as readonly string[]).includes(status)) filter.status = status as ConnectionStatus;
    if (!isAdmin) filter.subjectKind = 'user';
    else if (subject === 'org' || subject === 'user') filter.subjectKind = subject;
    const page = await this.engine.store.connections.list(filter, {
      limit: PAGE_SIZE + 1,
      ...(OPAQUE_ID.test(after) ? { after } : {}),
    });
    const shown = page.slice(0, PAGE_SIZE);
    const next = page.length > PAGE_SIZE ? shown[shown.length - 1]?.id : undefined;
    const profiles = await this.engine.catalog.list();
    const names = new Map(profiles.map((profile) => [profile.id, profile.displayName]));
    const nextQuery = new URLSearchParams();
    if (filter.profileId) nextQuery.set('profile', filter.profileId);
    if (filter.status) nextQuery.set('status', filter.status);
    if (isAdmin && filter.subjectKind) nextQuery.set('subject', filter.subjectKind);
    if (next) nextQuery.set('after', next);
    this.send(res, 200, 'admin-connections', {
      title: 'Connections',
      me: this.me(session),
      notices: this.notices(query),
      filters: {
        profiles: profiles.map((profile) => ({
          value: profile.id,
          label: profile.displayName,
          selected: profile.id === filter.profileId,
        })),
        statuses: STATUSES.map((value) => ({ value, label: value, selected: value === filter.status })),
        subjects: isAdmin
          ? [
              { value: 'org', label: 'organisation', selected: filter.subjectKind === 'org' },
              { value: 'user', label: 'users', selected: filter.subjectKind === 'user' },
            ]
          : undefined,
      },
      rows: shown.map((stored) => {
        const connection = summarize(stored, this.engine.context.keyRing);
        const system = this.engine.catalog.isSystem(connection.profileId);
        return {
          ...connection,
          profileName: names.get(connection.profileId) ?? connection.profileId,
          subject: connection.subjectKey === 'org' ? 'organisation' : connection.subjectKey,
          statusText: `${
            connection.status === 'needs-reauthorization' && connection.subjectKey === 'org'
              ? 'needs an admin to reconnect'
              : connection.status
          }${connection.unreadable ? ` (${describeUnreadable(connection.unreadable)})` : ''}`,
          scopes: connection.scopes.join(' '),
          expires: `${formatTime(connection.expiresAt)}${connection.expiresAtEstimated ? ' (estimated)' : ''}`,
          updated: formatTime(connection.updatedAt),
          canRevoke: isAdmin || (connection.subjectKey !== 'org' && !system),
          canTest: isAdmin,
        };
      }),
      nextHref: next ? `/admin/connections?${nextQuery.toString()}` : undefined,
      firstHref: after ? '/admin/connections' : undefined,
    });
  }

  private auditRow(entry: AuditEntry) {
    return {
      at: formatTime(entry.at),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      details: Object.entries(entry.details)
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(' · '),
    };
  }

  async auditPage(req: Request, res: Response, session: Session): Promise<void> {
    if (session.role !== 'admin') {
      this.forbidden(res, session, 'The audit log is for admins.');
      return;
    }
    const query = queryOf(req);
    const before = query.get('before') ?? '';
    const target = query.get('target') ?? '';
    const validTarget = /^[a-z-]{1,30}:[A-Za-z0-9_:.%-]{1,300}$/.test(target) ? target : undefined;
    const page = await this.engine.store.audit.list({
      limit: PAGE_SIZE + 1,
      ...(OPAQUE_ID.test(before) ? { before } : {}),
      ...(validTarget ? { target: validTarget } : {}),
    });
    const shown = page.slice(0, PAGE_SIZE);
    const last = page.length > PAGE_SIZE ? shown[shown.length - 1]?.id : undefined;
    const nextQuery = new URLSearchParams();
    if (validTarget) nextQuery.set('target', validTarget);
    if (last) nextQuery.set('before', last);
    this.send(res, 200, 'admin-audit', {
      title: 'Audit log',
      me: this.me(session),
      target: validTarget,
      rows: shown.map((entry) => this.auditRow(entry)),
      olderHref: last ? `/admin/audit?${nextQuery.toString()}` : undefined,
      newestHref: before
        ? `/admin/audit${validTarget ? `?target=${encodeURIComponent(validTarget)}` : ''}`
        : undefined,
    });
  }
}

/** A pre-authorization request id to continue after sign-in, when well-formed. */
function continuation(value: string | null | undefined): string | undefined {
  return value && REQUEST_ID.test(value) ? value : undefined;
}

function authorizationPath(requestId: string): string {
  return `/admin/authorizations/${encodeURIComponent(requestId)}`;
}

function actorOf(session: Session): Actor {
  return { name: session.name, role: session.role };
}
