/**
 * The dialogs' entry for bots that embed the engine (`authprofiles/dialogs`): the AuthorizationDialog,
 * what it needs, and the event that resumes it; the ActionDialog that runs a profile's declared actions
 * (issue 11) and renders their results and menus as Adaptive Cards. Never imports bot/ (the service's
 * HTTP surfaces).
 */
import type { AuthorizationEngine } from '../profiles';
import type { AuthorizationDialogServices } from './authorizationDialog';

export {
  AuthorizationDialog,
  type AuthorizationDialogOptions,
  type AuthorizationDialogServices,
  type AuthorizationResult,
} from './authorizationDialog';
export { withConfirmation } from './signinConfirmation';
export { ActionDialog, type ActionDialogOptions } from './actionDialog';
export { resultCard, resultText, emptyResultText, type AdaptiveCard, type CardResult } from './actionCards';
export { actionMenuCard } from './actionMenu';
export {
  parseActionCommand,
  parseCardSubmit,
  type ActionCommand,
  type ProfileActions,
} from './actionCommands';
export { resumeSignin, signinEventOf, type ProactiveAdapter } from './signinResume';
export { SIGNIN_EVENT, userSubject, type DialogServices, type SigninEventValue } from './dialogServices';

export interface AuthorizationDialogSettings {
  /**
   * Channels where a sign-in completes without the verification code (e.g. a channel whose users cannot
   * forward links). Empty by default: the code is asked everywhere (SECURITY.md #9).
   */
  verificationOffChannels?: readonly string[];
  /** How long the dialog waits for the user to sign in; 10 minutes by default. */
  signinTimeoutMs?: number;
  clock?: () => number;
}

/** What AuthorizationDialog needs, built from an engine with safe defaults. */
export function authorizationDialogServices(
  engine: AuthorizationEngine,
  settings: AuthorizationDialogSettings = {},
): AuthorizationDialogServices {
  const off = new Set((settings.verificationOffChannels ?? []).map((channel) => channel.toLowerCase()));
  const signinTimeoutMs = settings.signinTimeoutMs ?? 10 * 60_000;
  if (!Number.isFinite(signinTimeoutMs) || signinTimeoutMs <= 0) {
    throw new Error(`signinTimeoutMs must be a positive number of milliseconds, got ${signinTimeoutMs}`);
  }
  return {
    engine,
    requiresVerification: (channelId) => !off.has(channelId.toLowerCase()),
    signinTimeoutMs,
    clock: settings.clock ?? Date.now,
  };
}
