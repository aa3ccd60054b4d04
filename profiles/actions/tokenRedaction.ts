/**
 * Removes an access token from what the provider answered before anyone sees it (the proxy's body and
 * headers, action results and API error messages: SECURITY.md #72), even when an API echoes the
 * request's Authorization.
 * The token is looked for as sent and in the forms an echo would write it in: JSON string escaping
 * (`\/`, `\u…`) and percent-encoding.
 */

export const REDACTED = '[redacted]';

function formsOf(token: string): string[] {
  if (token.length === 0) return [];
  const forms = new Set([
    token,
    JSON.stringify(token).slice(1, -1),
    JSON.stringify(token).slice(1, -1).replace(/\//g, '\\/'),
    encodeURIComponent(token),
  ]);
  // Longest first, so a form that contains another is replaced whole.
  return [...forms].sort((a, b) => b.length - a.length);
}

export function redactToken(text: string, token: string): string {
  let result = text;
  for (const form of formsOf(token)) result = result.split(form).join(REDACTED);
  return result;
}

/** The same on bytes; returns the input itself when the token is not in it. */
export function redactTokenBytes(body: Buffer, token: string): Buffer {
  const forms = formsOf(token);
  if (!forms.some((form) => body.includes(form))) return body;
  // Replaced on the bytes (latin1 maps each byte to one character and back), so a body that is not
  // UTF-8 is not altered anywhere else.
  let text = body.toString('latin1');
  for (const form of forms) text = text.split(Buffer.from(form, 'utf8').toString('latin1')).join(REDACTED);
  return Buffer.from(text, 'latin1');
}
