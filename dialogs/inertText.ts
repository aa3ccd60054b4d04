// Text written by someone other than this bot — a profile's display name and other author text, a CRM
// record, an account name, words a chat user typed — made inert before it goes into a chat message or
// card, so it can only ever read as the words it is (SECURITY.md #45).
//
// A display name `Acme [verify your account here](https://evil.example/login)` must not become a live
// link under the bot's name. Chat clients differ in what they render: Web Chat renders message text and
// hero card title/text as markdown with linkify (markdown-it), Teams renders message text as markdown but
// hero card text as an XML subset and titles unformatted, buttons everywhere are plain text. So:
//
// - `inertText` is for every surface: it keeps one line, caps the length and breaks link, autolink,
//   bare-URL, HTML and template syntax with zero-width spaces, which readers do not see. Put its output
//   in plain surfaces: messages sent with `plainMessage` (textFormat `plain`), button titles, Adaptive Card
//   TextRuns, Teams hero card fields.
// - `inertMarkdown` is for a field that is rendered as markdown (Web Chat hero card title and text):
//   `inertText` plus a backslash before every ASCII punctuation character (CommonMark §2.4), so emphasis,
//   headings, lists and code render as the literal characters. Never use it where markdown is not
//   rendered: the reader would see the backslashes.
import type { Activity } from 'botbuilder';

const ZWSP = '\u200B';
export const MAX_INERT_LENGTH = 120;

// C0/C1 controls, line and paragraph separators, and bidi overrides (a name cannot fake line breaks or
// reverse the text it is shown in).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// A dot (ASCII, or one IDNA reads as a dot: ideographic, fullwidth, halfwidth) before a letter: host
// names and `www.`; amounts like `7,200.50` keep their dot as it is.
const DOT_BEFORE_LABEL = /([.\u3002\uff0e\uff61])(?=\p{L})/gu;
const DOTTED_QUAD = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;

/**
 * One line of inert text: controls and bidi overrides become spaces, whitespace runs collapse, the length
 * is capped at `maxLength` characters (with `…`), and a zero-width space goes
 * - after `]` before `(`, `[` or `:` (markdown links, images, reference definitions),
 * - after `<` (autolinks `<https://…>`, HTML tags, Teams `<at>` mentions),
 * - between `{{` (Adaptive Card template functions),
 * - after `:` before anything (`https:`, `mailto:`, `javascript:` schemes), between `//`, and after each
 *   dot before a letter and in a dotted quad, so no linkifier finds a URL, host name, IPv4 address or
 *   e-mail address (`evil.example/login`).
 * Removing the zero-width spaces gives back the one-line text.
 */
export function inertText(value: string, maxLength: number = MAX_INERT_LENGTH): string {
  // Most author and CRM text (names, stages, words) has nothing the steps below change: it comes back
  // as it is without nine regular-expression passes (a result card runs this for every field shown;
  // issue 12). `inertTextFull` is the definition; the test holds the two equal.
  return value.length <= maxLength && ALREADY_INERT.test(value) ? value : inertTextFull(value, maxLength);
}

// Letters, digits and single spaces between words, with a few ASCII marks none of the steps touches.
// Not `.` `:` `/` `<` `[` `]` `{` `@`: those are what the steps break up.
const ALREADY_INERT = /^(?:[\p{L}\p{Nd},'&()+!?#%*;=$"-]+(?: [\p{L}\p{Nd},'&()+!?#%*;=$"-]+)*)?$/u;

/** The whole of `inertText`, for any text; exported for the test that holds the shortcut to it. */
export function inertTextFull(value: string, maxLength: number = MAX_INERT_LENGTH): string {
  let text = value.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  const chars = Array.from(text);
  if (chars.length > maxLength) {
    text = `${chars
      .slice(0, Math.max(0, maxLength - 1))
      .join('')
      .trimEnd()}…`;
  }
  return text
    .replace(/\](\s*)(?=[([:])/g, `]${ZWSP}$1`)
    .replace(/</g, `<${ZWSP}`)
    .replace(/\{\{/g, `{${ZWSP}{`)
    .replace(/:(?=\S)/g, `:${ZWSP}`)
    .replace(/\/(?=\/)/g, `/${ZWSP}`)
    .replace(DOT_BEFORE_LABEL, `$1${ZWSP}`)
    .replace(DOTTED_QUAD, (quad) => quad.replace(/\./g, `.${ZWSP}`));
}

/** `inertText` for a field rendered as markdown: every ASCII punctuation character is escaped too. */
export function inertMarkdown(value: string, maxLength: number = MAX_INERT_LENGTH): string {
  return inertText(value, maxLength).replace(/[!-/:-@[-`{-~]/g, '\\$&');
}

/**
 * A message whose text is shown as typed: `textFormat: 'plain'` makes Web Chat and Teams render it
 * without markdown. Any outside text in it still goes through `inertText` (for clients that ignore
 * the format or autolink plain text).
 */
export function plainMessage(text: string): Partial<Activity> {
  return { type: 'message', text, textFormat: 'plain' };
}
