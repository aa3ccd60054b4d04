import type { Activity } from 'botbuilder';
import type { Requester } from '../profiles';

/**
 * Who is asking, for a profile's access policy (issue 10 point 1), from what the channel vouches for.
 * Teams fields (tenant, the user's Entra object id, team, the team's Entra group, Teams channel) are
 * read only from `msteams` activities, which the Bot Connector service sets; on other channels (Web
 * Chat, Direct Line) a client could write them itself, so they are left out and only channel + user id
 * entries can match there. A user's Entra group memberships are not in an activity (that needs Microsoft
 * Graph): `groups` entries match the team's group, i.e. people in that team's channels.
 */
export function requesterOf(activity: Partial<Activity>): Requester {
  const requester: Requester = {
    channelId: activity.channelId ?? '',
    userId: activity.from?.id ?? '',
  };
  if (activity.channelId !== 'msteams') return requester;
  const data = (activity.channelData ?? {}) as {
    tenant?: { id?: unknown };
    team?: { id?: unknown; aadGroupId?: unknown };
    channel?: { id?: unknown };
  };
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' && value !== '' ? value : undefined;
  const tenantId = text(activity.conversation?.tenantId) ?? text(data.tenant?.id);
  const aadObjectId = text(activity.from?.aadObjectId);
  const teamId = text(data.team?.id);
  const teamGroupId = text(data.team?.aadGroupId);
  const teamChannelId = text(data.channel?.id);
  return {
    ...requester,
    ...(tenantId ? { tenantId } : {}),
    ...(aadObjectId ? { aadObjectId } : {}),
    ...(teamId ? { teamId } : {}),
    ...(teamGroupId ? { teamGroupId } : {}),
    ...(teamChannelId ? { teamChannelId } : {}),
  };
}
