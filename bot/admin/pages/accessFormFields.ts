import type { FieldSpec } from './profileFormFields';

/**
 * The access policy on the profile forms (issue 10 point 1): one text field per list, entries separated
 * by spaces or commas; all five empty means "everyone". Field names are `access.<list>`, the schema's
 * paths, so an error such as `access.users.0` is shown next to its field.
 */
export const ACCESS_LISTS = ['tenants', 'users', 'teams', 'groups', 'channels'] as const;

const HINTS: Record<(typeof ACCESS_LISTS)[number], string> = {
  tenants: 'Microsoft Entra tenant ids.',
  users: 'Entra object ids, or <channel>:<user id> such as msteams:29:1a2b… or webchat:alice.',
  teams: 'Teams team ids (19:…@thread.tacv2).',
  groups: "Entra group ids of Teams teams (the team's Microsoft 365 group).",
  channels: 'Channel ids (msteams, webchat) or Teams channel ids.',
};

export const ACCESS_FIELDS: readonly FieldSpec[] = ACCESS_LISTS.map((list, index) => ({
  name: `access.${list}`,
  label: `Access: ${list}`,
  kind: 'list' as const,
  hint:
    index === 0
      ? `Who may use this profile: leave all access lists empty for everyone. ${HINTS[list]}`
      : HINTS[list],
}));

export function accessListValue(document: Record<string, unknown>, name: string): string {
  const access = document.access;
  if (typeof access !== 'object' || access === null) return '';
  const values = (access as Record<string, unknown>)[name.slice('access.'.length)];
  return Array.isArray(values) ? values.map(String).join(' ') : '';
}

/** Sets `document.access` from the form's lists: "everyone" when they are all empty. */
export function applyAccessLists(document: Record<string, unknown>, values: Record<string, string>): void {
  const lists = Object.fromEntries(
    ACCESS_LISTS.map((list) => [list, (values[`access.${list}`] ?? '').split(/[\s,]+/).filter(Boolean)]),
  );
  document.access = Object.values(lists).some((entries) => entries.length > 0) ? lists : 'everyone';
}

/** The profile's admins in chat (issue 10 point 7): told when the organisation connection breaks. */
export const ADMIN_USERS_FIELD: FieldSpec = {
  name: 'adminUsers',
  label: 'Admins in chat',
  kind: 'ids',
  hint: 'channel:user ids (msteams:29:1a2b…) told in their personal chat with the bot when the organisation connection breaks and when it works again.',
};
