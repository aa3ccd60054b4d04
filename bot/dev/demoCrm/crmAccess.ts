import type { Request, Response } from 'restify';

import { sendError } from './crmAnswers';
import type { DemoIntrospection, IntrospectionCache } from './introspection';

/**
 * Who may call the demo CRM: a bearer access token of the demo provider, checked by introspection
 * (cached), and the read scopes an endpoint needs, answered in HubSpot's error shapes.
 */
export class CrmAccess {
  constructor(
    private readonly tokens: IntrospectionCache,
    private readonly clock: () => number,
  ) {}

  /** The active token's introspection from the Authorization header; undefined once an error was sent. */
  async authenticate(req: Request, res: Response): Promise<DemoIntrospection | undefined> {
    const token = bearerToken(req);
    if (token === undefined) {
      // RFC 6750 §3.1: a request without credentials gets the challenge but no error code.
      sendError(res, 401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found.', {
        'WWW-Authenticate': 'Bearer realm="demo-crm"',
      });
      return undefined;
    }
    const introspection = await this.check(token, res);
    if (introspection === undefined) return undefined;
    if (!introspection.active) {
      sendError(
        res,
        401,
        'INVALID_AUTHENTICATION',
        'The OAuth token used to make this call expired or is not valid.',
        {
          'WWW-Authenticate':
            'Bearer realm="demo-crm", error="invalid_token", error_description="The access token is invalid or expired"',
        },
      );
      return undefined;
    }
    return introspection;
  }

  /**
   * The token's introspection, inactive once past its `exp`; undefined (503 sent) when the provider
   * could not be asked. The answer never carries the token.
   */
  async check(token: string, res: Response): Promise<DemoIntrospection | undefined> {
    let introspection: DemoIntrospection;
    try {
      introspection = await this.tokens.lookup(token);
    } catch {
      sendError(
        res,
        503,
        'SERVICE_UNAVAILABLE',
        'The token could not be checked right now; try again shortly.',
      );
      return undefined;
    }
    const expired = introspection.exp !== undefined && introspection.exp * 1000 <= this.clock();
    return expired ? { active: false } : introspection;
  }

  /** Every one of `required` must be granted; otherwise HubSpot's 403 MISSING_SCOPES naming them. */
  requireScopes(res: Response, introspection: DemoIntrospection, required: readonly string[]): boolean {
    const granted = (introspection.scope ?? '').split(/\s+/).filter(Boolean);
    const missing = required.filter((scope) => !granted.includes(scope));
    if (missing.length === 0) return true;
    const label = required.length === 1 ? 'Required scope' : 'Required scopes';
    sendError(
      res,
      403,
      'MISSING_SCOPES',
      `This app hasn't been granted all required scopes to make this call. ${label}: ${required.join(', ')}. Missing: ${missing.join(', ')}.`,
      {},
      [
        {
          message:
            required.length === 1
              ? 'One or more of the following scopes are required.'
              : 'All of the following scopes are required.',
          context: { requiredScopes: [...required] },
        },
      ],
    );
    return false;
  }
}

function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  // RFC 6750 §2.1: "Bearer" (case-insensitive) followed by a b64token.
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}
