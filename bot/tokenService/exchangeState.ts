import { z } from 'zod';
import { connectionName, fieldIssues } from './requests';
import { invalidInput } from './tokenServiceError';

/**
 * The `state` of GetSignInResource / GetSignInUrl: base64 of the JSON `TokenExchangeState` that
 * botframework-connector's `UserTokenClient.createTokenExchangeState` builds from the activity —
 * `{ connectionName, conversation: <conversation reference>, relatesTo, msAppId }`. Decoded and
 * validated like any input: it comes from the calling bot, and names the user the sign-in is for.
 */

const id = z.string().min(1, 'is required').max(256, 'must be at most 256 characters');
const account = z.object({ id, name: z.string().max(256).optional() });

export const exchangeStateSchema = z.object({
  connectionName,
  conversation: z.object({
    user: account,
    bot: account.optional(),
    conversation: z.object({ id: z.string().min(1, 'is required').max(1024) }),
    channelId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a channel id such as msteams or webchat'),
    serviceUrl: z.string().max(2048).optional(),
    activityId: z.string().max(1024).optional(),
    locale: z.string().max(64).optional(),
  }),
  relatesTo: z.unknown().optional(),
  /** The calling bot's app id (`''` or absent for a bot without one). */
  msAppId: z.string().max(128).optional(),
});
export type TokenExchangeState = z.output<typeof exchangeStateSchema>;

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

export function decodeExchangeState(state: string): TokenExchangeState {
  if (!BASE64.test(state)) {
    throw invalidInput('state', [{ path: 'state', message: 'must be base64 of a JSON TokenExchangeState' }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(state, 'base64').toString('utf8'));
  } catch {
    throw invalidInput('state', [{ path: 'state', message: 'must be base64 of a JSON TokenExchangeState' }]);
  }
  const parsed = exchangeStateSchema.safeParse(json);
  if (!parsed.success) {
    throw invalidInput(
      'state',
      fieldIssues(parsed.error).map((issue) => ({ ...issue, path: `state.${issue.path}` })),
    );
  }
  return parsed.data;
}
