/** What a chat message asks for. Parsing is separate from dialogs so it can be tested alone. */
import type { ActionCommand } from './actionCommands';

export type Command =
  | { kind: 'help' }
  | { kind: 'greeting' }
  | { kind: 'connections' }
  | { kind: 'sign-out'; profile: string | null }
  /** "connect hubspot as work": a sign-in whose connection is named (null: the default one). */
  | { kind: 'connect'; profile: string; connection: string | null }
  /** "use my work account for hubspot": that named connection becomes the default. */
  | { kind: 'use-connection'; profile: string; connection: string }
  | { kind: 'unknown'; text: string };

/** A message's command: a fixed one (parseCommand) or a profile's action (actionCommands.ts). */
export type ChatCommand = Command | ActionCommand;

/** The message as commands read it: the bot's mention removed, trailing punctuation and extra spaces gone. */
export function normalise(raw: string): string {
  // Teams prefixes @mentions of the bot; Web Chat may add trailing punctuation.
  return raw
    .replace(/<at>[^<]*<\/at>/gi, '')
    .trim()
    .replace(/[.!?]+$/, '')
    .replace(/\s+/g, ' ');
}

/**
 * The fixed commands. Everything else is `unknown` here; the profiles' actions (bare phrases like
 * "show my deals", "hubspot: …") are matched against the configured profiles by actionCommands.ts.
 */
export function parseCommand(raw: string): Command {
  const text = normalise(raw);
  const lower = text.toLowerCase();
  if (/^(help|\?|what can you do|commands)$/.test(lower)) return { kind: 'help' };
  if (/^(hi|hello|hey|hallo|good (morning|afternoon|evening))( there)?$/.test(lower))
    return { kind: 'greeting' };
  if (/^(show )?(my )?(connections|integrations|status)$/.test(lower)) return { kind: 'connections' };
  const connect = /^connect (?:to )?(.+?)(?: as (\S+))?$/i.exec(text);
  if (connect?.[1]) return { kind: 'connect', profile: connect[1].trim(), connection: connect[2] ?? null };
  const use = /^use (?:my )?(\S+)(?: account| connection)? (?:for|with) (.+)$/i.exec(text);
  if (use?.[1] && use[2]) return { kind: 'use-connection', profile: use[2].trim(), connection: use[1] };
  const signOut = /^(?:sign|log) ?out(?: (?:of|from))?(?: (.+))?$/i.exec(text);
  if (signOut) return { kind: 'sign-out', profile: signOut[1]?.trim() || null };
  return { kind: 'unknown', text };
}

/**
 * Whether a message replaces a dialog that is waiting for this user (a sign-in, a yes/no question).
 * A message that asks for something — help, connections, sign out, a profile's action or its menu, a
 * card's button — does: the user has
 * moved on, the old wait ends and its sign-in link is voided. A greeting or anything not understood
 * (including a mistyped code) is stray text: the waiting dialog answers it and keeps waiting, so
 * "hello" before the verification code no longer loses the sign-in (issue 7 point 14).
 */
export function replacesWaitingDialog(command: ChatCommand): boolean {
  return command.kind !== 'unknown' && command.kind !== 'greeting';
}

/** The fixed part of "help": the commands every deployment has (actions are added per profile). */
export const FIXED_HELP_LINES = [
  '- **my connections** — what I can access on your behalf',
  '- **sign out of** *integration* — revoke my access (add a name, e.g. **sign out of hubspot work**, for a named connection)',
  '- **connect** *integration* **as** *name* — sign in with another account, e.g. **connect hubspot as work**',
  '- **use my** *name* **account for** *integration* — which account I use when you name none',
  '- *integration* **actions** — what I can do with an integration, as buttons (e.g. **hubspot actions**)',
];

export const HELP_FOOTER =
  'When I need access to a service I send you a sign-in link; after you sign in I carry on by myself.';
