import { z } from 'zod';
import type { FieldIssue } from '../../profiles';
import { invalidInput } from './tokenServiceError';

/**
 * The inputs of the user-token API as botframework-connector sends them (`tokenApi/models/parameters.js`):
 * query strings and JSON bodies, one schema each. A repeated parameter is refused rather than
 * guessed at; parameters this service does not know are ignored, as newer clients may add some.
 */

/** connectionName is a profile id (profiles/profileSchema.ts). */
export const connectionName = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, 'must be a connection (profile id) of this service');
export const userId = z.string().min(1, 'is required').max(256, 'must be at most 256 characters');
export const channelId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a channel id such as msteams or webchat');
/** The 6-digit code from the sign-in page, typed in chat or sent by Teams (`signin/verifyState`). */
const code = z.string().min(1).max(64, 'must be at most 64 characters');

export const getTokenQuery = z.object({ userId, connectionName, channelId, code: code.optional() });
export type GetTokenQuery = z.output<typeof getTokenQuery>;

export const signOutQuery = z.object({ userId, channelId, connectionName: connectionName.optional() });
export type SignOutQuery = z.output<typeof signOutQuery>;

export const tokenStatusQuery = z.object({
  userId,
  channelId,
  /** Comma-separated connection names to report on; all connections when absent. */
  include: z.string().max(2000).optional(),
});
export type TokenStatusQuery = z.output<typeof tokenStatusQuery>;

export const userConnectionQuery = z.object({ userId, connectionName, channelId });
export type UserConnectionQuery = z.output<typeof userConnectionQuery>;

export const signInQuery = z.object({
  /** Base64 JSON `TokenExchangeState` (UserTokenClient.createTokenExchangeState), see exchangeState.ts. */
  state: z.string().min(1, 'is required').max(16_384, 'is too long'),
  // Accepted and not used: no URL from a caller ever becomes a redirect (SECURITY.md #11).
  code_challenge: z.string().max(512).optional(),
  emulatorUrl: z.string().max(2048).optional(),
  finalRedirect: z.string().max(2048).optional(),
});
export type SignInQuery = z.output<typeof signInQuery>;

/** `TokenExchangeRequest` (mappers.js): a token to exchange or a URI. */
export const exchangeBody = z.object({
  uri: z.string().max(2048).optional(),
  token: z.string().max(16_384).optional(),
});

/** `AadResourceUrls` (mappers.js). */
export const aadTokensBody = z.object({
  resourceUrls: z.array(z.string().max(2048)).max(50),
});

/** Parses a raw query string with a schema; 400 names each parameter at fault. */
export function parseQuery<T extends z.ZodType>(rawQuery: string, schema: T): z.output<T> {
  const values: Record<string, string> = {};
  const issues: FieldIssue[] = [];
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    if (Object.hasOwn(values, name)) issues.push({ path: name, message: 'must be given once' });
    values[name] = value;
  }
  const result = schema.safeParse(values);
  if (!result.success) issues.push(...fieldIssues(result.error));
  if (issues.length > 0 || !result.success) throw invalidInput('query', issues);
  return result.data;
}

/** Parses a JSON body (already decoded by the body parser) with a schema. */
export function parseBody<T extends z.ZodType>(body: unknown, schema: T): z.output<T> {
  const result = schema.safeParse(body ?? undefined);
  if (!result.success) throw invalidInput('body', fieldIssues(result.error));
  return result.data;
}

/** Field path and message of each issue; a missing field "is required" rather than "expected string". */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message:
      issue.code === 'invalid_type' && /received undefined/.test(issue.message)
        ? 'is required'
        : issue.message,
  }));
}
