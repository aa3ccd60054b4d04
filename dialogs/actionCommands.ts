// Which action a chat message asks for (issue 11 point 4): "hubspot: list my deals", "hubspot: deals
// list-mine limit=5", a bare phrase ("show my deals"), "hubspot actions" for the menu, or a menu card's
// submit. Pure functions over the profiles' declared actions, so they can be tested alone; the dialogs
// check the result again (action enabled, parameters valid) before anything is sent.
//
// Bounds: a message longer than MAX_ACTION_MESSAGE is not matched at all; at most MAX_PAIRS key=value
// pairs; a submitted card value with more than MAX_SUBMIT_KEYS members or a member longer than
// MAX_SUBMIT_VALUE is refused. Parameter values are then checked against the action's declared schema
// (types, lengths, enums: profiles/actions/actionParams.ts) by whoever runs it.
import { PROFILE_ID, type ActionView } from '../profiles';
import { inputId, SUBMIT_KEY } from './actionMenu';

export const MAX_ACTION_MESSAGE = 2000;
export const MAX_PAIRS = 20;
export const MAX_SUBMIT_KEYS = 100;
export const MAX_SUBMIT_VALUE = 2000;

/** A profile as the matcher sees it. `usable`: configured and this user may use it (access policy). */
export interface ProfileActions {
  id: string;
  displayName: string;
  usable: boolean;
  actions: readonly ActionView[];
}

export type ActionCommand =
  /** Run `action` (`deals.list-mine`) of `profile` with these raw (still unchecked) parameters. */
  | { kind: 'run-action'; profile: string; action: string; params: Record<string, string> }
  /** "hubspot actions", "hubspot:", "hubspot: help": the menu card. */
  | { kind: 'action-menu'; profile: string }
  /** "hubspot: something it does not know". */
  | { kind: 'no-such-action'; profile: string; text: string }
  /** A bare phrase several usable profiles know, none of them the preferred one. */
  | { kind: 'ambiguous-action'; profiles: string[]; text: string }
  /** A card submit whose data is not a menu button's. */
  | { kind: 'bad-submit' };

const SPACE = 0x20;
const MENU_WORDS = new Set(['', 'help', '?', 'actions', 'menu', 'commands', 'what can you do']);
const ACTION_NAME = /^[a-z][a-z0-9-]{0,39}$/;
const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
const SLOT = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}$/;
// key=value or key="a value with spaces", separated by spaces.
const PAIR = /^([A-Za-z][A-Za-z0-9_]{0,39})=(?:"([^"]*)"|(\S*))(?:\s+|$)/;

/**
 * The action a message asks for, or null when it names none. `text` is the message with the bot's
 * mention removed and whitespace collapsed (commands.ts `normalise`); `preferred` is the profile bare
 * phrases use when several know them (CRM_PROFILE).
 */
export function parseActionCommand(
  text: string,
  profiles: readonly ProfileActions[],
  preferred: string | undefined,
): ActionCommand | null {
  if (text.length === 0 || text.length > MAX_ACTION_MESSAGE) return null;
  const addressed = addressedProfile(text, profiles);
  if (addressed) return forProfile(addressed.profile, addressed.rest);
  return bare(text, profiles, preferred);
}

/** "hubspot: …" or "HubSpot: …" (id or display name, any case; the longest name wins), or "hubspot actions". */
function addressedProfile(
  text: string,
  profiles: readonly ProfileActions[],
): { profile: ProfileActions; rest: string } | null {
  const lower = text.toLowerCase();
  let best: { profile: ProfileActions; rest: string; length: number } | null = null;
  for (const profile of profiles) {
    for (const name of new Set([profile.id.toLowerCase(), profile.displayName.trim().toLowerCase()])) {
      if (name === '' || (best && best.length >= name.length)) continue;
      if (lower.startsWith(`${name}:`)) {
        best = { profile, rest: text.slice(name.length + 1).trim(), length: name.length };
      } else if (lower === `${name} actions` || lower === `${name} help` || lower === `${name} menu`) {
        best = { profile, rest: '', length: name.length };
      }
    }
  }
  return best;
}

function forProfile(profile: ProfileActions, rest: string): ActionCommand {
  if (MENU_WORDS.has(rest.toLowerCase())) return { kind: 'action-menu', profile: profile.id };
  const phrase = bestPhrase(rest, profile.actions);
  if (phrase) return { kind: 'run-action', profile: profile.id, ...phrase.request };
  const keyed = keyForm(rest, profile.actions);
  if (keyed) return { kind: 'run-action', profile: profile.id, ...keyed };
  return { kind: 'no-such-action', profile: profile.id, text: rest };
}

/** A phrase without a profile: the best match among usable profiles, then the preferred or the only one. */
function bare(
  text: string,
  profiles: readonly ProfileActions[],
  preferred: string | undefined,
): ActionCommand | null {
  const matches = profiles
    .map((profile) => ({ profile, phrase: bestPhrase(text, profile.actions) }))
    .filter((match): match is { profile: ProfileActions; phrase: PhraseMatch } => match.phrase !== null);
  if (matches.length === 0) return null;
  const usable = matches.filter((match) => match.profile.usable);
  // No usable profile knows it: the preferred (or only) one answers, so its dialog can say why it is unusable.
  const pool = usable.length > 0 ? usable : matches;
  const top = Math.max(...pool.map((match) => match.phrase.score));
  const best = pool.filter((match) => match.phrase.score === top);
  const chosen =
    best.find((match) => match.profile.id === preferred) ?? (best.length === 1 ? best[0] : undefined);
  if (chosen) return { kind: 'run-action', profile: chosen.profile.id, ...chosen.phrase.request };
  if (usable.length === 0) return null;
  return { kind: 'ambiguous-action', profiles: best.map((match) => match.profile.id), text };
}

interface PhraseMatch {
  /** Length of the phrase's literal part; enabled actions score above disabled ones. */
  score: number;
  request: { action: string; params: Record<string, string> };
}

/**
 * The phrase with the longest literal part that the text matches, case-insensitively: the literal alone,
 * or the literal, a space and the rest for a phrase ending in `{{param}}` (the rest is the parameter).
 * "find contact by email x@y" matches "find contact by email {{email}}" before "find contact {{query}}".
 * A phrase matched without its parameter's text still matches, so the dialog can ask for it.
 */
function bestPhrase(text: string, actions: readonly ActionView[]): PhraseMatch | null {
  let best: PhraseMatch | null = null;
  const lower = text.toLowerCase();
  for (const action of actions) {
    for (const phrase of action.phrases) {
      const { slot, literal, literalLower } = partsOf(phrase);
      // A phrase that is only a placeholder would swallow every message (codes, "cancel"): never matched.
      if (literal === '') continue;
      let params: Record<string, string> | null = null;
      if (lower === literalLower) params = {};
      else if (
        slot !== undefined &&
        lower.charCodeAt(literalLower.length) === SPACE &&
        lower.startsWith(literalLower)
      ) {
        const value = text.slice(literal.length + 1).trim();
        params = value === '' ? {} : { [slot]: value };
      }
      if (params === null) continue;
      // Enabled actions win over disabled ones; among those, the longest literal.
      const score = literal.length + (action.enabled ? 10_000 : 0);
      if (!best || score > best.score) best = { score, request: { action: action.key, params } };
    }
  }
  return best;
}

/**
 * Each message is matched against every phrase of every action of every profile, and taking a phrase
 * apart was most of that work (issue 12): the parts are kept per phrase text. A plain map, emptied
 * when it reaches its bound (profiles and their phrases can be edited without end): it is read about a
 * hundred times per message, where an LRU's bookkeeping cost more than the lookup.
 */
const MAX_KEPT_PHRASES = 5_000;
const phraseParts = new Map<string, { slot: string | undefined; literal: string; literalLower: string }>();

function partsOf(phrase: string): { slot: string | undefined; literal: string; literalLower: string } {
  let parts = phraseParts.get(phrase);
  if (!parts) {
    const slot = SLOT.exec(phrase)?.[1];
    const literal = normalisePhrase(slot === undefined ? phrase : phrase.replace(SLOT, ''));
    parts = { slot, literal, literalLower: literal.toLowerCase() };
    if (phraseParts.size >= MAX_KEPT_PHRASES) phraseParts.clear();
    phraseParts.set(phrase, parts);
  }
  return parts;
}

function normalisePhrase(phrase: string): string {
  return phrase
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[.!?]+$/, '');
}

/** "deals list-mine limit=5" or "deals.list-mine": a declared action's key, then key=value pairs. */
function keyForm(
  rest: string,
  actions: readonly ActionView[],
): { action: string; params: Record<string, string> } | null {
  const head = /^([a-z][a-z0-9-]{0,39})(?:\.| )([a-z][a-z0-9-]{0,39})(?: (.*))?$/i.exec(rest);
  if (!head?.[1] || !head[2]) return null;
  const key = `${head[1].toLowerCase()}.${head[2].toLowerCase()}`;
  if (!ACTION_NAME.test(head[1].toLowerCase()) || !actions.some((action) => action.key === key)) return null;
  const params: Record<string, string> = {};
  let remaining = (head[3] ?? '').trim();
  let pairs = 0;
  while (remaining !== '') {
    const pair = PAIR.exec(remaining);
    if (!pair?.[1] || (pairs += 1) > MAX_PAIRS) return null;
    params[pair[1]] = pair[2] ?? pair[3] ?? '';
    remaining = remaining.slice(pair[0].length);
  }
  return { action: key, params };
}

/**
 * A menu card's submit (a message with `value` and no text): the profile and action from the button's
 * data, the parameters from the inputs named `<action key>.<param>`. A client can send any value here,
 * so it is bounded and shaped like typed input; null when the value is not a menu submit at all.
 */
export function parseCardSubmit(value: unknown): ActionCommand | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  if (!Object.hasOwn(record, SUBMIT_KEY)) return null;
  const keys = Object.keys(record);
  const data = record[SUBMIT_KEY] as { profile?: unknown; action?: unknown } | null;
  if (
    keys.length > MAX_SUBMIT_KEYS ||
    data === null ||
    typeof data !== 'object' ||
    typeof data.profile !== 'string' ||
    typeof data.action !== 'string' ||
    !PROFILE_ID.test(data.profile) ||
    !/^[a-z][a-z0-9-]{0,39}\.[a-z][a-z0-9-]{0,39}$/.test(data.action)
  ) {
    return { kind: 'bad-submit' };
  }
  const params: Record<string, string> = {};
  const prefix = inputId(data.action, '');
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    const raw = record[key];
    if (!PARAM_NAME.test(name)) return { kind: 'bad-submit' };
    if (raw === undefined || raw === null || raw === '') continue;
    if (typeof raw !== 'string' || raw.length > MAX_SUBMIT_VALUE) return { kind: 'bad-submit' };
    params[name] = raw;
  }
  return { kind: 'run-action', profile: data.profile, action: data.action, params };
}
