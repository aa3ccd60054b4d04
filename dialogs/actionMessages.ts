// What chat says when an action cannot run or fails: one plain sentence per failure code of
// engine.runAction (profiles/actions/actionResults.ts). Built here from fixed wording, the profile's
// name and the action's title (both inert), never from the engine's message or the API's answer, so
// no token, body or provider text reaches the chat (SECURITY.md #32, #45).
import {
  tokenUnavailableMessage,
  type ActionFailure,
  type FieldIssue,
  type ParamDeclaration,
} from '../profiles';
import { inertText } from './inertText';

export interface FailureContext {
  /** The profile's display name. */
  profileName: string;
  /** The action's title. */
  title: string;
  /** Who the connection belongs to: the user, or the organisation (a pre-authorized profile). */
  whose: 'user' | 'organisation';
}

export function failureMessage(failure: ActionFailure, context: FailureContext): string {
  const name = inertText(context.profileName);
  const title = inertText(context.title);
  switch (failure.code) {
    case 'unknown-action':
      return `${name} has no such action.`;
    case 'action-disabled':
      return disabledMessage(context);
    case 'invalid-params':
      return invalidParamsMessage(context, failure.issues ?? []);
    case 'missing-scopes':
      if (failure.declinedScopes && failure.declinedScopes.length > 0)
        return declinedMessage(context, failure.declinedScopes);
      return `${name} has not given me the access "${title}" needs (${scopeList(failure.missingScopes)}).`;
    case 'current-user-unknown':
      return `I could not find you among ${name}'s users (I look you up by the account you signed in with), so I can't tell which records are yours.`;
    case 'no-api-base':
      return `${name} has no API base URL configured.`;
    case 'needs-reauthorization':
    case 'unauthorized':
      return context.whose === 'organisation'
        ? tokenUnavailableMessage(name, 'needs-reauthorization', 'organisation')
        : `${name} no longer accepts my access. Ask again and I'll send you a new sign-in link.`;
    case 'not-connected':
    case 'pending-verification':
    case 'provider-unavailable':
      return tokenUnavailableMessage(name, failure.code, context.whose);
    case 'forbidden':
      return `${name} refused: the connection lacks a permission for that. An admin may need to add a scope to the profile.`;
    case 'not-found':
      return `${name} found nothing for "${title}".`;
    case 'rate-limited': {
      const seconds = Math.max(1, Math.ceil((failure.retryAfterMs ?? 1000) / 1000));
      return `${name} is rate-limiting requests right now. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`;
    }
    case 'bad-request':
      return `${name} did not accept the request for "${title}".`;
    case 'bad-response':
    case 'unavailable':
      return `${name} is not answering properly right now. Please try again in a minute.`;
  }
}

/** Scopes on demand: the user did not allow what the action needs (not the admin's configuration). */
export function declinedMessage(
  context: Pick<FailureContext, 'profileName' | 'title'>,
  declined: readonly string[],
): string {
  return `"${inertText(context.title)}" needs access you did not allow at ${inertText(context.profileName)} (${scopeList(declined)}). Ask again and allow it when you sign in to use it.`;
}

export function disabledMessage(context: Pick<FailureContext, 'profileName' | 'title'>): string {
  return `"${inertText(context.title)}" in ${inertText(context.profileName)} is turned off by your admin.`;
}

/**
 * A required parameter that is missing, by name, with how to give it ('Tell me what to search for:
 * "find contact <query>"'); other problems listed by parameter ("limit must be at most 100").
 */
export function invalidParamsMessage(
  context: Pick<FailureContext, 'title'>,
  issues: readonly FieldIssue[],
  params: Readonly<Record<string, ParamDeclaration>> = {},
  saying?: string,
): string {
  const title = inertText(context.title);
  const missing = issues.find((issue) => issue.message === 'is required');
  if (missing) {
    const name = missing.path.replace(/^params\./, '');
    const description = params[name]?.description;
    const what = description ? `${inertText(name)} (${inertText(description)})` : inertText(name);
    return `Tell me the ${what} for "${title}"${saying ? `: "${inertText(saying)}"` : '.'}`;
  }
  const problems = issues
    .slice(0, 5)
    .map((issue) => `${issue.path.replace(/^params\./, '')} ${issue.message}`)
    .join('; ');
  return `I can't run "${title}": ${inertText(problems || 'the parameters are not valid', 300)}.`;
}

function scopeList(scopes: readonly string[] | undefined): string {
  return (scopes ?? []).map((scope) => inertText(scope, 100)).join(', ');
}
