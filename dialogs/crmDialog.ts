import { tokenUnavailableMessage } from '../profiles';
import { CardFactory, MessageFactory } from 'botbuilder';
import { ComponentDialog, WaterfallDialog, type WaterfallStepContext } from 'botbuilder-dialogs';
import { AuthorizationDialog, type AuthorizationResult } from './authorizationDialog';
import { crmCard, summaryText, type CrmCardKind } from './crm/crmCards';
import { HubSpotClient, isCrmError, type CrmPage } from './crm/hubspotClient';
import type { DialogServices } from './dialogServices';
import { inertText, plainMessage } from './inertText';

export type CrmAction =
  { action: 'deals' | 'companies' | 'tickets' } | { action: 'find-contact'; query: string };

/**
 * The HubSpot commands: get a token through the authorization dialog (which may wait for a
 * sign-in across turns), then call the CRM with a client that refreshes once on 401.
 */
export class CrmDialog extends ComponentDialog {
  static readonly id = 'crm';

  constructor(private readonly services: DialogServices) {
    super(CrmDialog.id);
    this.addDialog(new AuthorizationDialog(services));
    this.addDialog(new WaterfallDialog('crm-steps', [this.authorize.bind(this), this.answer.bind(this)]));
    this.initialDialogId = 'crm-steps';
  }

  private async authorize(step: WaterfallStepContext) {
    return step.beginDialog(AuthorizationDialog.id, { profileId: this.services.crmProfileId });
  }

  private async answer(step: WaterfallStepContext) {
    const authorization = step.result as AuthorizationResult;
    if (authorization.status !== 'authorized') return step.endDialog();
    const request = step.options as CrmAction;
    const { engine } = this.services;
    const profile = await engine.getProfile(authorization.profileId);
    // Rendered and checked against the address rule (SECURITY.md #41); requests go through the engine's
    // outbound client, which refuses internal DNS answers in production (#42).
    const baseUrl = engine.profileUrl(profile, 'apiBaseUrl');
    if (!baseUrl) {
      await step.context.sendActivity(
        plainMessage(`${inertText(profile.displayName)} has no API base URL configured.`),
      );
      return step.endDialog();
    }
    let first = true;
    const client = new HubSpotClient({
      baseUrl,
      fetch: engine.outboundFetch,
      tokens: {
        // The token from the authorization dialog first; later calls read (and refresh) it afresh.
        get: async () => {
          if (first) {
            first = false;
            return {
              ok: true,
              accessToken: authorization.accessToken,
              tokenType: 'bearer',
              expiresAt: 0,
              scopes: [],
              connectionId: '',
            };
          }
          return engine.getToken(profile, authorization.subject);
        },
        refreshAfterRejection: (token) =>
          engine.getToken(profile, authorization.subject, { rejectedAccessToken: token }),
      },
    });
    let kind: CrmCardKind;
    let page: CrmPage;
    let title: string | undefined;
    try {
      switch (request.action) {
        case 'deals':
          kind = 'deals';
          page = await client.myDeals();
          break;
        case 'companies':
          kind = 'companies';
          page = await client.companies();
          break;
        case 'tickets':
          kind = 'tickets';
          page = await client.myTickets();
          break;
        case 'find-contact':
          kind = 'contacts';
          page = await client.findContacts(request.query);
          title = `Contacts matching "${request.query}"`;
          break;
      }
    } catch (error) {
      await step.context.sendActivity(plainMessage(crmErrorMessage(inertText(profile.displayName), error)));
      return step.endDialog();
    }
    const input = { results: page.results, ...(page.total !== undefined ? { total: page.total } : {}) };
    const options = title ? { title } : {};
    if (page.results.length === 0) {
      await step.context.sendActivity(plainMessage(summaryText(kind, input, options)));
    } else {
      // The card holds the same content as plain `fallbackText` for channels without Adaptive
      // Cards; no message text beside it, or Web Chat shows everything twice.
      await step.context.sendActivity(
        MessageFactory.attachment(CardFactory.adaptiveCard(crmCard(kind, input, options))),
      );
    }
    return step.endDialog();
  }
}

/** `name` is the profile's display name, already through `inertText`. */
function crmErrorMessage(name: string, error: unknown): string {
  if (!isCrmError(error)) throw error;
  switch (error.code) {
    case 'needs-reauthorization':
    case 'unauthorized':
      return `${name} no longer accepts my access. Ask again and I'll send you a new sign-in link.`;
    case 'forbidden':
      return `${name} refused: the connection lacks a permission for that. An admin may need to add a scope to the profile.`;
    case 'rate-limited':
      return `${name} is rate-limiting requests right now. Try again in a few seconds.`;
    case 'not-connected':
      return tokenUnavailableMessage(name, 'not-connected', 'user');
    default:
      return `${name} is not answering properly right now. Please try again in a minute.`;
  }
}
