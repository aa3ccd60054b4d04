/**
 * Is an admin key strong enough for production (SECURITY.md #46)? An *estimate* from the key's text:
 * it cannot prove a key random, it catches keys a person made up.
 *
 * - bits = length × log2(alphabet the key actually draws from): 10 for digits, 16 for hex, else the sum of
 *   the classes it uses (26 lower, 26 upper, 10 digits, 7 symbols `._~+/=-`). At least 128 bits.
 *   This overrates non-random text, hence the checks below for what people type.
 * - too short: under 22 characters (128 bits need 22 even from the widest alphabet);
 * - one character making up over 40% of the key (`aaaa…`, `aXaYaZ…`);
 * - a shorter pattern repeated (`Secret1Secret1…`);
 * - over a third of it in runs of 4 or more equal or consecutive characters (`aaaa`, `abcdef`,
 *   `54321`); random keys hardly ever have one.
 *
 * Random keys pass with a wide margin: `openssl rand -base64 32` (~268 bits), `openssl rand -hex 16`
 * (128), the dev key `ap_dev_<32 base64url>` (~238) and keys from `authprofiles keys create`.
 */

export const MIN_KEY_BITS = 128;
export const MIN_KEY_LENGTH = 22;

const SYMBOLS = /[._~+/=-]/;

export function estimatedKeyBits(key: string): number {
  if (key.length === 0) return 0;
  let alphabet: number;
  if (/^[0-9]+$/.test(key)) alphabet = 10;
  else if (/^[0-9a-f]+$/.test(key) || /^[0-9A-F]+$/.test(key)) alphabet = 16;
  else {
    alphabet = 0;
    if (/[a-z]/.test(key)) alphabet += 26;
    if (/[A-Z]/.test(key)) alphabet += 26;
    if (/[0-9]/.test(key)) alphabet += 10;
    if (SYMBOLS.test(key)) alphabet += 7;
  }
  return alphabet <= 1 ? 0 : key.length * Math.log2(alphabet);
}

/** Why `key` is too weak for production, in words for the operator; undefined when it is fine. */
export function keyWeakness(key: string): string | undefined {
  const length = [...key].length;
  if (length < MIN_KEY_LENGTH) return `it is too short (${length} characters, at least ${MIN_KEY_LENGTH})`;
  const counts = new Map<string, number>();
  for (const char of key) counts.set(char, (counts.get(char) ?? 0) + 1);
  if (Math.max(...counts.values()) * 5 > length * 2) return 'it is mostly one repeated character';
  for (let period = 1; period <= length / 2; period += 1) {
    let repeats = true;
    for (let i = period; i < key.length && repeats; i += 1) repeats = key[i] === key[i - period];
    if (repeats) return 'it repeats a shorter pattern';
  }
  if (runCharacters(key) * 3 > length) {
    return 'it is mostly runs of equal or consecutive characters (like aaaa or 1234)';
  }
  const bits = Math.floor(estimatedKeyBits(key));
  if (bits < MIN_KEY_BITS)
    return `it has about ${bits} bits of randomness (length × log2 of the characters it uses), at least ${MIN_KEY_BITS} are needed`;
  return undefined;
}

/** Characters that belong to a run of 4+ with a constant step of -1, 0 or +1 (`aaaa`, `abcd`, `4321`). */
function runCharacters(key: string): number {
  const inRun = new Array<boolean>(key.length).fill(false);
  const step = (i: number) => key.charCodeAt(i) - key.charCodeAt(i - 1);
  for (let i = 3; i < key.length; i += 1) {
    const last = step(i);
    if (Math.abs(last) <= 1 && step(i - 1) === last && step(i - 2) === last) {
      for (let j = i - 3; j <= i; j += 1) inRun[j] = true;
    }
  }
  return inRun.filter(Boolean).length;
}
