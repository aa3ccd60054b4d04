import { ActivityTypes, TurnContext } from 'botbuilder';
import {
  Dialog,
  DialogReason,
  type DialogContext,
  type DialogInstance,
  type DialogTurnResult,
} from 'botbuilder-dialogs';
import {
  ORGANIZATION,
  type Profile,
  type SigninOutcome,
  type SigninState,
  type Subject,
  type TokenResult,
  accessRefusedMessage,
  signinFailedMessage,
  signinOutcomeMessage,
  tokenUnavailableMessage,
  verificationMessage,
} from '../profiles';
import { SIGNIN_EVENT, userSubject, type DialogServices, type SigninEventValue } from './dialogServices';
import { inertText, plainMessage } from './inertText';
import { isSharedConversation, sendSigninPrivately } from './privateSignin';
import { requesterOf } from './requester';
import { signinCard } from './signinCard';

/**
 * Put this dialog in front of any step that needs a token for a profile. It ends at once with a
 * token when one is usable; otherwise it sends a sign-in card and waits — across turns, restarts
 * and instances, since its state lives in the store — until the OAuth callback resumes it
 * (event `authprofiles/signin`), the user types the verification code, cancels, or time runs out.
 *
 * The result carries the access token in memory for the next step only; it is never written to
 * dialog state (which is stored unencrypted). A step that needs the token later calls getToken.
 *
 * While it waits, a message that is neither the code nor "cancel" gets a short reminder and the wait
 * goes on; which messages end the wait instead is decided by MainDialog (`replacesWaitingDialog`).
 * The callback stores its outcome with the request, so a resume that never arrived is picked up by
 * the user's next turn. Every display name is passed through `inertText` (SECURITY.md #45).
 */

/** The part of DialogServices this dialog uses (a bot that embeds the engine builds only this). */
export type AuthorizationDialogServices = Pick<
  DialogServices,
  'engine' | 'requiresVerification' | 'signinTimeoutMs' | 'clock' | 'botAppId'
>;

export interface AuthorizationDialogOptions {
  profileId: string;
  /** A named connection (`work`, issue 10 point 3); absent: the user's default one. */
  connectionName?: string;
}

/**
 * How the dialog ended: `authorized` with a token, `unavailable` when no sign-in could help (the profile
 * is not set up, the provider is down, the organisation is not connected), or how the sign-in ended.
 */
export type AuthorizationResult =
  | {
      status: 'authorized';
      profileId: string;
      accessToken: string;
      subject: Subject;
      /** The whole token (scopes, connection), for `engine.runAction(…, { token })`; in memory only. */
      token: Extract<TokenResult, { ok: true }>;
    }
  | { status: 'unavailable' | SigninEnd; profileId: string };

/** The sign-in outcomes that end the wait without a token. */
type SigninEnd = Extract<SigninOutcome, 'denied' | 'failed' | 'expired' | 'cancelled'>;

interface WaitState {
  profileId: string;
  requestId: string;
  expiresAt: number;
  /** The sign-in's state as this wait last knew it: its link is out, or it waits for the code. */
  state: Extract<SigninState, 'created' | 'pending-verification'>;
  /** The card went to the user's personal chat; the wait (and the code) stays in the group. */
  privateCard?: boolean;
  /** The named connection this sign-in makes (absent: the default one). */
  connectionName?: string;
  /** Written by earlier versions (`signin` | `verify`); read so a wait stored across an upgrade goes on. */
  phase?: 'signin' | 'verify';
}

/**
 * Turn-state flag: continue only to deliver an outcome the callback stored but could not deliver, then
 * stop without reading the message (MainDialog sets it before a new command replaces the wait).
 */
export const STORED_OUTCOME_ONLY = Symbol('authprofiles.storedOutcomeOnly');

const CANCEL = /^(cancel|stop|quit|never ?mind|abort)\.?$/i;
const CODE = /^\s*(\d{3})\s?-?\s?(\d{3})\s*$/;

export class AuthorizationDialog extends Dialog<AuthorizationDialogOptions> {
  static readonly id = 'authorization';

  constructor(private readonly services: AuthorizationDialogServices) {
    super(AuthorizationDialog.id);
  }

  override async beginDialog(
    dc: DialogContext,
    options?: AuthorizationDialogOptions,
  ): Promise<DialogTurnResult> {
    const profileId = options?.profileId;
    if (!profileId) throw new Error('AuthorizationDialog needs { profileId }');
    const { engine } = this.services;
    const profile = await engine.findProfile(profileId);
    if (!profile) {
      await say(dc, `There is no integration called "${profileId}" configured.`);
      return dc.endDialog({ status: 'unavailable', profileId });
    }
    if (profile.missing.length > 0) {
      await say(
        dc,
        `${inertText(profile.displayName)} is not set up yet: an admin must configure it (missing ${profile.missing.map((field) => inertText(field)).join(', ')}).`,
      );
      return dc.endDialog({ status: 'unavailable', profileId });
    }
    if (!engine.checkAccess(profile, requesterOf(dc.context.activity)).allowed) {
      // The profile's access policy (issue 10 point 1): no organisation token and no sign-in card.
      await say(dc, accessRefusedMessage(inertText(profile.displayName)));
      return dc.endDialog({ status: 'unavailable', profileId });
    }
    const subject = profile.authorization === 'pre-authorized' ? ORGANIZATION : userSubject(dc.context);
    const named = options?.connectionName === undefined ? {} : { connection: options?.connectionName };
    const token = await engine.getToken(profile, subject, named);
    if (token.ok) return dc.endDialog(authorized(profile, subject, token));
    if (profile.authorization === 'pre-authorized' || token.reason === 'provider-unavailable') {
      // Issue 4 point 5: users of a broken organisation connection are told an admin must act.
      const whose = profile.authorization === 'pre-authorized' ? 'organisation' : 'user';
      await say(dc, tokenUnavailableMessage(inertText(profile.displayName), token.reason, whose));
      return dc.endDialog({ status: 'unavailable', profileId });
    }
    // No name given: sign in again for the default connection, which may be a named one the user chose.
    const connectionName =
      options?.connectionName ?? (await engine.connectionOf(profile, subject))?.name ?? undefined;
    return this.sendSignin(dc, profile, token.reason === 'needs-reauthorization', connectionName);
  }

  private async sendSignin(
    dc: DialogContext,
    profile: Profile,
    renewal: boolean,
    connectionName: string | undefined,
  ): Promise<DialogTurnResult> {
    const { engine, signinTimeoutMs } = this.services;
    const activity = dc.context.activity;
    const created = await engine.createAuthorizationRequest({
      profile,
      subject: userSubject(dc.context),
      ...(connectionName === undefined ? {} : { connectionName }),
      createdBy: `user:${activity.channelId}:${activity.from.id}`,
      requireVerification: this.services.requiresVerification(activity.channelId),
      context: { conversation: conversationReferenceOf(dc.context) },
    });
    const expiresAt = Math.min(created.expiresAt, this.services.clock() + signinTimeoutMs);
    const state: WaitState = {
      profileId: profile.id,
      requestId: created.requestId,
      expiresAt,
      state: 'created',
    };
    const shared = isSharedConversation(activity);
    if (shared) state.privateCard = true;
    if (connectionName !== undefined) state.connectionName = connectionName;
    Object.assign(dc.activeDialog?.state ?? {}, state);
    const card = signinCard({
      channelId: activity.channelId,
      profileName: profile.displayName,
      startUrl: created.startUrl,
      minutes: Math.max(1, Math.round((expiresAt - this.services.clock()) / 60_000)),
      renewal,
      linkButton: shared,
    });
    if (!shared) {
      await dc.context.sendActivity(card);
      return Dialog.EndOfTurn;
    }
    // Group chat or channel: the card is for this user only (issue 10 point 2).
    const { delivered } = await sendSigninPrivately(
      dc.context,
      card,
      profile.displayName,
      this.services.botAppId ?? '',
    );
    if (delivered) return Dialog.EndOfTurn;
    await this.services.engine.cancelAuthorizationRequest(created.requestId);
    return dc.endDialog({ status: 'failed', profileId: profile.id });
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const state = dc.activeDialog?.state as WaitState;
    if (state.state === undefined) {
      state.state = state.state === 'pending-verification' ? 'pending-verification' : 'created';
      delete state.phase;
    }
    const activity = dc.context.activity;
    const profile = await this.services.engine.findProfile(state.profileId);
    if (!profile) {
      await say(dc, `The integration "${state.profileId}" was removed, so the sign-in was cancelled.`);
      return dc.endDialog({ status: 'failed', profileId: state.profileId });
    }
    if (activity.type === ActivityTypes.Event && activity.name === SIGNIN_EVENT) {
      return this.onSigninEvent(dc, state, profile, activity.value as SigninEventValue);
    }
    const teamsCode =
      activity.type === ActivityTypes.Invoke && activity.name === 'signin/verifyState'
        ? // Teams: the sign-in pop-up handed over the code with notifySuccess (the bot answers the invoke).
          String((activity.value as { state?: unknown } | undefined)?.state ?? '')
        : undefined;
    const storedOutcomeOnly = dc.context.turnState.get(STORED_OUTCOME_ONLY) === true;
    if (
      state.state === 'created' &&
      (activity.type === ActivityTypes.Message || teamsCode !== undefined || storedOutcomeOnly)
    ) {
      // The callback stores its outcome with the request before it resumes this conversation; if that
      // resume never arrived (the channel refused it, the instance died), this turn picks it up.
      const stored = await this.storedOutcome(state.requestId);
      if (stored?.outcome === 'pending-verification') state.state = 'pending-verification';
      else if (stored) return this.onSigninEvent(dc, state, profile, stored);
    }
    if (storedOutcomeOnly) return Dialog.EndOfTurn;
    if (teamsCode !== undefined) return this.onCode(dc, state, profile, teamsCode);
    if (activity.type !== ActivityTypes.Message) return Dialog.EndOfTurn;
    const text = (activity.text ?? '').trim();
    const name = inertText(profile.displayName);
    if (this.services.clock() > state.expiresAt) {
      await this.services.engine.cancelAuthorizationRequest(state.requestId);
      await say(dc, signinOutcomeMessage(name, 'expired'));
      return dc.endDialog({ status: 'expired', profileId: profile.id });
    }
    if (CANCEL.test(text)) {
      await this.services.engine.cancelAuthorizationRequest(state.requestId);
      await say(dc, `Okay, I cancelled the sign-in to ${name}.`);
      return dc.endDialog({ status: 'cancelled', profileId: profile.id });
    }
    if (CODE.test(text)) return this.onCode(dc, state, profile, text);
    // Stray text (a greeting, a question, a mistyped code): the wait goes on (issue 7 point 14).
    await say(
      dc,
      state.state === 'pending-verification'
        ? `I'm still waiting for you to finish signing in to ${name}. Type the 6-digit code from the sign-in page, or "cancel".`
        : `I'm still waiting for you to sign in to ${name} with the link above. Type "cancel" to stop.`,
    );
    return Dialog.EndOfTurn;
  }

  /** The outcome the callback stored with this wait's request, once it has one. */
  private async storedOutcome(requestId: string): Promise<SigninEventValue | undefined> {
    let request;
    try {
      request = await this.services.engine.signinRequest(requestId);
    } catch {
      // Store unreachable: keep waiting as before; the next turn looks again.
      return undefined;
    }
    // Gone: deleted a day after it expired.
    if (!request) return { requestId, outcome: 'expired' };
    const { state, error } = request;
    if (state === 'created' || state === 'started' || state === 'consumed') return undefined;
    return { requestId, outcome: state, ...(error ? { error } : {}) };
  }

  /** Replaced by a new command (or cancelled from outside): the link must not connect anything later. */
  override async endDialog(
    context: TurnContext,
    instance: DialogInstance,
    reason: DialogReason,
  ): Promise<void> {
    const requestId = (instance.state as Partial<WaitState> | undefined)?.requestId;
    if (reason === DialogReason.cancelCalled && requestId) {
      await this.services.engine.cancelAuthorizationRequest(requestId);
    }
  }

  private async onSigninEvent(
    dc: DialogContext,
    state: WaitState,
    profile: Profile,
    value: SigninEventValue | undefined,
  ): Promise<DialogTurnResult> {
    // An event for an older request (e.g. a link from an earlier card) does not end this wait.
    if (!value || value.requestId !== state.requestId) return Dialog.EndOfTurn;
    switch (value.outcome) {
      case 'connected':
        return this.finish(dc, profile, state);
      case 'pending-verification':
        state.state = 'pending-verification';
        if (dc.context.activity.channelId !== 'msteams' || state.privateCard) {
          await say(dc, signinOutcomeMessage(inertText(profile.displayName), 'pending-verification'));
        }
        return Dialog.EndOfTurn;
      case 'denied':
        await say(dc, signinOutcomeMessage(inertText(profile.displayName), 'denied'));
        return dc.endDialog({ status: 'denied', profileId: profile.id });
      case 'expired':
        await say(dc, signinOutcomeMessage(inertText(profile.displayName), 'expired'));
        return dc.endDialog({ status: 'expired', profileId: profile.id });
      case 'cancelled':
        await say(dc, signinFailedMessage(inertText(profile.displayName), 'cancelled'));
        return dc.endDialog({ status: 'cancelled', profileId: profile.id });
      default:
        await say(dc, signinFailedMessage(inertText(profile.displayName), value.error));
        if (value.error === 'provider-outcome-unknown') {
          // SECURITY.md #48: the provider may have spent the one-time code, which is never sent again; a
          // new sign-in (new code, new link) is the only way on, so the card comes with the message.
          return this.sendSignin(dc, profile, false, state.connectionName);
        }
        return dc.endDialog({ status: 'failed', profileId: profile.id });
    }
  }

  private async onCode(
    dc: DialogContext,
    state: WaitState,
    profile: Profile,
    code: string,
  ): Promise<DialogTurnResult> {
    const subject = userSubject(dc.context);
    const result = await this.services.engine.verify(
      profile,
      subject,
      code.replace(/[\s-]/g, ''),
      named(state),
    );
    const name = inertText(profile.displayName);
    switch (result) {
      case 'verified':
        return this.finish(dc, profile, state);
      case 'wrong-code':
        await say(dc, verificationMessage(name, 'wrong-code'));
        return Dialog.EndOfTurn;
      case 'too-many-attempts':
        await say(dc, verificationMessage(name, 'too-many-attempts'));
        return dc.endDialog({ status: 'failed', profileId: profile.id });
      case 'expired':
        await say(dc, verificationMessage(name, 'expired'));
        return dc.endDialog({ status: 'expired', profileId: profile.id });
      default:
        await say(
          dc,
          verificationMessage(name, state.state === 'pending-verification' ? 'nothing-pending' : 'not-yet'),
        );
        return state.state === 'pending-verification'
          ? dc.endDialog({ status: 'failed', profileId: profile.id })
          : Dialog.EndOfTurn;
    }
  }

  private async finish(dc: DialogContext, profile: Profile, state: WaitState): Promise<DialogTurnResult> {
    const subject = userSubject(dc.context);
    const token = await this.services.engine.getToken(profile, subject, named(state));
    if (!token.ok) {
      await say(dc, signinOutcomeMessage(inertText(profile.displayName), 'unusable'));
      return dc.endDialog({ status: 'failed', profileId: profile.id });
    }
    await say(dc, signinOutcomeMessage(inertText(profile.displayName), 'connected'));
    return dc.endDialog(authorized(profile, subject, token));
  }
}

/** The wait's named connection as an engine option (none: the default connection). */
function named(state: WaitState): { connection?: string } {
  return state.connectionName === undefined ? {} : { connection: state.connectionName };
}

function authorized(
  profile: Profile,
  subject: Subject,
  token: Extract<TokenResult, { ok: true }>,
): AuthorizationResult {
  return { status: 'authorized', profileId: profile.id, accessToken: token.accessToken, subject, token };
}

/** Stored with the request so the callback, on any instance, can resume this conversation. */
function conversationReferenceOf(context: TurnContext): Record<string, unknown> {
  return { ...TurnContext.getConversationReference(context.activity) };
}

/** Chat messages here name a profile: sent as plain text so no channel renders markdown in them. */
async function say(dc: DialogContext, text: string): Promise<void> {
  await dc.context.sendActivity(plainMessage(text));
}
