// Over 400 lines on purpose: one dialog's whole wait (begin, card, resume by event, code, cancel, expiry,
// stored outcome, scopes on demand) is one state machine (docs/signin-states.md); its types are apart.
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
  type Subject,
  type TokenResult,
  accessRefusedMessage,
  additionalScopesMessage,
  isAuthProfilesError,
  signinFailedMessage,
  signinOutcomeMessage,
  tokenUnavailableMessage,
  verificationMessage,
  MAX_ADDITIONAL_SCOPES,
} from '../profiles';
import { SIGNIN_EVENT, userSubject, type SigninEventValue } from './dialogServices';
import { inertText, plainMessage } from './inertText';
import { isSharedConversation, sendSigninPrivately } from './privateSignin';
import { requesterOf } from './requester';
import {
  authorized,
  named,
  type AuthorizationDialogOptions,
  type AuthorizationDialogServices,
  type WaitState,
} from './authorizationTypes';
import { signinCard } from './signinCard';
import { turnProfile } from './turnProfiles';

export type {
  AuthorizationDialogOptions,
  AuthorizationDialogServices,
  AuthorizationResult,
} from './authorizationTypes';

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
    const returnConfirmation = options.returnConfirmation;
    if (returnConfirmation !== undefined && typeof returnConfirmation !== 'boolean') {
      throw new Error('AuthorizationDialog option returnConfirmation must be true or false');
    }
    // Kept with the wait: the resume that finishes it is a later turn, which has no options.
    if (returnConfirmation) Object.assign(dc.activeDialog?.state ?? {}, { returnConfirmation });
    const { engine } = this.services;
    const profile = await turnProfile(engine, dc.context, profileId);
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
    const additional = [...new Set(options?.additionalScopes ?? [])];
    if (additional.length > 0) return this.beginForScopes(dc, profile, subject, token, additional, options);
    if (token.ok) return dc.endDialog(authorized(profile, subject, token));
    if (profile.authorization === 'pre-authorized' || token.reason === 'provider-unavailable') {
      // Issue 4 point 5: users of a broken organisation connection are told an admin must act.
      const whose = profile.authorization === 'pre-authorized' ? 'organisation' : 'user';
      await say(dc, tokenUnavailableMessage(inertText(profile.displayName), token.reason, whose));
      return dc.endDialog({ status: 'unavailable', profileId });
    }
    // No name given: sign in again for the default connection, which may be a named one the user chose
    // (getToken just read it and names it).
    const connectionName = options?.connectionName ?? token.connectionName;
    return this.sendSignin(dc, profile, token.reason === 'needs-reauthorization', connectionName);
  }

  /**
   * Scopes on demand: a token that already has every scope asked for is used as it is; otherwise a
   * sign-in for the same connection asks for them (the engine checks each is declared, SECURITY.md #64).
   */
  private async beginForScopes(
    dc: DialogContext,
    profile: Profile,
    subject: Subject,
    token: TokenResult,
    additional: string[],
    options: AuthorizationDialogOptions | undefined,
  ): Promise<DialogTurnResult> {
    const { engine } = this.services;
    const name = inertText(profile.displayName);
    const lacking = token.ok ? additional.filter((scope) => !token.scopes.includes(scope)) : additional;
    if (token.ok && lacking.length === 0) return dc.endDialog(authorized(profile, subject, token));
    const declared = new Set(engine.declaredScopes(profile));
    if (additional.length > MAX_ADDITIONAL_SCOPES || additional.some((scope) => !declared.has(scope))) {
      await say(dc, additionalScopesMessage(name, [], 'not-allowed'));
      return dc.endDialog({ status: 'unavailable', profileId: profile.id });
    }
    if (profile.authorization === 'pre-authorized') {
      // Nobody in the chat can consent for the organisation: an admin connects it again.
      await say(
        dc,
        additionalScopesMessage(
          name,
          lacking.map((scope) => inertText(scope)),
          'organisation',
        ),
      );
      return dc.endDialog({ status: 'unavailable', profileId: profile.id });
    }
    if (!token.ok && token.reason === 'provider-unavailable') {
      await say(dc, tokenUnavailableMessage(name, token.reason, 'user'));
      return dc.endDialog({ status: 'unavailable', profileId: profile.id });
    }
    const connectionName =
      options?.connectionName ?? (await engine.connectionOf(profile, subject))?.name ?? undefined;
    return this.sendSignin(dc, profile, false, connectionName, { additional, lacking });
  }

  private async sendSignin(
    dc: DialogContext,
    profile: Profile,
    renewal: boolean,
    connectionName: string | undefined,
    scopes?: { additional: string[]; lacking: string[] },
  ): Promise<DialogTurnResult> {
    const { engine, signinTimeoutMs } = this.services;
    const activity = dc.context.activity;
    let created;
    try {
      created = await engine.createAuthorizationRequest({
        profile,
        subject: userSubject(dc.context),
        ...(connectionName === undefined ? {} : { connectionName }),
        createdBy: `user:${activity.channelId}:${activity.from.id}`,
        requireVerification: this.services.requiresVerification(activity.channelId),
        context: { conversation: conversationReferenceOf(dc.context) },
        ...(scopes ? { additionalScopes: scopes.additional } : {}),
      });
    } catch (error) {
      // The profile changed since the wait began (an action turned off): its scopes are no longer declared.
      if (!isAuthProfilesError(error, 'invalid-scopes')) throw error;
      await say(dc, additionalScopesMessage(inertText(profile.displayName), [], 'not-allowed'));
      return dc.endDialog({ status: 'unavailable', profileId: profile.id });
    }
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
    if (scopes) state.additionalScopes = scopes.additional;
    Object.assign(dc.activeDialog?.state ?? {}, state);
    const card = signinCard({
      channelId: activity.channelId,
      profileName: profile.displayName,
      startUrl: created.startUrl,
      minutes: Math.max(1, Math.round((expiresAt - this.services.clock()) / 60_000)),
      renewal,
      linkButton: shared,
      ...(scopes ? { newPermissions: scopes.lacking } : {}),
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
    const profile = await turnProfile(this.services.engine, dc.context, state.profileId);
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
          return this.sendSignin(
            dc,
            profile,
            false,
            state.connectionName,
            state.additionalScopes && { additional: state.additionalScopes, lacking: state.additionalScopes },
          );
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
    const name = inertText(profile.displayName);
    const confirmation = [signinOutcomeMessage(name, 'connected')];
    // Scopes on demand: what the provider did not grant of what was asked (RFC 6749 §5.1, the token's scope).
    const declined = (state.additionalScopes ?? []).filter((scope) => !token.scopes.includes(scope));
    if (declined.length > 0) {
      confirmation.push(
        additionalScopesMessage(
          name,
          declined.map((scope) => inertText(scope)),
          'declined',
        ),
      );
    }
    const result = {
      ...authorized(profile, subject, token),
      ...(declined.length > 0 ? { declinedScopes: declined } : {}),
    };
    // The parent that asked sends the confirmation with its own answer, in one message (issue 12).
    if (state.returnConfirmation) return dc.endDialog({ ...result, confirmation: confirmation.join(' ') });
    for (const text of confirmation) await say(dc, text);
    return dc.endDialog(result);
  }
}

/** Stored with the request so the callback, on any instance, can resume this conversation. */
function conversationReferenceOf(context: TurnContext): Record<string, unknown> {
  return { ...TurnContext.getConversationReference(context.activity) };
}

/** Chat messages here name a profile: sent as plain text so no channel renders markdown in them. */
async function say(dc: DialogContext, text: string): Promise<void> {
  await dc.context.sendActivity(plainMessage(text));
}
