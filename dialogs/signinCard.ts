import { ActionTypes, CardFactory, MessageFactory, type Activity } from 'botbuilder';

/**
 * The sign-in card. Teams opens `signin` actions in its authentication pop-up (where the callback
 * page can hand the verification code back with `notifySuccess`); Web Chat and others get an
 * ordinary link button. The link is the one-time start URL, never the provider's URL itself, so
 * state and PKCE are created only when a browser opens it.
 */
export function signinCard(options: {
  channelId: string;
  profileName: string;
  startUrl: string;
  minutes: number;
  renewal: boolean;
}): Partial<Activity> {
  const teams = options.channelId === 'msteams';
  const text = options.renewal
    ? `Your connection to ${options.profileName} has to be renewed. Sign in again to continue.`
    : `To do that I need access to ${options.profileName} on your behalf. Sign in to continue.`;
  const card = CardFactory.heroCard(
    `Sign in to ${options.profileName}`,
    `${text} The link works once and expires in ${options.minutes} minutes.`,
    undefined,
    [
      {
        type: teams ? ActionTypes.Signin : ActionTypes.OpenUrl,
        title: `Sign in to ${options.profileName}`,
        value: options.startUrl,
      },
    ],
  );
  // No message text beside the card: Web Chat and Teams would show the link twice.
  return MessageFactory.attachment(card);
}
