import { z } from 'zod';

/**
 * Who may use a profile (issue 10 point 1): everyone (the default), or whoever matches at least one
 * entry of the listed tenants, users, teams, groups or channels. It applies to organisation connections
 * (a pre-authorized profile's token), per-user sign-in and the token-service API. The engine decides
 * from a neutral description of who is asking (`Requester`); hosts build it from what their channel
 * vouches for (dialogs/requester.ts for Bot Framework activities). Admins are not subject to it.
 */

const entry = z.string().trim().min(1).max(256);
const list = z.array(entry).max(500).default([]);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `users` entries: an Entra object id (GUID), or `<channelId>:<userId>` (ids are unique per channel only). */
const userEntry = entry.refine(
  (value) => GUID.test(value) || /^[a-z0-9._-]{1,64}:.+$/i.test(value),
  'must be an Entra object id (GUID) or channel:user id, e.g. msteams:29:1a2b or webchat:alice',
);

const listedSchema = z
  .strictObject({
    /** Microsoft Entra tenant ids (activity.conversation.tenantId / channelData.tenant.id). */
    tenants: list,
    users: z.array(userEntry).max(500).default([]),
    /** Teams team ids (channelData.team.id). */
    teams: list,
    /** Entra group ids, matched against the Teams team's group (channelData.team.aadGroupId). */
    groups: list,
    /** Channel ids (`msteams`, `webchat`) or Teams channel ids (channelData.channel.id). */
    channels: list,
  })
  .refine(
    (policy) => Object.values(policy).some((values) => values.length > 0),
    'must list at least one tenant, user, team, group or channel (or be "everyone")',
  );

/**
 * A profile's admins in chat (issue 10 point 7): `<channelId>:<userId>` entries, e.g. `msteams:29:1a2b`.
 * They get a chat message when the profile's organisation connection breaks and when it is repaired.
 */
export const adminUsersSchema = z
  .array(
    entry.refine(
      (value) => /^[a-z0-9._-]{1,64}:.+$/i.test(value),
      'must be channel:user id, e.g. msteams:29:1a2b or webchat:alice',
    ),
  )
  .max(50);

export const accessPolicySchema = z.union([z.literal('everyone'), listedSchema]);
export type AccessPolicy = z.output<typeof accessPolicySchema>;

/**
 * Who is asking, as far as the host can vouch for it. Leave a field out when the channel does not say
 * it reliably: an entry that needs it then cannot match (the policy fails closed).
 */
export interface Requester {
  channelId: string;
  userId: string;
  /** Entra object id of the user (Teams `from.aadObjectId`). */
  aadObjectId?: string;
  tenantId?: string;
  /** Teams team id, in a team's channel. */
  teamId?: string;
  /** Entra (Microsoft 365) group id of that team. */
  teamGroupId?: string;
  /** Teams channel id, in a team's channel. */
  teamChannelId?: string;
}

export type AccessDecision = { allowed: true } | { allowed: false };

export function accessDecision(policy: AccessPolicy | undefined, who: Requester): AccessDecision {
  if (policy === undefined || policy === 'everyone') return { allowed: true };
  const has = (values: readonly string[], value: string | undefined): boolean =>
    value !== undefined && values.some((item) => item.toLowerCase() === value.toLowerCase());
  const users = policy.users;
  const allowed =
    has(policy.tenants, who.tenantId) ||
    has(users, who.aadObjectId) ||
    users.includes(`${who.channelId}:${who.userId}`) ||
    has(policy.teams, who.teamId) ||
    has(policy.groups, who.teamGroupId) ||
    has(policy.channels, who.channelId) ||
    has(policy.channels, who.teamChannelId);
  return { allowed };
}
