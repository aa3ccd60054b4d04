import { z } from 'zod';
import {
  CONNECTION_NAME,
  isExternalSubjectKey,
  ORGANIZATION,
  PROFILE_ID,
  subjectFromKey,
  type AuthorizationEngine,
  type Profile,
  type Subject,
} from '../../profiles';
import { OPAQUE_ID } from '../admin/adminContext';
import { channelId, userId } from '../tokenService/requests';
import { callerLabel, type ActionCaller } from './actionCaller';
import { ApiError } from './responses';

/**
 * Which connection a call of the execute API or the proxy uses, and whether its caller may use it.
 *
 * - A bot names the user (`userId` + `channelId`): the same subject the token service keys that bot's
 *   user by (channel, user AND calling bot, SECURITY.md #9, #10), or, for a pre-authorized profile, the
 *   organisation connection. The profile's access policy applies as the token service applies it: only
 *   `<channel>:<user>` and channel entries can match what a bot vouches for. A bot that names no user
 *   reaches only the organisation connection of a pre-authorized profile open to everyone.
 * - An admin names a `connectionId` (any connection of the profile, a user's too), or nothing for the
 *   organisation connection. Admins are not subject to access policies (profiles/accessPolicy.ts).
 * - `account` picks a named connection (`work`) instead of the subject's default one.
 */

export const selectionFields = {
  userId: userId.optional(),
  channelId: channelId.optional(),
  connectionId: z.string().regex(OPAQUE_ID, 'must be a connection id').optional(),
  account: z
    .string()
    .regex(CONNECTION_NAME, 'must be a connection name: 1 to 32 of a-z, 0-9 and "-"')
    .optional(),
};

export type Selection = { [K in keyof typeof selectionFields]?: string };

export interface ConnectionTarget {
  profile: Profile;
  subject: Subject;
  /** A named connection (`default`: the unnamed record); undefined: the subject's default one. */
  connection?: string;
  /** Whose connection, for the audit log: `org`, `connection:<id>` or `user`. */
  whose: string;
  /** Whether a missing token is the user's to fix through the token service's sign-in (bot-named user). */
  userSignsIn: boolean;
}

/** The profile named in the path: 400 for a malformed id, 404 unknown, 503 not configured yet. */
export async function usableProfile(engine: AuthorizationEngine, id: string): Promise<Profile> {
  if (!PROFILE_ID.test(id)) {
    throw new ApiError(400, 'invalid-request', 'invalid path parameter: profileId: must be a profile id', [
      { path: 'profileId', message: 'must be a profile id' },
    ]);
  }
  const profile = await engine.findProfile(id);
  if (!profile) throw new ApiError(404, 'profile-not-found', `no profile "${id}"`);
  if (profile.missing.length > 0) {
    throw new ApiError(
      503,
      'profile-not-configured',
      `profile "${profile.id}" is not configured yet: missing ${profile.missing.join(', ')}`,
    );
  }
  return profile;
}

export async function connectionTarget(
  engine: AuthorizationEngine,
  caller: ActionCaller,
  profile: Profile,
  selection: Selection,
): Promise<ConnectionTarget> {
  const named = selection.account === undefined ? {} : { connection: selection.account };
  if (caller.kind === 'admin') {
    if (selection.userId !== undefined || selection.channelId !== undefined) {
      throw badSelection(
        'userId',
        'an admin names a connection by connectionId (or none for the organisation connection), not a user',
      );
    }
    if (selection.connectionId !== undefined) {
      if (selection.account !== undefined) {
        throw badSelection('account', 'give either connectionId or account, not both');
      }
      const connection = await engine.connectionById(selection.connectionId);
      if (!connection || connection.profileId !== profile.id) {
        throw new ApiError(
          404,
          'connection-not-found',
          `profile "${profile.id}" has no connection "${selection.connectionId}"`,
        );
      }
      if (isExternalSubjectKey(connection.subjectKey)) {
        // A consent started by another system (SECURITY.md #60) has no subject to run as until linked.
        const message =
          'is not linked to a chat user yet: link it first (POST /admin/api/connections/{id}/link)';
        throw new ApiError(409, 'connection-not-linked', `connectionId ${message}`, [
          { path: 'connectionId', message },
        ]);
      }
      return {
        profile,
        subject: subjectFromKey(connection.subjectKey),
        // By name, `default` is the unnamed record itself, not whichever one is the default now.
        connection: connection.name ?? 'default',
        whose: `connection:${connection.id}`,
        userSignsIn: false,
      };
    }
    if (profile.authorization !== 'pre-authorized') {
      throw badSelection(
        'connectionId',
        `profile "${profile.id}" has per-user connections: name one by connectionId`,
      );
    }
    return { profile, subject: ORGANIZATION, ...named, whose: 'org', userSignsIn: false };
  }

  if (selection.connectionId !== undefined) {
    throw badSelection('connectionId', 'a bot names the user (userId and channelId), not a connection id');
  }
  if ((selection.userId === undefined) !== (selection.channelId === undefined)) {
    throw badSelection(
      selection.userId === undefined ? 'userId' : 'channelId',
      'userId and channelId go together',
    );
  }
  if (selection.userId === undefined || selection.channelId === undefined) {
    if (profile.authorization !== 'pre-authorized') {
      throw badSelection('userId', `profile "${profile.id}" has per-user connections: name the user`);
    }
    if (profile.access !== undefined && profile.access !== 'everyone') {
      throw accessDenied(profile, 'its access policy lists who may use it: name the user');
    }
    return { profile, subject: ORGANIZATION, ...named, whose: 'org', userSignsIn: false };
  }
  const requester = { channelId: selection.channelId, userId: selection.userId };
  if (!engine.checkAccess(profile, requester).allowed) {
    throw accessDenied(profile, 'its access policy does not list this user');
  }
  if (profile.authorization === 'pre-authorized') {
    return { profile, subject: ORGANIZATION, ...named, whose: 'org', userSignsIn: false };
  }
  return {
    profile,
    subject: { kind: 'user', ...requester, botAppId: caller.bot.appId },
    ...named,
    whose: 'user',
    userSignsIn: true,
  };
}

function badSelection(path: string, message: string): ApiError {
  return new ApiError(400, 'invalid-request', `${path}: ${message}`, [{ path, message }]);
}

function accessDenied(profile: Profile, why: string): ApiError {
  return new ApiError(403, 'access-denied', `this caller may not use profile "${profile.id}": ${why}`);
}

export { callerLabel };
