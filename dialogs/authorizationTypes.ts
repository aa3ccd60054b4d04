import type { Profile, SigninOutcome, SigninState, Subject, TokenResult } from '../profiles';
import type { DialogServices } from './dialogServices';

// The authorization dialog's options, result and stored wait (dialogs/authorizationDialog.ts), apart
// from its turn logic so hosts and other dialogs can import the types alone.

/** The part of DialogServices this dialog uses (a bot that embeds the engine builds only this). */
export type AuthorizationDialogServices = Pick<
  DialogServices,
  'engine' | 'requiresVerification' | 'signinTimeoutMs' | 'clock' | 'botAppId'
>;

export interface AuthorizationDialogOptions {
  profileId: string;
  /** A named connection (`work`, issue 10 point 3); absent: the user's default one. */
  connectionName?: string;
  /**
   * Scopes on demand (issue 11 point 5): scopes an action needs that the connection lacks (an action's
   * `missingScopes`). Unless the connection already has them all, a sign-in for the same profile and
   * connection asks for them, even when its token is valid; the card names them as the new permissions.
   * Each must be declared by the profile or one of its enabled actions (`engine.declaredScopes`), at most
   * 50; anything else ends the dialog `unavailable` without a card.
   */
  additionalScopes?: string[];
  /**
   * Who sends the confirmation of a sign-in that ends connected ("You're connected to …", and which of
   * the `additionalScopes` the user did not allow). Absent or `false`: the dialog sends it, as a dialog
   * used alone must ("connect hubspot"). `true`: the dialog sends nothing on success and the result
   * carries the text as `confirmation`, for a parent that answers at once to send it in the same message
   * as its answer (one activity instead of two: ActionDialog puts it beside the result card). Sign-ins
   * that fail, and everything else the dialog says, are sent by the dialog either way.
   */
  returnConfirmation?: boolean;
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
      /** The scopes the token was granted. */
      scopes: string[];
      /** Of the `additionalScopes` asked for, those the user did not allow (absent: none). */
      declinedScopes?: string[];
      /** The whole token (scopes, connection), for `engine.runAction(…, { token })`; in memory only. */
      token: Extract<TokenResult, { ok: true }>;
      /**
       * With `returnConfirmation`, after a sign-in in this dialog: the confirmation it did not send, one
       * line of plain text (names already inert) for the caller to send with its answer (`withConfirmation`).
       * Absent when the token was usable at once (no sign-in, nothing to confirm).
       */
      confirmation?: string;
    }
  | { status: 'unavailable' | SigninEnd; profileId: string };

/** The sign-in outcomes that end the wait without a token. */
export type SigninEnd = Extract<SigninOutcome, 'denied' | 'failed' | 'expired' | 'cancelled'>;

export interface WaitState {
  profileId: string;
  requestId: string;
  expiresAt: number;
  /** The sign-in's state as this wait last knew it: its link is out, or it waits for the code. */
  state: Extract<SigninState, 'created' | 'pending-verification'>;
  /** The card went to the user's personal chat; the wait (and the code) stays in the group. */
  privateCard?: boolean;
  /** The named connection this sign-in makes (absent: the default one). */
  connectionName?: string;
  /** The additional scopes this sign-in asks for (scopes on demand; not secret). */
  additionalScopes?: string[];
  /** The option of that name: the resume, a later turn without the options, returns the confirmation. */
  returnConfirmation?: boolean;
  /** Written by earlier versions (`signin` | `verify`); read so a wait stored across an upgrade goes on. */
  phase?: 'signin' | 'verify';
}

/** The wait's named connection as an engine option (none: the default connection). */
export function named(state: WaitState): { connection?: string } {
  return state.connectionName === undefined ? {} : { connection: state.connectionName };
}

export function authorized(
  profile: Profile,
  subject: Subject,
  token: Extract<TokenResult, { ok: true }>,
): AuthorizationResult {
  return {
    status: 'authorized',
    profileId: profile.id,
    accessToken: token.accessToken,
    subject,
    scopes: token.scopes,
    token,
  };
}
