// Action results (engine.runAction's outcome) as Adaptive Cards (schema 1.4, rendered by Teams and Web
// Chat) and as plain text for channels without cards. Pure functions: an outcome in, JSON out. One
// renderer for every profile's actions: what to show comes from the action's declared `results`.
//
// Values come from the API, where anyone who can fill in a web form can write them. A TextBlock renders
// markdown, so a deal named "[click](https://evil)" would become a link; and backslash escapes are not
// honoured the same way by every Teams client (AdaptiveCards issues #4677, #5590). So every value from
// the API, and every text an admin wrote (profile names, action titles), is only ever placed in
// RichTextBlock TextRuns, whose text the schema defines as plain ("Markdown is not supported"), and is
// passed through `inertText` (./inertText.ts, shared with every other chat surface), which breaks link,
// autolink, URL, mention and template syntax with invisible zero-width spaces in case a host renders
// markdown or autolinks anyway (SECURITY.md #45). TextBlocks carry only this file's fixed wording.
import type { ActionField, ActionItem, ActionValue } from '../profiles';
import { inertText } from './inertText';
import { formatAmount, formatDate, formatDateTime, formatNumber } from './valueFormats';

/** A result field as the card shows it: the outcome's field, with the words its declaration gives codes. */
export type CardField = ActionField & { labels?: Readonly<Record<string, string>> };

export interface CardResult {
  /** The action's title ("My deals"). */
  title: string;
  /** The profile's display name, shown under the title. */
  profileName: string;
  fields: readonly CardField[];
  items: readonly ActionItem[];
  /** All matches, when the API said; defaults to the number of items. */
  total?: number;
}

export interface CardOptions {
  /** BCP 47 locale for numbers and dates; default 'en-US'. */
  locale?: string;
  /** ISO 4217 code for `currency` fields; default 'USD'. */
  currency?: string;
  /** Time zone for dates; default 'UTC' (HubSpot stores date properties at UTC midnight). */
  timeZone?: string;
}

type TextColor = 'Default' | 'Accent' | 'Good' | 'Warning' | 'Attention';

export interface TextRun {
  type: 'TextRun';
  text: string;
  weight?: 'Bolder';
  size?: 'Small' | 'Medium' | 'Large';
  color?: TextColor;
  isSubtle?: boolean;
}

export interface CardElement {
  type: string;
  [property: string]: unknown;
}

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  version: '1.4';
  /** Shown by hosts that cannot render the card. */
  fallbackText: string;
  body: CardElement[];
  msteams: { width: 'Full' };
}

/** Rows shown on one card; the rest is counted ("Showing 10 of 42"). */
export const MAX_CARD_ROWS = 10;
/** Fields shown per row; a declaration may name up to 20, a card row stays readable and small. */
export const MAX_CARD_FIELDS = 5;
/** Characters of one value and one label on a card (titles: 100), so the card stays under Teams' 28 KB. */
const MAX_VALUE_LENGTH = 60;
const MAX_LABEL_LENGTH = 30;
const MAX_TITLE_LENGTH = 100;

/** One result as the card and the text show it: every string already inert. */
interface Row {
  title: string;
  details: { label: string; value: string }[];
}

interface View {
  heading: string;
  profileName: string;
  rows: Row[];
  count: number;
  more: number;
}

/** The sentence for an empty result (send it as a plain message, no card). */
export function emptyResultText(result: Pick<CardResult, 'title' | 'profileName'>): string {
  return `${inertText(result.profileName)} has nothing for "${inertText(result.title)}" right now.`;
}

/** The card for a non-empty result; `fallbackText` is `resultText` of the same result. */
export function resultCard(result: CardResult, options: CardOptions = {}): AdaptiveCard {
  const view = viewOf(result, options);
  const body: CardElement[] = [
    richText([{ type: 'TextRun', text: view.heading, weight: 'Bolder', size: 'Medium' }]),
    {
      ...richText([{ type: 'TextRun', text: view.profileName, isSubtle: true, size: 'Small' }]),
      spacing: 'None',
    },
  ];
  if (view.rows.length === 0) {
    body.push({ type: 'TextBlock', text: 'Nothing found.', wrap: true, isSubtle: true });
  }
  view.rows.forEach((row, index) => body.push(rowElement(row, index)));
  if (view.more > 0) {
    body.push({
      type: 'TextBlock',
      text: `Showing ${view.rows.length} of ${view.count}.`,
      wrap: true,
      isSubtle: true,
      size: 'Small',
      spacing: 'Medium',
    });
  }
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.4',
    fallbackText: resultText(result, options),
    body,
    msteams: { width: 'Full' },
  };
}

/**
 * The same content as plain text, one line per result. Values are inert; send it with
 * `textFormat: 'plain'` so that no channel renders markdown in it.
 */
export function resultText(result: CardResult, options: CardOptions = {}): string {
  const view = viewOf(result, options);
  if (view.rows.length === 0) return emptyResultText(result);
  const lines = view.rows.map((row) => {
    const details = row.details.map((detail) => `${detail.label}: ${detail.value}`).join(' · ');
    return `• ${row.title}${details ? ` — ${details}` : ''}`;
  });
  if (view.more > 0) lines.push(`… and ${view.more} more.`);
  return [`${view.heading} (${view.profileName}):`, ...lines].join('\n');
}

/** A value as a reader sees it, per the field's declared format; '' when there is nothing to show. */
export function formatValue(
  value: ActionValue,
  field: Pick<ActionField, 'format'> & Pick<CardField, 'labels'>,
  options: CardOptions = {},
  currency?: string,
): string {
  if (value === null) return '';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  const text = String(value).trim();
  if (text === '') return '';
  // An API code the action declares a word for ("contractsent" → "Contract sent").
  const label = field.labels && Object.hasOwn(field.labels, text) ? field.labels[text] : undefined;
  if (label !== undefined) return label;
  const locale = options.locale ?? 'en-US';
  const timeZone = options.timeZone ?? 'UTC';
  switch (field.format) {
    case 'currency':
      return formatAmount(text, currency ?? options.currency ?? 'USD', locale);
    case 'number':
      return formatNumber(text, locale);
    case 'date':
      return formatDate(text, { locale, timeZone }) ?? text;
    case 'datetime':
      return formatDateTime(text, { locale, timeZone }) ?? text;
    // email and url are shown as the text they are: never a mailto: or web link built from API data.
    default:
      return text;
  }
}

// ---------------------------------------------------------------------------------------------------

function viewOf(result: CardResult, options: CardOptions): View {
  const fields = result.fields.slice(0, MAX_CARD_FIELDS);
  const rows = result.items.slice(0, MAX_CARD_ROWS).map((item): Row => {
    const details: Row['details'] = [];
    for (const field of fields) {
      const shown = formatValue(
        item.values[field.name] ?? null,
        field,
        options,
        item.currencies?.[field.name],
      );
      if (shown !== '') {
        details.push({
          label: inertText(field.label, MAX_LABEL_LENGTH),
          value: inertText(shown, MAX_VALUE_LENGTH),
        });
      }
    }
    const title = item.title?.trim()
      ? inertText(item.title, MAX_TITLE_LENGTH)
      : (details.shift()?.value ?? 'Untitled');
    return { title, details };
  });
  const count = Math.max(result.total ?? result.items.length, result.items.length);
  const title = inertText(result.title, MAX_TITLE_LENGTH);
  return {
    heading: rows.length === 0 ? title : `${title} (${count})`,
    profileName: inertText(result.profileName, MAX_TITLE_LENGTH),
    rows,
    count,
    more: count - rows.length,
  };
}

function rowElement(row: Row, index: number): CardElement {
  const items: CardElement[] = [richText([{ type: 'TextRun', text: row.title, weight: 'Bolder' }])];
  if (row.details.length > 0) {
    // One run per row: a run per label and value would add ~60 bytes of JSON each (Teams: 28 KB a card).
    const text = row.details.map((detail) => `${detail.label}: ${detail.value}`).join(' · ');
    items.push({ ...richText([{ type: 'TextRun', text, isSubtle: true, size: 'Small' }]), spacing: 'None' });
  }
  return { type: 'Container', spacing: 'Medium', separator: index > 0, items };
}

export function richText(inlines: TextRun[]): CardElement {
  return { type: 'RichTextBlock', inlines };
}
