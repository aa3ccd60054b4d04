import type { TurnContext } from 'botbuilder';
import type { AuthorizationEngine, SigninOutcome, Subject } from '../profiles';

/** What dialogs need from the host, passed in once; dialogs never read the environment. */
export interface DialogServices {
  engine: AuthorizationEngine;
  /** Whether a sign-in on this channel must be confirmed with a code (SECURITY.md #9). */
  requiresVerification(channelId: string): boolean;
  /** How long a dialog waits for the user to sign in. */
  signinTimeoutMs: number;
  /**
   * The profile bare action phrases ("show my deals") use when several usable profiles know them
   * (CRM_PROFILE: `hubspot`, or `demo` in dev); a message may name another ("demo-org: show my deals").
   */
  crmProfileId: string;
  clock: () => number;
  /** The bot's Microsoft App Id, to open a personal chat for a sign-in asked in a group (issue 10 point 2). */
  botAppId?: string;
}

/** The chat user behind an activity. Channel + user id: ids are only unique within a channel. */
export function userSubject(context: TurnContext): Subject {
  const { channelId, from } = context.activity;
  return { kind: 'user', channelId, userId: from.id };
}

export const SIGNIN_EVENT = 'authprofiles/signin';

/**
 * Value of the event that resumes a waiting dialog after the OAuth callback (or its expiry): the
 * sign-in's outcome in the one vocabulary (profiles/signinStates.ts, docs/signin-states.md).
 */
export interface SigninEventValue {
  requestId: string;
  outcome: SigninOutcome;
  /** Stable error code when failed. */
  error?: string;
}
