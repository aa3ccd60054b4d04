/** What a chat message asks for. Parsing is separate from dialogs so it can be tested alone. */
export type Command =
  | { kind: 'help' }
  | { kind: 'greeting' }
  | { kind: 'connections' }
  | { kind: 'sign-out'; profile: string | null }
  | { kind: 'crm'; action: 'deals' | 'companies' | 'tickets' }
  | { kind: 'crm'; action: 'find-contact'; query: string }
  | { kind: 'unknown'; text: string };

const MAX_QUERY = 100;

export function parseCommand(raw: string): Command {
  // Teams prefixes @mentions of the bot; Web Chat may add trailing punctuation.
  const text = raw
    .replace(/<at>[^<]*<\/at>/gi, '')
    .trim()
    .replace(/[.!?]+$/, '')
    .replace(/\s+/g, ' ');
  const lower = text.toLowerCase();
  if (/^(help|\?|what can you do|commands)$/.test(lower)) return { kind: 'help' };
  if (/^(hi|hello|hey|hallo|good (morning|afternoon|evening))( there)?$/.test(lower))
    return { kind: 'greeting' };
  if (/^(show )?(my )?(connections|integrations|status)$/.test(lower)) return { kind: 'connections' };
  const signOut = /^(?:sign|log) ?out(?: (?:of|from))?(?: (.+))?$/i.exec(text);
  if (signOut) return { kind: 'sign-out', profile: signOut[1]?.trim() || null };
  if (/^(show |list )?(me )?(my |open |all )*deals$/.test(lower)) return { kind: 'crm', action: 'deals' };
  if (/^(show |list )?(me )?(my |all )*compan(y|ies)$/.test(lower))
    return { kind: 'crm', action: 'companies' };
  if (/^(show |list )?(me )?(my |open |all )*tickets$/.test(lower)) return { kind: 'crm', action: 'tickets' };
  const contact = /^(?:find|search|look ?up)(?: for)? (?:a )?contacts?(?: named| called)? (.+)$/i.exec(text);
  if (contact?.[1])
    return { kind: 'crm', action: 'find-contact', query: contact[1].trim().slice(0, MAX_QUERY) };
  return { kind: 'unknown', text };
}

/**
 * Whether a message replaces a dialog that is waiting for this user (a sign-in, a yes/no question).
 * A message that asks for something — help, connections, sign out, a CRM command — does: the user has
 * moved on, the old wait ends and its sign-in link is voided. A greeting or anything not understood
 * (including a mistyped code) is stray text: the waiting dialog answers it and keeps waiting, so
 * "hello" before the verification code no longer loses the sign-in (issue 7 point 14).
 */
export function replacesWaitingDialog(command: Command): boolean {
  return command.kind !== 'unknown' && command.kind !== 'greeting';
}

export const HELP_TEXT = [
  'Here is what I can do:',
  '',
  '- **show my deals** — your open deals',
  '- **find contact** *name* — look up a contact',
  '- **show companies** — companies in the CRM',
  '- **show my tickets** — your support tickets',
  '- **my connections** — what I can access on your behalf',
  '- **sign out of** *integration* — revoke my access',
  '',
  'When I need access to a service I send you a sign-in link; after you sign in I carry on by myself.',
].join('\n');
