// Numbers, amounts and dates for result cards (dialogs/actionCards.ts), with the Intl formatters kept
// between calls.
import { LRUCache } from 'lru-cache';

/** A value as shown: trimmed, '' when absent. */
export function present(value: string | null | undefined): string {
  return (value ?? '').trim();
}

// Building an Intl formatter costs far more than formatting with it (locale data is resolved each
// time): keep them by locale and options. Bounded because the locale, time zone and currency come from
// settings and API records; past the bound the least recently used goes (lru-cache, the project's one cache).
const MAX_FORMATTERS = 64;
const numberFormats = new LRUCache<string, Intl.NumberFormat>({ max: MAX_FORMATTERS });
const dateFormats = new LRUCache<string, Intl.DateTimeFormat>({ max: MAX_FORMATTERS });

function cached<T extends object>(cache: LRUCache<string, T>, key: string, create: () => T): T {
  let formatter = cache.get(key);
  if (formatter === undefined) {
    // Throws for an unknown locale, currency or time zone: nothing is cached then.
    formatter = create();
    cache.set(key, formatter);
  }
  return formatter;
}

/** "12500" → "$12,500"; "7200.5" → "$7,200.50"; no amount → "No amount". */
export function formatAmount(value: string | null | undefined, currency: string, locale: string): string {
  const text = present(value);
  if (text === '') return 'No amount';
  const amount = Number(text);
  if (!Number.isFinite(amount)) return text;
  const digits = Number.isInteger(amount) ? 0 : 2;
  try {
    const format = cached(
      numberFormats,
      `${locale}|${currency}|${digits}`,
      () =>
        new Intl.NumberFormat(locale, {
          style: 'currency',
          currency,
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
        }),
    );
    return format.format(amount);
  } catch {
    // An unknown currency code or locale: still show the number.
    return `${currency} ${amount.toFixed(digits)}`;
  }
}

/** "1234.5" → "1,234.5"; not a number → the text as it is; absent → ''. */
export function formatNumber(value: string | null | undefined, locale: string): string {
  const text = present(value);
  const number = Number(text);
  if (text === '' || !Number.isFinite(number)) return text;
  try {
    return cached(numberFormats, `${locale}|number`, () => new Intl.NumberFormat(locale)).format(number);
  } catch {
    return text;
  }
}

/** ISO 8601 or epoch milliseconds (both occur in HubSpot) → "Jul 31, 2025"; unparseable → undefined. */
export function formatDate(
  value: string | null | undefined,
  options: { locale: string; timeZone: string },
): string | undefined {
  return formatTime(value, options, false);
}

/** Like formatDate, with the time of day: "Jul 31, 2025, 2:30 PM" (in `timeZone`). */
export function formatDateTime(
  value: string | null | undefined,
  options: { locale: string; timeZone: string },
): string | undefined {
  return formatTime(value, options, true);
}

function formatTime(
  value: string | null | undefined,
  options: { locale: string; timeZone: string },
  withTime: boolean,
): string | undefined {
  const text = present(value);
  if (text === '') return undefined;
  const time = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(time)) return undefined;
  try {
    const format = cached(
      dateFormats,
      `${options.locale}|${options.timeZone}|${withTime}`,
      () =>
        new Intl.DateTimeFormat(options.locale, {
          dateStyle: 'medium',
          ...(withTime ? { timeStyle: 'short' } : {}),
          timeZone: options.timeZone,
        }),
    );
    return format.format(time);
  } catch {
    const iso = new Date(time).toISOString();
    return withTime ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : iso.slice(0, 10);
  }
}
