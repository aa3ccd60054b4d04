import { AuthProfilesError } from './errors';

/**
 * Whose access a connection holds: one chat user, or the whole organisation (pre-authorized).
 * A user of another bot that calls the token service (`bot/tokenService/`) also names that bot:
 * `botAppId` is its app id (`''` for an anonymous bot on loopback in dev), so one bot never sees
 * the connections another bot's users made, even for the same channel and user id.
 */
export type Subject =
  { kind: 'organization' } | { kind: 'user'; channelId: string; userId: string; botAppId?: string };

export const ORGANIZATION: Subject = { kind: 'organization' };

/** Marks the bot segment of a subject key, so it can never be read as part of a user id. */
const BOT_SEGMENT = 'bot=';

/**
 * The store key of a subject. A user is keyed by channel and user id together: the same id on two
 * channels is two people as far as we can prove. A token-service user adds `:bot=<app id>`.
 */
export function subjectKey(subject: Subject): string {
  if (subject.kind === 'organization') return 'org';
  if (!subject.channelId || !subject.userId) {
    throw new AuthProfilesError('invalid-configuration', 'a user subject needs a channel id and a user id');
  }
  const user = `user:${encodeURIComponent(subject.channelId)}:${encodeURIComponent(subject.userId)}`;
  return subject.botAppId === undefined
    ? user
    : `${user}:${BOT_SEGMENT}${encodeURIComponent(subject.botAppId)}`;
}

/** The subject of a subject key or of a connection's key (a named connection's `#<name>` is dropped). */
export function subjectFromKey(connectionKey: string): Subject {
  const key = connectionKey.split('#')[0] ?? '';
  if (key === 'org') return ORGANIZATION;
  const [kind, channelId, userId, bot, ...rest] = key.split(':');
  if (
    kind !== 'user' ||
    channelId === undefined ||
    userId === undefined ||
    rest.length > 0 ||
    (bot !== undefined && !bot.startsWith(BOT_SEGMENT))
  ) {
    throw new AuthProfilesError('invalid-configuration', 'malformed subject key');
  }
  const user = {
    kind: 'user' as const,
    channelId: decodeURIComponent(channelId),
    userId: decodeURIComponent(userId),
  };
  return bot === undefined ? user : { ...user, botAppId: decodeURIComponent(bot.slice(BOT_SEGMENT.length)) };
}
