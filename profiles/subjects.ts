import { AuthProfilesError } from './errors';

/** Whose access a connection holds: one chat user, or the whole organisation (pre-authorized). */
export type Subject = { kind: 'organization' } | { kind: 'user'; channelId: string; userId: string };

export const ORGANIZATION: Subject = { kind: 'organization' };

/**
 * The store key of a subject. A user is keyed by channel and user id together: the same id on two
 * channels is two people as far as we can prove.
 */
export function subjectKey(subject: Subject): string {
  if (subject.kind === 'organization') return 'org';
  if (!subject.channelId || !subject.userId) {
    throw new AuthProfilesError('invalid-configuration', 'a user subject needs a channel id and a user id');
  }
  return `user:${encodeURIComponent(subject.channelId)}:${encodeURIComponent(subject.userId)}`;
}

export function subjectFromKey(key: string): Subject {
  if (key === 'org') return ORGANIZATION;
  const [kind, channelId, userId] = key.split(':');
  if (kind !== 'user' || channelId === undefined || userId === undefined) {
    throw new AuthProfilesError('invalid-configuration', 'malformed subject key');
  }
  return { kind: 'user', channelId: decodeURIComponent(channelId), userId: decodeURIComponent(userId) };
}
