/**
 * The engine's error catalogue. Every failure a caller may need to tell apart has a stable
 * string `code`; messages name the problem but never carry a token, code, secret or verifier.
 */
export type ErrorCode =
  | 'invalid-profile'
  | 'profile-not-found'
  | 'profile-read-only'
  | 'invalid-template-variable'
  | 'invalid-configuration'
  | 'encryption-key-unknown'
  | 'decryption-failed'
  | 'store-unavailable'
  | 'conflict'
  | 'authorization-request-invalid'
  | 'authorization-request-expired'
  | 'authorization-request-used'
  | 'browser-mismatch'
  | 'profile-mismatch'
  | 'issuer-mismatch'
  | 'duplicate-parameter'
  | 'consent-denied'
  | 'provider-error'
  | 'provider-unavailable'
  | 'outbound-refused'
  | 'invalid-token-response'
  | 'invalid-grant'
  | 'not-connected'
  | 'needs-reauthorization'
  | 'pending-verification'
  | 'verification-failed';

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `scopes.2` or `authorizationUrl`. */
  path: string;
  message: string;
}

export class AuthProfilesError extends Error {
  readonly code: ErrorCode;
  readonly issues: FieldIssue[];
  /** HTTP status a web edge should answer with. */
  readonly status: number;

  constructor(
    code: ErrorCode,
    message: string,
    options: { issues?: FieldIssue[]; status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthProfilesError';
    this.code = code;
    this.issues = options.issues ?? [];
    this.status = options.status ?? defaultStatus(code);
  }
}

function defaultStatus(code: ErrorCode): number {
  switch (code) {
    case 'invalid-profile':
    case 'invalid-template-variable':
    case 'authorization-request-invalid':
    case 'authorization-request-expired':
    case 'authorization-request-used':
    case 'browser-mismatch':
    case 'profile-mismatch':
    case 'issuer-mismatch':
    case 'duplicate-parameter':
    case 'consent-denied':
    case 'verification-failed':
      return 400;
    case 'profile-not-found':
    case 'not-connected':
      return 404;
    case 'profile-read-only':
      return 403;
    case 'conflict':
      return 409;
    case 'provider-error':
    case 'outbound-refused':
    case 'invalid-token-response':
    case 'invalid-grant':
      return 502;
    case 'provider-unavailable':
    case 'store-unavailable':
      return 503;
    default:
      return 500;
  }
}

export function isAuthProfilesError(value: unknown, code?: ErrorCode): value is AuthProfilesError {
  return value instanceof AuthProfilesError && (code === undefined || value.code === code);
}
