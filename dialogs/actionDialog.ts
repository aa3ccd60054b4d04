import { CardFactory, MessageFactory, type Activity } from 'botbuilder';
import { ComponentDialog, WaterfallDialog, type WaterfallStepContext } from 'botbuilder-dialogs';
import {
  actionKey,
  checkActionParams,
  isActionEnabled,
  type ActionDeclaration,
  type ActionOutcome,
  type Profile,
} from '../profiles';
import { emptyResultText, resultCard } from './actionCards';
import {
  declinedAfterConsentMessage,
  disabledMessage,
  failureMessage,
  invalidParamsMessage,
} from './actionMessages';
import { sayingOf } from './actionMenu';
import {
  AuthorizationDialog,
  type AuthorizationDialogOptions,
  type AuthorizationDialogServices,
  type AuthorizationResult,
} from './authorizationDialog';
import { inertText, plainMessage } from './inertText';
import { withConfirmation } from './signinConfirmation';
import { turnProfile } from './turnProfiles';

export interface ActionDialogOptions {
  profileId: string;
  /** The action's key, `deals.list-mine`. */
  action: string;
  /** As the user gave them (text from a phrase, key=value pairs or a card's inputs); checked here. */
  params: Record<string, string | number | boolean>;
  /** A named connection (`work`); absent: the user's default one. */
  connectionName?: string;
}

/**
 * Scopes on demand (issue 11 point 5): AuthorizationDialog signs in for the same connection asking for
 * these scopes too, and its result names those the user did not allow. Typed here so the option is
 * passed whatever the version of AuthorizationDialogOptions at hand.
 */
type ScopesOptions = AuthorizationDialogOptions & { additionalScopes?: string[] };
type ScopesResult = AuthorizationResult & { declinedScopes?: string[] };
type Authorized = Extract<AuthorizationResult, { status: 'authorized' }>;

/**
 * Runs one of a profile's declared actions from chat (issue 11 point 4), for every profile alike: the
 * request is checked first (action declared and turned on, parameters valid) so a bad one never sends a
 * sign-in card; then the AuthorizationDialog gets a token (the user's sign-in, or the organisation's
 * connection of a pre-authorized profile), `engine.runAction` runs the action with it, and the result
 * comes back as an Adaptive Card (actionCards.ts) or a plain sentence. When the connection lacks a scope
 * the action needs, the user is asked to consent to the missing scopes only, and the action is run once
 * more with the new token.
 *
 * After a sign-in, "You're connected to …" comes in the same message as the answer (the result card's
 * text, or the first sentence of the answer's text): AuthorizationDialog returns it (`returnConfirmation`)
 * instead of sending it, so a resumed request is one message, not two (issue 12).
 */
export class ActionDialog extends ComponentDialog {
  static readonly id = 'action';

  constructor(private readonly services: AuthorizationDialogServices) {
    super(ActionDialog.id);
    this.addDialog(new AuthorizationDialog(services));
    this.addDialog(
      new WaterfallDialog('action-steps', [
        this.authorize.bind(this),
        this.run.bind(this),
        this.replay.bind(this),
      ]),
    );
    this.initialDialogId = 'action-steps';
  }

  private async authorize(step: WaterfallStepContext) {
    const request = step.options as ActionDialogOptions;
    const found = await this.find(step, request);
    if (!found) return step.endDialog();
    const { profile, action } = found;
    const context = { profileName: profile.displayName, title: action.title };
    if (!isActionEnabled(action, profile.actionSettings)) {
      await step.context.sendActivity(plainMessage(disabledMessage(context)));
      return step.endDialog();
    }
    const params = checkActionParams(action, request.params);
    if (!params.ok) {
      const example = action.phrases.length > 0 ? sayingOf(profile, viewFor(action), false) : undefined;
      await step.context.sendActivity(
        plainMessage(invalidParamsMessage(context, params.issues, action.params, example)),
      );
      return step.endDialog();
    }
    return step.beginDialog(AuthorizationDialog.id, authorizationOptions(request));
  }

  private async run(step: WaterfallStepContext) {
    const authorization = step.result as AuthorizationResult;
    if (authorization.status !== 'authorized') return step.endDialog();
    const request = step.options as ActionDialogOptions;
    const found = await this.find(step, request, authorization.confirmation);
    if (!found) return step.endDialog();
    const outcome = await this.runWith(step, found.profile, request, authorization);
    if (!outcome.ok && outcome.code === 'missing-scopes' && (outcome.missingScopes ?? []).length > 0) {
      // The user must hear the sign-in worked before a card asks for more: here it goes alone.
      if (authorization.confirmation) {
        await step.context.sendActivity(plainMessage(authorization.confirmation));
      }
      // Ask for the missing scopes only; AuthorizationDialog knows how (and what an organisation needs).
      const options: ScopesOptions = {
        ...authorizationOptions(request),
        additionalScopes: outcome.missingScopes ?? [],
      };
      return step.beginDialog(AuthorizationDialog.id, options);
    }
    await this.answer(step, found.profile, found.action, outcome, authorization.confirmation);
    return step.endDialog();
  }

  /** After the consent for missing scopes: once more with the new token, unless the user declined. */
  private async replay(step: WaterfallStepContext) {
    const authorization = step.result as ScopesResult;
    if (authorization.status !== 'authorized') return step.endDialog();
    const { confirmation } = authorization;
    const request = step.options as ActionDialogOptions;
    const found = await this.find(step, request, confirmation);
    if (!found) return step.endDialog();
    const declined = authorization.declinedScopes ?? [];
    if (declined.length > 0) {
      await step.context.sendActivity(
        withConfirmation(
          confirmation,
          plainMessage(declinedAfterConsentMessage({ title: found.action.title }, declined)),
        ),
      );
      return step.endDialog();
    }
    const outcome = await this.runWith(step, found.profile, request, authorization);
    await this.answer(step, found.profile, found.action, outcome, confirmation);
    return step.endDialog();
  }

  /**
   * The profile and action, read afresh each turn (the admin may change them while a sign-in waits);
   * within one turn, the profile the turn already resolved. When they are gone, the sign-in's
   * confirmation comes with the message that says so.
   */
  private async find(
    step: WaterfallStepContext,
    request: ActionDialogOptions,
    confirmation?: string,
  ): Promise<{ profile: Profile; action: ActionDeclaration } | undefined> {
    const profile = await turnProfile(this.services.engine, step.context, request.profileId);
    if (!profile) {
      await step.context.sendActivity(
        withConfirmation(
          confirmation,
          plainMessage(`There is no integration called "${inertText(request.profileId, 64)}" configured.`),
        ),
      );
      return undefined;
    }
    const action = profile.actions.find((candidate) => actionKey(candidate) === request.action);
    if (!action) {
      await step.context.sendActivity(
        withConfirmation(
          confirmation,
          plainMessage(
            `${inertText(profile.displayName)} has no action "${inertText(request.action, 81)}". Say "${profile.id} actions" to see what it can do.`,
          ),
        ),
      );
      return undefined;
    }
    return { profile, action };
  }

  private async runWith(
    step: WaterfallStepContext,
    profile: Profile,
    request: ActionDialogOptions,
    authorization: Authorized,
  ): Promise<ActionOutcome> {
    const { engine } = this.services;
    const outcome = await engine.runAction(profile, authorization.subject, request.action, request.params, {
      token: authorization.token,
      ...(request.connectionName !== undefined ? { connection: request.connectionName } : {}),
    });
    if (authorization.subject.kind === 'organization') {
      // The organisation's token used for a chat user: recorded as an admin's execute call is (who,
      // which action, how it ended; never its parameters or results).
      const { channelId, from } = step.context.activity;
      await engine.audit({
        actor: `user:${channelId}:${from?.id ?? 'unknown'}`,
        action: 'action.executed',
        target: `profile:${profile.id}`,
        details: {
          connection: 'org',
          action: request.action,
          outcome: outcome.ok ? 'ok' : outcome.code,
          via: 'chat',
        },
      });
    }
    return outcome;
  }

  private async answer(
    step: WaterfallStepContext,
    profile: Profile,
    action: ActionDeclaration,
    outcome: ActionOutcome,
    confirmation: string | undefined,
  ): Promise<void> {
    const names = { profileName: profile.displayName, title: action.title };
    const send = (answer: Partial<Activity>) =>
      step.context.sendActivity(withConfirmation(confirmation, answer));
    if (!outcome.ok) {
      const whose = profile.authorization === 'pre-authorized' ? 'organisation' : 'user';
      await send(plainMessage(failureMessage(outcome, { ...names, whose })));
      return;
    }
    if (outcome.items.length === 0) {
      await send(plainMessage(emptyResultText(names)));
      return;
    }
    // The card holds the same content as plain `fallbackText` for channels without Adaptive Cards; no
    // copy of it as message text beside it, or Web Chat shows everything twice. After a sign-in the
    // message text is the confirmation ("You're connected to …"), shown above the card.
    const card = resultCard({
      ...names,
      // The words the declaration gives API codes (stage ids) travel with the fields to the card.
      fields: outcome.fields.map((field, index) => {
        const labels = action.results.fields[index]?.labels;
        return labels ? { ...field, labels } : field;
      }),
      items: outcome.items,
      ...(outcome.total !== undefined ? { total: outcome.total } : {}),
    });
    await send(MessageFactory.attachment(CardFactory.adaptiveCard(card)));
  }
}

/** The confirmation of a sign-in comes back in the result, to go with the answer (`withConfirmation`). */
function authorizationOptions(request: ActionDialogOptions): AuthorizationDialogOptions {
  return {
    profileId: request.profileId,
    returnConfirmation: true,
    ...(request.connectionName !== undefined ? { connectionName: request.connectionName } : {}),
  };
}

function viewFor(action: ActionDeclaration): { phrases: string[]; entity: string; action: string } {
  return { phrases: action.phrases, entity: action.entity, action: action.action };
}
