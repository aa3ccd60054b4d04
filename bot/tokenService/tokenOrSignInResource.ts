import { z } from 'zod';
import type { TokenServiceCaller } from './callerAuthentication';
import { decodeExchangeState } from './exchangeState';
import { getTokenQuery, parseQuery } from './requests';
import { invalidInput } from './tokenServiceError';
import type { TokenResponse, UserTokens } from './userTokens';

/**
 * `GET api/usertoken/GetTokenOrSignInResource`: GetToken and GetSignInResource in one call, which is
 * how the Microsoft 365 Agents SDK signs users in (its AgentApplication user authorization,
 * `AzureBotAuthorization.setToken`, calls nothing else to get a token or a card). The SDK sends every
 * parameter, empty when unused (`code=&finalRedirect=&fwdUrl=`), and a state whose `msAppId` is
 * always `''` (its UserTokenClient never sets it): an empty code is no code, an empty msAppId is the
 * caller itself. Answers `{ tokenResponse }` or `{ signInResource: { signInLink } }`, both 200; after a
 * wrong code, `{}`: the waiting sign-in is left as it is (no second link), and the SDK tells the user.
 */

export const tokenOrSignInQuery = getTokenQuery.omit({ code: true }).extend({
  /** Base64 JSON `TokenExchangeState`, see exchangeState.ts. */
  state: z.string().min(1, 'is required').max(16_384, 'is too long'),
  code: z.string().max(64, 'must be at most 64 characters').optional(),
  // Accepted and not used: no URL from a caller ever becomes a redirect (SECURITY.md #11).
  finalRedirect: z.string().max(2048).optional(),
  fwdUrl: z.string().max(2048).optional(),
});

export type TokenOrSignInResource =
  { tokenResponse: TokenResponse } | { signInResource: { signInLink: string } } | Record<string, never>;

export async function tokenOrSignInResource(
  tokens: UserTokens,
  caller: TokenServiceCaller,
  rawQuery: string,
): Promise<TokenOrSignInResource> {
  const query = parseQuery(rawQuery, tokenOrSignInQuery);
  const state = decodeExchangeState(query.state);
  // The link is made for the state's user and channel: they must be the ones the query names.
  const mismatched = [
    state.connectionName !== query.connectionName && 'state.connectionName',
    state.conversation.user.id !== query.userId && 'state.conversation.user.id',
    state.conversation.channelId !== query.channelId && 'state.conversation.channelId',
  ].filter((path): path is string => path !== false);
  if (mismatched.length > 0) {
    throw invalidInput(
      'state',
      mismatched.map((path) => ({ path, message: 'must match the query parameter of the same name' })),
    );
  }
  const tokenResponse = await tokens.getToken(caller, {
    userId: query.userId,
    connectionName: query.connectionName,
    channelId: query.channelId,
    ...(query.code ? { code: query.code } : {}),
  });
  if (tokenResponse) return { tokenResponse };
  if (query.code) return {};
  const signInLink = await tokens.signInLink(caller, { ...state, msAppId: state.msAppId || caller.appId });
  return { signInResource: { signInLink } };
}
