// CRM results as Adaptive Cards (schema 1.4, rendered by Teams and Web Chat) and as plain text for
// channels without cards. Pure functions: records in, JSON out.
//
// Record values come from the CRM, where anyone who can fill in a web form can write them. A TextBlock
// renders markdown, so a deal named "[click](https://evil)" would become a link; and backslash escapes
// are not honoured the same way by every Teams client (AdaptiveCards issues #4677, #5590). So values
// from the API are only ever placed in RichTextBlock TextRuns, whose text the schema defines as plain
// ("Markdown is not supported"), and are additionally passed through `inertText` (../inertText.ts, shared
// with every other chat surface), which breaks link, autolink, URL and template syntax with invisible
// zero-width spaces in case a host renders markdown or autolinks anyway. TextBlocks carry only fixed wording.
import { inertText } from '../inertText';
import type { CrmObjectType, CrmRecord } from './crmApi';
import { formatAmount, formatDate, present } from './crmFormats';

export type CrmCardKind = CrmObjectType;

export interface CrmCardInput {
  results: readonly CrmRecord[];
  /** All matches (a search's `total`); defaults to the number of results. */
  total?: number;
}

export interface CrmCardOptions {
  /** Replaces the default title ("Your deals", "Contacts", ...); the count is appended. */
  title?: string;
  /** BCP 47 locale for numbers and dates; default 'en-US'. */
  locale?: string;
  /** ISO 4217 code for deal amounts without a deal_currency_code; default 'USD'. */
  currency?: string;
  /** Time zone for dates; default 'UTC' (HubSpot stores date properties at UTC midnight). */
  timeZone?: string;
  /** Labels for custom pipeline stage ids (from HubSpot's pipelines API), by stage id. */
  stageLabels?: Readonly<Record<string, string>>;
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

export const MAX_CARD_ROWS = 10;

interface Run {
  text: string;
  color?: TextColor;
}

/** One record as the card and the text show it. */
interface Row {
  primary: string;
  trailing?: Run;
  details: Run[];
}

interface KindSpec {
  defaultTitle: string;
  /** "No deals found." */
  plural: string;
  row(record: CrmRecord, options: ResolvedOptions): Row;
}

interface ResolvedOptions {
  locale: string;
  currency: string;
  timeZone: string;
  stageLabels: Readonly<Record<string, string>>;
}

// HubSpot's default sales pipeline.
const DEAL_STAGES: Readonly<Record<string, string>> = {
  appointmentscheduled: 'Appointment scheduled',
  qualifiedtobuy: 'Qualified to buy',
  presentationscheduled: 'Presentation scheduled',
  decisionmakerboughtin: 'Decision maker bought-in',
  contractsent: 'Contract sent',
  closedwon: 'Closed won',
  closedlost: 'Closed lost',
};

// HubSpot's default support pipeline ("0").
const TICKET_STAGES: Readonly<Record<string, string>> = {
  '1': 'New',
  '2': 'Waiting on contact',
  '3': 'Waiting on us',
  '4': 'Closed',
};

const TICKET_PRIORITIES: Readonly<Record<string, Run>> = {
  LOW: { text: 'Low' },
  MEDIUM: { text: 'Medium' },
  HIGH: { text: 'High', color: 'Warning' },
  URGENT: { text: 'Urgent', color: 'Attention' },
};

const KINDS: Readonly<Record<CrmCardKind, KindSpec>> = {
  deals: {
    defaultTitle: 'Your deals',
    plural: 'deals',
    row(record, options) {
      const p = record.properties;
      const stage = p.dealstage ?? '';
      const closes = formatDate(p.closedate, options);
      const details: Run[] = [];
      if (stage) {
        const color = stage === 'closedwon' ? 'Good' : stage === 'closedlost' ? 'Attention' : undefined;
        details.push({ text: stageLabel(stage, DEAL_STAGES, options), ...(color ? { color } : {}) });
      }
      if (closes) details.push({ text: `${isClosed(stage) ? 'Closed' : 'Closes'} ${closes}` });
      return {
        primary: present(p.dealname) || 'Untitled deal',
        trailing: { text: formatAmount(p.amount, currencyOf(p.deal_currency_code, options), options.locale) },
        details,
      };
    },
  },
  contacts: {
    defaultTitle: 'Contacts',
    plural: 'contacts',
    row(record) {
      const p = record.properties;
      const name = [present(p.firstname), present(p.lastname)].filter(Boolean).join(' ');
      return {
        primary: name || present(p.email) || 'Unnamed contact',
        details: runs(name ? p.email : undefined, p.company, p.phone),
      };
    },
  },
  companies: {
    defaultTitle: 'Companies',
    plural: 'companies',
    row(record) {
      const p = record.properties;
      const name = present(p.name);
      return {
        primary: name || present(p.domain) || 'Unnamed company',
        details: runs(name ? p.domain : undefined, p.industry, p.city),
      };
    },
  },
  tickets: {
    defaultTitle: 'Your tickets',
    plural: 'tickets',
    row(record, options) {
      const p = record.properties;
      const priority = (p.hs_ticket_priority ?? '').toUpperCase();
      const details: Run[] = [];
      if (p.hs_pipeline_stage)
        details.push({ text: stageLabel(p.hs_pipeline_stage, TICKET_STAGES, options) });
      const opened = formatDate(p.createdate ?? record.createdAt, options);
      if (opened) details.push({ text: `Opened ${opened}` });
      return {
        primary: present(p.subject) || 'No subject',
        ...(priority ? { trailing: TICKET_PRIORITIES[priority] ?? { text: humanise(priority) } } : {}),
        details,
      };
    },
  },
};

export function dealsCard(input: CrmCardInput, options: CrmCardOptions = {}): AdaptiveCard {
  return crmCard('deals', input, options);
}

export function contactsCard(input: CrmCardInput, options: CrmCardOptions = {}): AdaptiveCard {
  return crmCard('contacts', input, options);
}

export function companiesCard(input: CrmCardInput, options: CrmCardOptions = {}): AdaptiveCard {
  return crmCard('companies', input, options);
}

export function ticketsCard(input: CrmCardInput, options: CrmCardOptions = {}): AdaptiveCard {
  return crmCard('tickets', input, options);
}

/** The card for any kind; `fallbackText` is `summaryText` of the same input. */
export function crmCard(kind: CrmCardKind, input: CrmCardInput, options: CrmCardOptions = {}): AdaptiveCard {
  const view = viewOf(kind, input, options);
  const body: CardElement[] = [
    richText([{ type: 'TextRun', text: view.heading, weight: 'Bolder', size: 'Medium' }]),
  ];
  if (view.rows.length === 0) {
    body.push({ type: 'TextBlock', text: view.emptyText, wrap: true, isSubtle: true });
  }
  view.rows.forEach((row, index) => body.push(rowElement(row, index)));
  if (view.more > 0) {
    body.push({
      type: 'TextBlock',
      text: `Showing ${view.rows.length} of ${view.count} ${KINDS[kind].plural}.`,
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
    fallbackText: summaryText(kind, input, options),
    body,
    msteams: { width: 'Full' },
  };
}

/**
 * The same content as plain text, one line per record. Values are passed through `inertText`; send it
 * with `textFormat: 'plain'` so that no channel renders markdown in it.
 */
export function summaryText(kind: CrmCardKind, input: CrmCardInput, options: CrmCardOptions = {}): string {
  const view = viewOf(kind, input, options);
  if (view.rows.length === 0) return view.emptyText;
  const lines = view.rows.map((row) => {
    const parts = [row.primary];
    if (row.trailing) parts.push(row.trailing.text);
    if (row.details.length > 0) parts.push(row.details.map((d) => d.text).join(' · '));
    return `• ${parts.join(' — ')}`;
  });
  if (view.more > 0) lines.push(`… and ${view.more} more.`);
  return [`${view.heading}:`, ...lines].join('\n');
}

// ---------------------------------------------------------------------------------------------------

interface View {
  heading: string;
  emptyText: string;
  rows: Row[];
  count: number;
  more: number;
}

function viewOf(kind: CrmCardKind, input: CrmCardInput, options: CrmCardOptions): View {
  const spec = KINDS[kind];
  const resolved: ResolvedOptions = {
    locale: options.locale ?? 'en-US',
    currency: options.currency ?? 'USD',
    timeZone: options.timeZone ?? 'UTC',
    stageLabels: options.stageLabels ?? {},
  };
  const rows = input.results.slice(0, MAX_CARD_ROWS).map((record) => {
    const row = spec.row(record, resolved);
    return {
      primary: inertText(row.primary),
      ...(row.trailing ? { trailing: { ...row.trailing, text: inertText(row.trailing.text) } } : {}),
      details: row.details.map((d) => ({ ...d, text: inertText(d.text) })),
    };
  });
  const count = Math.max(input.total ?? input.results.length, input.results.length);
  const title = options.title === undefined ? spec.defaultTitle : inertText(options.title);
  return {
    heading: rows.length === 0 ? title : `${title} (${count})`,
    emptyText: `No ${spec.plural} found.`,
    rows,
    count,
    more: count - rows.length,
  };
}

function rowElement(row: Row, index: number): CardElement {
  const columns: CardElement[] = [
    {
      type: 'Column',
      width: 'stretch',
      items: [richText([{ type: 'TextRun', text: row.primary, weight: 'Bolder' }])],
    },
  ];
  if (row.trailing) {
    columns.push({
      type: 'Column',
      width: 'auto',
      items: [richText([textRun(row.trailing, { weight: 'Bolder' })], 'Right')],
    });
  }
  const items: CardElement[] = [{ type: 'ColumnSet', columns }];
  if (row.details.length > 0) {
    const inlines: TextRun[] = [];
    row.details.forEach((detail, i) => {
      if (i > 0) inlines.push({ type: 'TextRun', text: ' · ', isSubtle: true, size: 'Small' });
      inlines.push(textRun(detail, { isSubtle: detail.color === undefined, size: 'Small' }));
    });
    items.push({ ...richText(inlines), spacing: 'None' });
  }
  return { type: 'Container', spacing: 'Medium', separator: index > 0, items };
}

function richText(inlines: TextRun[], horizontalAlignment?: 'Right'): CardElement {
  return { type: 'RichTextBlock', inlines, ...(horizontalAlignment ? { horizontalAlignment } : {}) };
}

function textRun(run: Run, style: Omit<TextRun, 'type' | 'text' | 'color'>): TextRun {
  return { type: 'TextRun', text: run.text, ...style, ...(run.color ? { color: run.color } : {}) };
}

function runs(...values: (string | null | undefined)[]): Run[] {
  return values
    .map(present)
    .filter(Boolean)
    .map((text) => ({ text }));
}

function isClosed(stage: string): boolean {
  return stage === 'closedwon' || stage === 'closedlost';
}

function stageLabel(
  stage: string,
  defaults: Readonly<Record<string, string>>,
  options: ResolvedOptions,
): string {
  if (Object.hasOwn(options.stageLabels, stage)) return options.stageLabels[stage] ?? stage;
  if (Object.hasOwn(defaults, stage)) return defaults[stage] ?? stage;
  // Custom pipelines use numeric stage ids that mean nothing to a reader without the pipelines API.
  if (/^\d+$/.test(stage)) return `Stage ${stage}`;
  return humanise(stage);
}

function humanise(id: string): string {
  const words = id.replace(/[_-]+/g, ' ').trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function currencyOf(code: string | null | undefined, options: ResolvedOptions): string {
  const trimmed = (code ?? '').trim().toUpperCase();
  return /^[A-Z]{3}$/.test(trimmed) ? trimmed : options.currency;
}
