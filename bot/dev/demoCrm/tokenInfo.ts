import type { Request, Response, Server } from 'restify';

import type { CrmAccess } from './crmAccess';
import { sendError } from './crmAnswers';
import { DEMO_PORTAL, demoUserEmail, demoUserId } from './sampleOwners';

/**
 * HubSpot's token-info endpoint, GET /oauth/v1/access-tokens/{token}, for demo access tokens: which
 * portal (hub_id, hub_domain) and which user (`user` = e-mail address, user_id) a token belongs to,
 * its scopes and how long it lives. This is what the HubSpot profile's `identity` reads (hub_id,
 * hub_domain, user), and the address an owner is found by (crmOwners.ts).
 *
 * As in HubSpot the token travels in the path and no Authorization header is needed. Unlike HubSpot
 * the answer does not repeat the token (SECURITY.md #32: a token is never put in a response).
 */
export function registerTokenInfo(
  server: Server,
  options: { basePath: string; access: CrmAccess; clock: () => number },
): void {
  const { basePath, access, clock } = options;

  server.get(`${basePath}/oauth/v1/access-tokens/:token`, async (req: Request, res: Response) => {
    const token = String((req.params as Record<string, unknown>).token ?? '');
    // RFC 6750 §2.1 b64token: anything else cannot be one of the demo provider's tokens.
    if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token) || token.length > 4096) {
      sendError(res, 400, 'VALIDATION_ERROR', 'token: not an access token', {}, [
        { message: 'not an access token', in: 'token' },
      ]);
      return;
    }
    const introspection = await access.check(token, res);
    if (introspection === undefined) return;
    if (!introspection.active || introspection.sub === undefined) {
      sendError(res, 404, 'OBJECT_NOT_FOUND', 'The access token is not valid or has expired.');
      return;
    }
    const expiresIn =
      introspection.exp === undefined ? 0 : Math.max(0, Math.floor(introspection.exp - clock() / 1000));
    res.json(
      200,
      {
        user: demoUserEmail(introspection.sub),
        user_id: demoUserId(introspection.sub),
        hub_id: DEMO_PORTAL.hubId,
        hub_domain: DEMO_PORTAL.hubDomain,
        app_id: DEMO_PORTAL.appId,
        scopes: (introspection.scope ?? '').split(/\s+/).filter(Boolean),
        token_type: 'access',
        expires_in: expiresIn,
      },
      { 'Cache-Control': 'no-store' },
    );
  });
}
