import { randomBytes } from 'node:crypto';
import type { Request } from 'restify';
import { readJsonBody } from '../../http/requestBody';

/** The pieces both faces of the local Direct Line share: its records, its errors, its parsing. */

export const CHANNEL_ID = 'webchat';
const MAX_BODY_BYTES = 256 * 1024;
const MAX_ID_LENGTH = 256;

export type Activity = Record<string, unknown>;
export interface Member {
  id: string;
  name?: string;
  role: 'user' | 'bot';
}
export interface StoredActivity {
  seq: number;
  bytes: number;
  activity: Activity;
}
export interface Conversation {
  id: string;
  token: string;
  user: Member | undefined;
  /** The client has started it (POST /conversations). */
  started: boolean;
  /** The bot has been told the user joined (conversationUpdate). */
  userAnnounced: boolean;
  activities: StoredActivity[];
  bytes: number;
  /** Last activity sequence number handed out; doubles as the watermark. */
  seq: number;
  lastTimestamp: number;
  lastActiveAt: number;
  /** Deliveries to the bot are chained so it sees one turn at a time per conversation, in order. */
  deliveries: Promise<unknown>;
}

export const BOT: Member = { id: 'bot', role: 'bot' };

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// DirectLineJS and Web Chat decode (never verify) the token as a JWT and take its `user` claim as the
// user id; that is also the only way Web Chat keeps a "dl_" user id (it replaces one passed as a prop).
// The random third part is what makes the token unguessable; the server only looks tokens up.
export function issueToken(conversationId: string, user: Member | undefined): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = { conv: conversationId, ...(user ? { user: user.id } : {}) };
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.${randomBytes(32).toString('base64url')}`;
}

export function parseMember(value: unknown, field: string, role: Member['role']): Member | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new HttpError(400, 'BadArgument', `${field} must be an object`);
  const { id, name } = value;
  if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH) {
    throw new HttpError(
      400,
      'BadArgument',
      `${field}.id must be a string of 1 to ${MAX_ID_LENGTH} characters`,
    );
  }
  if (name === undefined || name === null || name === '') return { id, role };
  if (typeof name !== 'string' || name.length > MAX_ID_LENGTH) {
    throw new HttpError(
      400,
      'BadArgument',
      `${field}.name must be a string of at most ${MAX_ID_LENGTH} characters`,
    );
  }
  return { id, name, role };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON object a request carries (`{}` when it carries nothing), read by bot/http/requestBody.ts. */
export async function readJsonObject(req: Request): Promise<Record<string, unknown>> {
  const body = await readJsonBody(req, { maxBytes: MAX_BODY_BYTES });
  if (!body.ok) {
    if (body.problem === 'empty') return {};
    if (body.problem === 'too-large')
      throw new HttpError(413, 'MessageSizeTooBig', 'request body is too large');
    throw new HttpError(400, 'BadArgument', 'the body is not valid JSON');
  }
  if (body.value === undefined || body.value === null) return {};
  if (!isObject(body.value)) throw new HttpError(400, 'BadArgument', 'the body must be a JSON object');
  return body.value;
}

/** Resolves with undefined when done, the error when it failed, or 'pending' when it takes longer than ms. */
export async function settleWithin(
  promise: Promise<void>,
  ms: number,
): Promise<Error | 'pending' | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function errorSummary(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
