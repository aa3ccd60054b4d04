// "hubspot actions": a profile's enabled actions as an Adaptive Card, one button per action. An action
// with required parameters opens a small card (Action.ShowCard) with a text input per parameter and its
// own submit button, so each button validates only its own inputs. A submit comes back as a message
// whose `value` is `{ "authprofiles": { "profile": …, "action": … }, "<action key>.<param>": "…" }`
// (Web Chat and Teams merge the inputs into the button's data); dialogs/actionCommands.ts reads it back
// and the action runs like a typed one: the data is the user's input, checked as such (SECURITY.md #45).
import type { ActionView, ParamDeclaration } from '../profiles';
import { richText, type AdaptiveCard, type CardElement } from './actionCards';
import { inertText } from './inertText';

/** The key of a menu button's data; anything else in a submitted value is an input. */
export const SUBMIT_KEY = 'authprofiles';
/** Buttons on one menu card; past this the card says how many more there are. */
export const MAX_MENU_ACTIONS = 20;

export interface MenuProfile {
  id: string;
  displayName: string;
}

/** The id of the input for one parameter of one action: unique on the card, read back by its prefix. */
export function inputId(actionKey: string, param: string): string {
  return `${actionKey}.${param}`;
}

/** The parameters a user must give (required, no default), in declaration order. */
export function requiredParams(action: Pick<ActionView, 'params'>): [string, ParamDeclaration][] {
  return Object.entries(action.params).filter(([, param]) => param.required && param.default === undefined);
}

/**
 * How to ask for an action in words: its first phrase ("find contact <query>"), with the profile's id in
 * front when `prefixed` ("hubspot: find contact <query>"), or else its key form ("hubspot: deals list").
 */
export function sayingOf(
  profile: MenuProfile,
  action: Pick<ActionView, 'phrases' | 'entity' | 'action'>,
  prefixed = true,
): string {
  const phrase = action.phrases[0];
  if (phrase === undefined) return `${profile.id}: ${action.entity} ${action.action}`;
  const words = phrase.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/, '<$1>');
  return prefixed ? `${profile.id}: ${words}` : words;
}

/** The menu of `actions` (the enabled ones; the caller filters). */
export function actionMenuCard(profile: MenuProfile, actions: readonly ActionView[]): AdaptiveCard {
  const name = inertText(profile.displayName);
  const shown = actions.slice(0, MAX_MENU_ACTIONS);
  const body: CardElement[] = [
    richText([{ type: 'TextRun', text: `${name}: what I can do`, weight: 'Bolder', size: 'Medium' }]),
  ];
  if (shown.length === 0) {
    body.push({ type: 'TextBlock', text: 'No actions are turned on.', wrap: true, isSubtle: true });
  }
  for (const action of shown) {
    const data = { [SUBMIT_KEY]: { profile: profile.id, action: action.key } };
    const title = inertText(action.title, 60);
    const required = requiredParams(action);
    const button =
      required.length === 0
        ? { type: 'Action.Submit', title, data }
        : {
            type: 'Action.ShowCard',
            title,
            card: {
              type: 'AdaptiveCard',
              body: required.map(([param, declaration]) => ({
                type: 'Input.Text',
                id: inputId(action.key, param),
                label: inertText(declaration.description ?? param, 80),
                placeholder: inertText(param, 40),
                maxLength: declaration.maxLength,
                isRequired: true,
                errorMessage: `Required`,
              })),
              actions: [{ type: 'Action.Submit', title: 'Run', data }],
            },
          };
    body.push({ type: 'ActionSet', spacing: 'Small', actions: [button] });
    if (action.description) {
      body.push({
        ...richText([
          { type: 'TextRun', text: inertText(action.description), isSubtle: true, size: 'Small' },
        ]),
        spacing: 'None',
      });
    }
  }
  if (actions.length > shown.length) {
    body.push({
      type: 'TextBlock',
      text: `${actions.length - shown.length} more not shown.`,
      wrap: true,
      isSubtle: true,
      size: 'Small',
    });
  }
  const sayings = shown.map((action) => `• ${inertText(sayingOf(profile, action))}`);
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.4',
    fallbackText:
      shown.length === 0
        ? `${name} has no actions turned on.`
        : [`What I can do with ${name}: say one of`, ...sayings].join('\n'),
    body,
    msteams: { width: 'Full' },
  };
}
