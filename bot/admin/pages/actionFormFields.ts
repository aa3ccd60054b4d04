import type { FieldIssue } from '../../../profiles';
import { jsonDepth } from '../../http/requestBody';
import type { FieldSpec } from './profileFormFields';

/**
 * The custom profile form's "Actions (JSON)" field (issue 11 point 1: a profile declares actions on
 * the pages too): the profile's `actions` and `currentUser` as one JSON object, checked by the one
 * profile schema when saved. A problem is shown next to the field with its schema path
 * (`actions.1.path: must start with /`), and the text stays as typed.
 */
export const ACTIONS_JSON_FIELD: FieldSpec = {
  name: 'actionsJson',
  label: 'Actions (JSON)',
  kind: 'json',
  hint: '{ "actions": [ … ], "currentUser": { … } } as in docs/actions.md (a bare array is the actions alone). Empty: no actions.',
};

/**
 * As deep as the admin API lets a whole profile be (api/jsonBody.ts): the schema's checks walk a body
 * template recursively, and a form can carry tens of thousands of levels.
 */
const MAX_JSON_DEPTH = 20;

/** Schema paths that belong to this field. */
const OWNED = ['actions', 'currentUser', 'actionSettings'];

export function ownsIssue(path: string): boolean {
  const [first] = path.split('.');
  return first === ACTIONS_JSON_FIELD.name || (first !== undefined && OWNED.includes(first));
}

/** The field's text for a stored document: pretty JSON of what the author wrote, or empty. */
export function actionsJsonValue(document: Record<string, unknown>): string {
  const actions = Array.isArray(document.actions) ? document.actions : [];
  if (actions.length === 0 && document.currentUser === undefined) return '';
  return JSON.stringify(
    { actions, ...(document.currentUser === undefined ? {} : { currentUser: document.currentUser }) },
    null,
    2,
  );
}

/**
 * Lays the field's JSON over the document. Returns the problems with the text itself (not JSON, wrong
 * shape); the schema judges the rest when the document is saved. Settings of actions that are no
 * longer declared are dropped: the schema refuses them, and they could only switch nothing.
 */
export function applyActionsJson(document: Record<string, unknown>, text: string): FieldIssue[] {
  const path = ACTIONS_JSON_FIELD.name;
  let parsed: unknown = {};
  if (text.trim() !== '') {
    // Counted before parsing, so a hostile nesting never reaches the parser or the schema.
    if (jsonDepth(text) > MAX_JSON_DEPTH) {
      return [{ path, message: `is nested more than ${MAX_JSON_DEPTH} levels deep` }];
    }
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return [{ path, message: `is not valid JSON (${(error as Error).message})` }];
    }
  }
  if (Array.isArray(parsed)) parsed = { actions: parsed };
  if (typeof parsed !== 'object' || parsed === null) {
    return [{ path, message: 'must be a JSON object with "actions" (and optionally "currentUser")' }];
  }
  const given = parsed as Record<string, unknown>;
  const unknown = Object.keys(given).filter((key) => key !== 'actions' && key !== 'currentUser');
  if (unknown.length > 0) {
    return [{ path, message: `may hold only "actions" and "currentUser", not "${unknown.join('", "')}"` }];
  }
  if (given.actions === undefined) delete document.actions;
  else document.actions = given.actions;
  if (given.currentUser === undefined) delete document.currentUser;
  else document.currentUser = given.currentUser;
  const declared = new Set(
    (Array.isArray(given.actions) ? given.actions : []).map((action: unknown) => {
      const { entity, action: name } = (action ?? {}) as { entity?: unknown; action?: unknown };
      return `${String(entity)}.${String(name)}`;
    }),
  );
  const settings = document.actionSettings;
  if (typeof settings === 'object' && settings !== null && !Array.isArray(settings)) {
    const kept = Object.fromEntries(Object.entries(settings).filter(([key]) => declared.has(key)));
    if (Object.keys(kept).length > 0) document.actionSettings = kept;
    else delete document.actionSettings;
  }
  return [];
}
