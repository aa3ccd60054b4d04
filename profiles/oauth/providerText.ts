/**
 * Text a provider wrote (an `error_description`, a user's name in an ID token) made fit to show and
 * log: control and format characters (newlines, bidi overrides, zero-width characters) removed so
 * it cannot forge log lines or reorder what a reader sees, whitespace collapsed, and the length
 * bounded. Escaping is the page's job (Handlebars); this only keeps the text readable and short.
 */
export function cleanProviderText(value: unknown, maxLength: number): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = value
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (cleaned === '') return null;
  const chars = [...cleaned];
  return chars.length <= maxLength ? cleaned : `${chars.slice(0, maxLength - 1).join('')}…`;
}

/** Longest `error_description` shown on a page or written to the log. */
export const DESCRIPTION_MAX_LENGTH = 300;
