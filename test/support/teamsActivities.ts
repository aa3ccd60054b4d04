// Teams-shaped activity fields, as Teams (and the Agents Playground) send them, for the bot harness's
// `activity` override: tenant on conversation and channelData, the user's aadObjectId, team and
// channel ids in channelData, and the bot's @mention entity in group chats and channels.
import type { Activity } from 'botbuilder';

export interface TeamsWho {
  userId: string;
  name?: string;
  aadObjectId?: string;
  tenantId?: string;
  /** A team channel conversation: channelData.team.id (+ aadGroupId) and channelData.channel.id. */
  team?: { id: string; aadGroupId?: string; channelId?: string };
  conversationType?: 'personal' | 'groupChat' | 'channel';
  conversationId?: string;
}

export const BOT = { id: '28:bot-app-id', name: 'Bot', role: 'bot' } as const;

export function teamsActivity(who: TeamsWho): Partial<Activity> {
  const tenantId = who.tenantId ?? 'tenant-a';
  const conversationType = who.conversationType ?? (who.team ? 'channel' : 'personal');
  const channelData: Record<string, unknown> = { tenant: { id: tenantId } };
  if (who.team) {
    channelData.team = {
      id: who.team.id,
      ...(who.team.aadGroupId ? { aadGroupId: who.team.aadGroupId } : {}),
    };
    channelData.channel = { id: who.team.channelId ?? `${who.team.id};channel` };
  }
  return {
    channelId: 'msteams',
    from: {
      id: who.userId,
      name: who.name ?? who.userId,
      role: 'user',
      ...(who.aadObjectId ? { aadObjectId: who.aadObjectId } : {}),
    },
    recipient: { ...BOT },
    conversation: {
      id: who.conversationId ?? `${conversationType}-${who.userId}`,
      isGroup: conversationType !== 'personal',
      conversationType,
      tenantId,
      name: '',
    },
    channelData,
  };
}

/** The text and entity Teams sends when the bot is @mentioned before `text`. */
export function mentioningBot(text: string): Partial<Activity> {
  return {
    text: `<at>${BOT.name}</at> ${text}`,
    entities: [{ type: 'mention', text: `<at>${BOT.name}</at>`, mentioned: { id: BOT.id, name: BOT.name } }],
  };
}
