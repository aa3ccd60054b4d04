import type { ErrorCode } from './errors';
import type { CallbackOutcomeKind } from './signinStates';
import type { TokenUnavailableReason } from './tokens';

/**
 * What a person is told, per error code and per sign-in state (docs/signin-states.md): the chat
 * messages of dialogs/, the titles and sentences of the sign-in pages (bot/web/oauthRoutes.ts) and the
 * admin page's notices. One catalogue, so the chat and the browser tell the same story and every code
 * has one wording. Each message says what the person can do: try again, wait, or ask an administrator
 * when trying again cannot help.
 *
 * `name` is a profile's display name, already made inert by the caller (SECURITY.md #45). Nothing here
 * holds a token, a code, a secret or a refused address (SECURITY.md #42).
 */

/** Failures a sign-in can end with: the engine's codes, and the user's cancel. */
export type SigninFailureCode = ErrorCode | 'cancelled';

interface Wording {
  /** Title of the sign-in page that reports it (default "Sign-in failed"). */
  title?: string;
  /** The page's sentence, where the engine's own message must not be shown. */
  page?: string;
  /** The chat message after a sign-in failed with it. */
  chat?: (name: string) => string;
}

const ASK_ADMIN = 'Please ask an administrator.';

const WORDING: Partial<Record<SigninFailureCode, Wording>> = {
  'authorization-request-expired': { title: 'Sign-in link expired' },
  'authorization-request-used': { title: 'Sign-in already completed' },
  'browser-mismatch': { title: 'Different browser' },
  'consent-denied': { title: 'Access not granted' },
  'provider-error': {
    title: 'The provider reported an error',
    chat: (name) => `Signing in to ${name} failed (${name} reported an error). Please try again.`,
  },
  'provider-unavailable': {
    title: 'The provider is not answering',
    chat: (name) =>
      `Signing in to ${name} failed (${name} could not be reached). Please try again in a minute.`,
  },
  'provider-outcome-unknown': {
    title: 'The provider did not answer',
    chat: (name) =>
      `${name} didn't answer in time, so the sign-in could not finish. Please start again with this new sign-in:`,
  },
  'id-token-invalid': {
    title: 'The sign-in could not be verified',
    chat: (name) =>
      `The sign-in to ${name} could not be verified, so I did not connect it. Ask me again to start over.`,
  },
  'wrong-account': {
    title: 'Wrong account',
    chat: (name) =>
      `That ${name} account is not the one this organisation uses, so I did not connect it. Sign in with the organisation's account and try again.`,
  },
  'invalid-grant': {
    title: 'Sign-in rejected by the provider',
    chat: (name) => `Signing in to ${name} failed (${name} rejected the sign-in). Please try again.`,
  },
  'invalid-token-response': {
    title: 'The provider sent an invalid answer',
    chat: (name) =>
      `Signing in to ${name} failed (${name} sent an answer this service cannot use). Please try again, or ask an administrator if it keeps happening.`,
  },
  'outbound-refused': {
    title: 'Provider not allowed',
    // The refused host and address are for the operator's log, not for whoever holds the browser.
    page: "This service may not connect to the provider's address. An administrator must correct the integration or allow the address.",
    chat: (name) =>
      `Signing in to ${name} failed: this service is not allowed to reach ${name}'s address. ${ASK_ADMIN}`,
  },
  'store-unavailable': {
    title: 'Temporarily unavailable',
    page: 'The service could not save your sign-in just now.',
    chat: (name) =>
      `Signing in to ${name} failed (our storage was unavailable). Please try again in a minute.`,
  },
  'invalid-configuration': {
    chat: (name) => `Signing in to ${name} failed: the integration is not fully set up. ${ASK_ADMIN}`,
  },
  'encryption-key-unknown': {
    chat: (name) =>
      `Signing in to ${name} failed: this service could not read the sign-in it had saved. ${ASK_ADMIN}`,
  },
  'decryption-failed': {
    chat: (name) =>
      `Signing in to ${name} failed: this service could not read the sign-in it had saved. ${ASK_ADMIN}`,
  },
  cancelled: {
    chat: (name) => `The sign-in to ${name} was cancelled. Ask again when you are ready.`,
  },
};

function wordingOf(code: string | undefined): Wording {
  return code !== undefined && Object.hasOwn(WORDING, code) ? (WORDING[code as SigninFailureCode] ?? {}) : {};
}

// ---------------------------------------------------------------------------------------------------
// Chat

/** After a sign-in failed with `code` (stored with the request; profiles/errors.ts). */
export function signinFailedMessage(name: string, code: string | undefined): string {
  return wordingOf(code).chat?.(name) ?? `Signing in to ${name} did not complete. Please try again.`;
}

/** How a sign-in ended, or where it waits (`failed` and `cancelled`: `signinFailedMessage`). */
export function signinOutcomeMessage(
  name: string,
  outcome: 'connected' | 'pending-verification' | 'denied' | 'expired' | 'unusable',
): string {
  switch (outcome) {
    case 'connected':
      return `You're connected to ${name}.`;
    case 'pending-verification':
      return `Almost done: type the 6-digit code shown on the sign-in page here to finish connecting ${name}.`;
    case 'denied':
      return `You did not grant access to ${name}, so I can't do that.`;
    case 'expired':
      return `The sign-in to ${name} expired. Ask again when you are ready.`;
    case 'unusable':
      // The token service's own message may name a record or key id: fine for logs, not for the chat.
      return `I could not use the new connection to ${name}. Please ask again.`;
  }
}

/**
 * Scopes on demand (issue 11 point 5). `scopes` are already inert (made so by the caller, like `name`).
 */
export function additionalScopesMessage(
  name: string,
  scopes: readonly string[],
  outcome: 'declined' | 'organisation' | 'not-allowed',
): string {
  const list = scopes.join(', ');
  switch (outcome) {
    case 'declined':
      // The user's own choice at the provider: signing in again and allowing it is what helps.
      return `You did not allow ${list} at ${name}, so what needs it will not work until you sign in again and allow it.`;
    case 'organisation':
      return `${name} is connected for your organisation without the access this needs (${list}): an admin must connect it again and allow it.`;
    case 'not-allowed':
      return `I can't ask ${name} for that access: ${ASK_ADMIN}`;
  }
}

/** The results of a code typed in the chat: the events of the `pending-verification` state. */
export function verificationMessage(
  name: string,
  result: 'wrong-code' | 'too-many-attempts' | 'expired' | 'nothing-pending' | 'not-yet',
): string {
  switch (result) {
    case 'wrong-code':
      return 'That code does not match. Check the sign-in page and type it again, or type "cancel".';
    case 'too-many-attempts':
      return `Too many wrong codes: I discarded that sign-in to ${name}. Ask again to start over.`;
    case 'expired':
      return `That code expired. Ask again to sign in to ${name}.`;
    case 'nothing-pending':
      return 'There is no sign-in waiting for a code any more. Ask again to start over.';
    case 'not-yet':
      return `Finish signing in to ${name} with the link above first.`;
  }
}

/** Why no token can be had without a sign-in the user could do (SECURITY.md #49, issue 4 point 5). */
export function tokenUnavailableMessage(
  name: string,
  reason: TokenUnavailableReason,
  whose: 'user' | 'organisation',
): string {
  if (reason === 'provider-unavailable')
    return `${name} is not answering right now. Please try again in a minute.`;
  if (whose === 'organisation' && reason === 'needs-reauthorization') {
    return `The organisation's connection to ${name} has stopped working: an admin must reconnect ${name}.`;
  }
  if (whose === 'organisation') {
    return `${name} is not connected for your organisation yet: an admin must connect it first.`;
  }
  return `You are not connected to ${name}.`;
}

// ---------------------------------------------------------------------------------------------------
// The sign-in pages (browser)

export const UNEXPECTED_FAILURE_PAGE = {
  title: 'Something went wrong',
  message: 'The sign-in could not be completed. Ask the bot for a new link.',
} as const;

/** Title of the page that reports `code`. */
export function signinPageTitle(code: string): string {
  return wordingOf(code).title ?? 'Sign-in failed';
}

/** The page's own sentence for `code`, where the engine's message must not be shown; else undefined. */
export function signinPageSentence(code: string): string | undefined {
  return wordingOf(code).page;
}

/** What to do next, after the engine's sentence: nothing once the sign-in completed elsewhere. */
export function signinPageAdvice(code: string): string {
  return code === 'authorization-request-used' ? '' : ' Ask the bot for a new sign-in link.';
}

// ---------------------------------------------------------------------------------------------------
// The admin pages

/** The notice after an organisation authorization came back (`/admin/profiles/{id}?authorization=`). */
export const AUTHORIZATION_NOTICES: Readonly<Record<CallbackOutcomeKind, { text: string; tone: string }>> = {
  connected: { text: 'Connected: the organisation connection is active.', tone: 'ok' },
  'pending-verification': { text: 'The connection was made and waits for verification.', tone: 'warn' },
  denied: { text: 'Access was not granted at the provider; nothing was connected.', tone: 'error' },
  failed: {
    text: 'The authorization failed; nothing was connected. The audit log has the reason.',
    tone: 'error',
  },
};

/**
 * Group chats and Teams channels (issue 10 point 2): the sign-in card went to the user's personal chat;
 * the group only sees this note. `mention` is the `<at>name</at>` text of a Teams mention entity.
 */
export function privateSigninNote(mention: string): string {
  return `${mention}, I've sent you a sign-in link in a private chat.`;
}

/** The personal chat could not be opened: the card is never posted to the group instead. */
export function privateSigninUnavailable(mention: string, name: string): string {
  return `${mention}, I need you to sign in to ${name}, but I couldn't open a private chat with you. Please message me directly and ask again.`;
}

/** A profile's access policy refuses this user (issue 10 point 1). Says who can help, never why in detail. */
export function accessRefusedMessage(name: string): string {
  return `You don't have access to ${name} through this bot. ${ASK_ADMIN}`;
}

/** To a profile's admins in chat when its organisation connection breaks (issue 10 point 7). */
export function organisationBrokenAdminMessage(name: string): string {
  return `The organisation connection to ${name} stopped working (the provider refused its saved authorization). Users cannot reach ${name} until an admin reconnects it.`;
}

/** To the same admins once the organisation connection works again. */
export function organisationRepairedAdminMessage(name: string): string {
  return `The organisation connection to ${name} works again.`;
}
