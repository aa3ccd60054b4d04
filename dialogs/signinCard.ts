import { ActionTypes, CardFactory, MessageFactory, type Activity } from 'botbuilder';
import { inertMarkdown, inertText } from './inertText';

/** A button is one short line: longer names are cut (with `…`) rather than wrapped or clipped mid-word. */
const MAX_BUTTON_NAME = 40;
/** New permissions named on a card; more are summed up ("and 3 more") so the card stays short. */
const MAX_NAMED_PERMISSIONS = 10;
/** Each permission (a scope token, author text of the profile) is cut to this length. */
const MAX_PERMISSION_LENGTH = 80;

/**
 * The sign-in card. Teams opens `signin` actions in its authentication pop-up (where the callback
 * page can hand the verification code back with `notifySuccess`); Web Chat and others get an
 * ordinary link button. The link is the one-time start URL, never the provider's URL itself, so
 * state and PKCE are created only when a browser opens it.
 *
 * The profile's display name is author text (SECURITY.md #45). Web Chat renders a hero card's title and
 * text as markdown, so there it is `inertMarkdown`; Teams shows hero card titles unformatted and text
 * as an XML subset (no markdown, so a backslash would be seen), so there it is `inertText`. Button
 * titles are plain text everywhere: `inertText`, cut short.
 */
export function signinCard(options: {
  channelId: string;
  profileName: string;
  startUrl: string;
  minutes: number;
  renewal: boolean;
  /**
   * An ordinary link even in Teams: a card sent to a personal chat for a sign-in asked in a group, whose
   * wait (and code) lives in the group, where the Teams pop-up's verifyState would not arrive.
   */
  linkButton?: boolean;
  /**
   * Scopes on demand (issue 11 point 5): the permissions this sign-in asks for that the connection lacks;
   * the card names them (inert, like the profile name) and says only these are new.
   */
  newPermissions?: readonly string[];
}): Partial<Activity> {
  const teams = options.channelId === 'msteams';
  const popup = teams && options.linkButton !== true;
  const name = teams ? inertText(options.profileName) : inertMarkdown(options.profileName);
  const inert = (value: string) =>
    teams ? inertText(value, MAX_PERMISSION_LENGTH) : inertMarkdown(value, MAX_PERMISSION_LENGTH);
  const permissions = options.newPermissions ?? [];
  const named = permissions.slice(0, MAX_NAMED_PERMISSIONS).map(inert).join(', ');
  const more = permissions.length - MAX_NAMED_PERMISSIONS;
  const text =
    permissions.length > 0
      ? `To do that I need more access to ${name}: ${named}${more > 0 ? ` and ${more} more` : ''}. Sign in to allow it; only ${permissions.length === 1 ? 'this permission is' : 'these permissions are'} new.`
      : options.renewal
        ? `Your connection to ${name} has to be renewed. Sign in again to continue.`
        : `To do that I need access to ${name} on your behalf. Sign in to continue.`;
  const card = CardFactory.heroCard(
    `Sign in to ${name}`,
    `${text} The link works once and expires in ${options.minutes} minutes.`,
    undefined,
    [
      {
        type: popup ? ActionTypes.Signin : ActionTypes.OpenUrl,
        title: `Sign in to ${inertText(options.profileName, MAX_BUTTON_NAME)}`,
        value: options.startUrl,
      },
    ],
  );
  // No message text beside the card: Web Chat and Teams would show the link twice.
  return MessageFactory.attachment(card);
}
