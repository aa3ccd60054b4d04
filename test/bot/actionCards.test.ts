// Action results as Adaptive Cards and plain text (dialogs/actionCards.ts): what a person reads, and
// what a hostile value from the API cannot do. The outcomes are those the HubSpot catalogue's deals
// action gives for the demo CRM's sample deals (fields and titles as profiles/systemCatalog.json declares).
import { SAMPLE_CRM_DATA } from '../../bot/dev/demoCrm/sampleCrmData';
import {
  emptyResultText,
  formatValue,
  MAX_CARD_FIELDS,
  MAX_CARD_ROWS,
  resultCard,
  resultText,
  type AdaptiveCard,
  type CardElement,
  type CardResult,
} from '../../dialogs/actionCards';
import { formatAmount } from '../../dialogs/valueFormats';
import type { ActionField, ActionItem } from '../../profiles';

const ZWSP = /\u200B/g;

const DEAL_FIELDS: ActionField[] = [
  { name: 'amount', label: 'Amount', format: 'currency' },
  { name: 'dealstage', label: 'Stage', format: 'text' },
  { name: 'closedate', label: 'Close date', format: 'date' },
];

function dealItems(): ActionItem[] {
  return SAMPLE_CRM_DATA.deals.map((deal) => ({
    ...(deal.properties.dealname ? { title: String(deal.properties.dealname) } : {}),
    values: {
      amount: deal.properties.amount ?? null,
      dealstage: deal.properties.dealstage ?? null,
      closedate: deal.properties.closedate ?? null,
    },
  }));
}

function deals(items: ActionItem[] = dealItems(), total?: number): CardResult {
  return {
    title: 'My deals',
    profileName: 'HubSpot',
    fields: DEAL_FIELDS,
    items,
    ...(total !== undefined ? { total } : {}),
  };
}

/** Every element of the card, depth first. */
function elements(card: AdaptiveCard): CardElement[] {
  const all: CardElement[] = [];
  const visit = (element: CardElement): void => {
    all.push(element);
    for (const key of ['items', 'columns'] as const) {
      const children = element[key];
      if (Array.isArray(children)) (children as CardElement[]).forEach(visit);
    }
  };
  card.body.forEach(visit);
  return all;
}

/** The text of each row (Container): its TextRuns joined per RichTextBlock. */
function rows(card: AdaptiveCard): string[][] {
  return card.body
    .filter((e) => e.type === 'Container')
    .map((container) =>
      elements({ ...card, body: [container] })
        .filter((e) => e.type === 'RichTextBlock')
        .map((block) => (block.inlines as { text: string }[]).map((run) => run.text).join('')),
    );
}

function heading(card: AdaptiveCard): string {
  const first = card.body[0];
  expect(first?.type).toBe('RichTextBlock');
  return (first?.inlines as { text: string }[]).map((run) => run.text).join('');
}

function textBlocks(card: AdaptiveCard): string[] {
  return elements(card)
    .filter((e) => e.type === 'TextBlock')
    .map((e) => String(e.text));
}

const visible = (text: string | undefined) => text?.replace(ZWSP, '');

describe('resultCard', () => {
  const card = resultCard(deals(dealItems(), 42));

  it('is an Adaptive Card 1.4 titled with the action, the count and the profile', () => {
    expect(card.type).toBe('AdaptiveCard');
    expect(card.version).toBe('1.4');
    expect(heading(card)).toBe('My deals (42)');
    expect((card.body[1]?.inlines as { text: string }[])[0]?.text).toBe('HubSpot');
  });

  it('shows each result’s title, then its declared fields formatted (currency, date)', () => {
    const first = SAMPLE_CRM_DATA.deals[0]?.properties;
    expect(rows(card)[0]).toEqual([
      first?.dealname,
      `Amount: ${formatAmount(String(first?.amount), 'USD', 'en-US')} · Stage: ${first?.dealstage} · Close date: ${new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' }).format(Date.parse(String(first?.closedate)))}`,
    ]);
    expect(rows(card)[0]?.[1]).toMatch(
      /^Amount: \$[\d,]+ · Stage: \w+ · Close date: [A-Z][a-z]{2} \d{1,2}, \d{4}$/,
    );
  });

  it(`shows at most ${MAX_CARD_ROWS} rows and says how many there are in all`, () => {
    expect(rows(card)).toHaveLength(Math.min(MAX_CARD_ROWS, SAMPLE_CRM_DATA.deals.length));
    expect(textBlocks(card)).toEqual([`Showing ${rows(card).length} of 42.`]);
  });

  it('uses no images, no links and no TextBlock for API data', () => {
    const json = JSON.stringify(card);
    expect(json).not.toMatch(/"type":"(Image|Action\.OpenUrl)"/);
    expect(json).not.toContain('selectAction');
    // Fixed wording only in TextBlocks (which render markdown).
    expect(textBlocks(card).every((text) => /^Showing \d+ of \d+\.$/.test(text))).toBe(true);
  });

  it('falls back to the same content as plain text for hosts that cannot render the card', () => {
    expect(card.fallbackText).toBe(resultText(deals(dealItems(), 42)));
    const lines = card.fallbackText.split('\n');
    expect(lines[0]).toBe('My deals (42) (HubSpot):');
    expect(lines[1]).toBe(`• ${rows(card)[0]?.[0]} — ${rows(card)[0]?.[1]}`);
    expect(lines.at(-1)).toBe(`… and ${42 - rows(card).length} more.`);
  });

  it('titles a result without a title by its first field, and leaves out empty fields', () => {
    const card2 = resultCard(deals([{ values: { amount: '99', dealstage: null, closedate: '' } }]));
    expect(rows(card2)).toEqual([['$99']]);
    const card3 = resultCard(deals([{ values: { amount: null, dealstage: null, closedate: null } }]));
    expect(rows(card3)).toEqual([['Untitled']]);
  });

  it('an empty result is a plain sentence', () => {
    expect(emptyResultText({ title: 'My deals', profileName: 'HubSpot' })).toBe(
      'HubSpot has nothing for "My deals" right now.',
    );
    expect(resultText(deals([]))).toBe('HubSpot has nothing for "My deals" right now.');
  });

  it.each([
    ['plain', 'z'],
    ['dotted (an invisible space after each dot)', 'a.b'],
  ])(
    'stays small: the largest %s result a declaration allows is under 28 KB, Teams’ card limit',
    (_kind, unit) => {
      const fields: ActionField[] = Array.from({ length: 20 }, (_, i) => ({
        name: `f${i}`,
        label: `Label ${i} ${unit.repeat(30)}`,
        format: 'text',
      }));
      const items: ActionItem[] = Array.from({ length: 50 }, (_, i) => ({
        title: `T${i} ${unit.repeat(1000)}`,
        values: Object.fromEntries(fields.map((field) => [field.name, unit.repeat(1000)])),
      }));
      const big = resultCard({
        title: 't'.repeat(100),
        profileName: 'p'.repeat(100),
        fields,
        items,
        total: 10_000,
      });
      expect(rows(big)).toHaveLength(MAX_CARD_ROWS);
      // Title, then one line of at most MAX_CARD_FIELDS fields.
      expect(rows(big)[0]?.[1]?.split(' · ')).toHaveLength(MAX_CARD_FIELDS);
      expect(Buffer.byteLength(JSON.stringify(big))).toBeLessThan(28_000);
    },
  );
});

describe('formatValue', () => {
  it.each([
    [{ format: 'currency' }, '12500', '$12,500'],
    [{ format: 'currency' }, '7200.5', '$7,200.50'],
    [{ format: 'currency' }, 'n/a', 'n/a'],
    [{ format: 'number' }, '1234567.5', '1,234,567.5'],
    [{ format: 'number' }, 42, '42'],
    [{ format: 'date' }, '2025-07-31T00:00:00.000Z', 'Jul 31, 2025'],
    [{ format: 'date' }, '1753920000000', 'Jul 31, 2025'],
    [{ format: 'date' }, 'soon', 'soon'],
    [{ format: 'datetime' }, '2025-07-31T14:30:00.000Z', 'Jul 31, 2025, 2:30 PM'],
    [{ format: 'email' }, 'ada@example.com', 'ada@example.com'],
    [{ format: 'url' }, 'https://example.com/x', 'https://example.com/x'],
    [{ format: 'text' }, true, 'Yes'],
    [{ format: 'text' }, null, ''],
  ] as const)('%o %p → %p', (field, value, shown) => {
    expect(formatValue(value, field).replace(/\u202f/g, ' ')).toBe(shown);
  });

  it('formats for the given locale, currency and time zone', () => {
    const options = { locale: 'de-DE', currency: 'EUR', timeZone: 'Europe/Berlin' };
    expect(formatValue('1234.5', { format: 'currency' }, options).replace(/\s/g, ' ')).toBe('1.234,50 €');
    expect(formatValue('2025-07-31T23:30:00.000Z', { format: 'date' }, options)).toBe('01.08.2025');
  });
});

describe('hostile values from the API are inert', () => {
  const link = '[x](https://evil.example/login)';
  const mention = '<at>Everyone</at> pay now';

  it('a markdown link or a mention in a title or a value cannot become one, in the card or the text', () => {
    const card = resultCard(
      deals([{ title: link, values: { amount: null, dealstage: mention, closedate: 'www.evil.com' } }]),
    );
    const json = JSON.stringify(card);
    for (const forbidden of ['](', '<at>', 'https://', 'www.evil']) {
      expect(json).not.toContain(forbidden);
      expect(
        resultText(deals([{ title: link, values: { amount: null, dealstage: mention, closedate: null } }])),
      ).not.toContain(forbidden);
    }
    // The reader still sees the words as they are.
    expect(visible(rows(card)[0]?.[0])).toBe(link);
    expect(visible(rows(card)[0]?.[1])).toBe(`Stage: ${mention} · Close date: www.evil.com`);
    expect(textBlocks(card)).toEqual([]);
  });

  it('an e-mail or URL field is shown as text, never as a mailto: or web link', () => {
    const card = resultCard({
      title: 'Contacts',
      profileName: 'HubSpot',
      fields: [
        { name: 'email', label: 'Email', format: 'email' },
        { name: 'site', label: 'Site', format: 'url' },
      ],
      items: [{ title: 'Ada', values: { email: 'ada@evil.example', site: 'javascript:alert(1)' } }],
    });
    const json = JSON.stringify(card);
    expect(json).not.toContain('mailto');
    expect(json).not.toContain('javascript:alert');
    expect(json).not.toContain('evil.example');
    expect(visible(rows(card)[0]?.[1])).toBe('Email: ada@evil.example · Site: javascript:alert(1)');
  });

  it('an admin-written title or profile name is inert too, and long values are shortened', () => {
    const card = resultCard({
      ...deals([{ title: 'z'.repeat(500), values: {} }]),
      title: link,
      profileName: mention,
    });
    expect(JSON.stringify(card)).not.toContain('](');
    expect(JSON.stringify(card)).not.toContain('<at>');
    expect(Array.from(rows(card)[0]?.[0] ?? '')).toHaveLength(100);
  });
});

describe('codes and currencies the declaration explains', () => {
  const fields = [
    { name: 'amount', label: 'Amount', format: 'currency' as const },
    { name: 'dealstage', label: 'Stage', format: 'text' as const, labels: { contractsent: 'Contract sent' } },
  ];

  it('shows a declared word for an API code, and other values as they are', () => {
    expect(formatValue('contractsent', fields[1] as ActionField & { labels: Record<string, string> })).toBe(
      'Contract sent',
    );
    expect(formatValue('custom-stage', fields[1] as ActionField & { labels: Record<string, string> })).toBe(
      'custom-stage',
    );
    // Only the declared codes themselves: no prototype member becomes a label.
    expect(formatValue('constructor', fields[1] as ActionField & { labels: Record<string, string> })).toBe(
      'constructor',
    );
  });

  it("formats each amount in its own result's currency, USD when the result names none", () => {
    const result: CardResult = {
      title: 'My deals',
      profileName: 'HubSpot',
      fields,
      items: [
        {
          title: 'Euro deal',
          values: { amount: '7200.5', dealstage: 'contractsent' },
          currencies: { amount: 'EUR' },
        },
        { title: 'Plain deal', values: { amount: '12500', dealstage: 'closedwon' } },
      ],
    };
    const text = resultText(result)
      .replace(ZWSP, '')
      .replace(/\u202f/g, ' ');
    expect(text).toContain('Euro deal — Amount: €7,200.50 · Stage: Contract sent');
    expect(text).toContain('Plain deal — Amount: $12,500 · Stage: closedwon');
  });
});
