// CRM results as Adaptive Cards and plain text: what a person reads, and what a hostile record name
// cannot do.
import { SAMPLE_CRM_DATA } from '../../bot/dev/demoCrm/sampleCrmData';
import {
  companiesCard,
  contactsCard,
  dealsCard,
  summaryText,
  ticketsCard,
  type AdaptiveCard,
  type CardElement,
} from '../../dialogs/crm/crmCards';
import { formatAmount } from '../../dialogs/crm/crmFormats';
import { inertText } from '../../dialogs/inertText';
import type { CrmRecord } from '../../dialogs/crm/hubspotClient';

const ZWSP = /\u200B/g;

const sample = (type: keyof typeof SAMPLE_CRM_DATA): CrmRecord[] =>
  SAMPLE_CRM_DATA[type].map((r) => ({ id: r.id, properties: { ...r.properties }, createdAt: r.createdAt }));

function deal(properties: Record<string, string | null>, id = '1'): CrmRecord {
  return { id, properties };
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

/** What a reader sees: the zero-width spaces that keep e-mail addresses and domains from autolinking are invisible. */
function visible(texts: string[] | undefined): string[] | undefined {
  return texts?.map((text) => text.replace(ZWSP, ''));
}

function title(card: AdaptiveCard): string {
  const first = card.body[0];
  expect(first?.type).toBe('RichTextBlock');
  return (first?.inlines as { text: string }[]).map((run) => run.text).join('');
}

function textBlocks(card: AdaptiveCard): string[] {
  return elements(card)
    .filter((e) => e.type === 'TextBlock')
    .map((e) => String(e.text));
}

describe('dealsCard', () => {
  const card = dealsCard({ results: sample('deals'), total: 8 });

  it('is an Adaptive Card 1.4 titled with the count', () => {
    expect(card.type).toBe('AdaptiveCard');
    expect(card.version).toBe('1.4');
    expect(title(card)).toBe('Your deals (8)');
  });

  it('shows name, amount as currency, stage label and close date per deal', () => {
    const [first, third, sixth] = [rows(card)[0], rows(card)[2], rows(card)[5]];
    expect(first).toEqual(['Analytical Engines renewal', '$12,500', 'Contract sent · Closes Jul 31, 2025']);
    expect(third).toEqual([
      'Bletchley Analytics pilot',
      '$7,200.50',
      'Qualified to buy · Closes Sep 1, 2025',
    ]);
    expect(sixth).toEqual(['Spread Spectrum licences', '$22,000', 'Closed won · Closed May 30, 2025']);
    expect(rows(card)).toHaveLength(8);
  });

  it('colours won deals good and lost deals attention', () => {
    const runs = elements(card)
      .filter((e) => e.type === 'RichTextBlock')
      .flatMap((e) => e.inlines as { text: string; color?: string }[]);
    expect(runs.find((r) => r.text === 'Closed won')?.color).toBe('Good');
    expect(runs.find((r) => r.text === 'Closed lost')?.color).toBe('Attention');
    expect(runs.find((r) => r.text === 'Contract sent')?.color).toBeUndefined();
  });

  it('uses no images and no links', () => {
    expect(elements(card).map((e) => e.type)).not.toContain('Image');
    expect(JSON.stringify(card.body)).not.toMatch(/https?:/);
    expect(card).not.toHaveProperty('actions');
  });

  it('shows at most 10 rows and says how many more there are', () => {
    const many = Array.from({ length: 23 }, (_, i) =>
      deal({ dealname: `Deal ${i + 1}`, amount: '100' }, String(i)),
    );
    const big = dealsCard({ results: many, total: 23 });
    expect(title(big)).toBe('Your deals (23)');
    expect(rows(big)).toHaveLength(10);
    expect(textBlocks(big)).toEqual(['Showing 10 of 23 deals.']);
    const text = summaryText('deals', { results: many, total: 23 });
    expect(text.split('\n')).toHaveLength(12);
    expect(text.split('\n').at(-1)).toBe('… and 13 more.');
  });

  it('formats a deal_currency_code, a custom stage label and a missing amount', () => {
    const custom = dealsCard(
      {
        results: [
          deal({ dealname: 'Euro deal', amount: '12500', deal_currency_code: 'EUR', dealstage: '987654' }),
          deal({ dealname: 'No amount', amount: null, dealstage: '123' }),
        ],
      },
      { stageLabels: { '987654': 'Legal review' } },
    );
    expect(rows(custom)).toEqual([
      ['Euro deal', '€12,500', 'Legal review'],
      ['No amount', 'No amount', 'Stage 123'],
    ]);
  });

  it('formats amounts for the given locale', () => {
    expect(formatAmount('1234.5', 'EUR', 'de-DE').replace(/\s/g, ' ')).toBe('1.234,50 €');
    expect(formatAmount('99', 'USD', 'en-US')).toBe('$99');
    expect(formatAmount('n/a', 'USD', 'en-US')).toBe('n/a');
  });

  it('builds each Intl formatter once per locale and options, keeping at most 64 (issue 12)', () => {
    const numberFormat = jest.spyOn(Intl, 'NumberFormat');
    const dateFormat = jest.spyOn(Intl, 'DateTimeFormat');
    try {
      // A locale no other test uses, so nothing is cached yet.
      const locale = 'en-IE';
      const deals: CrmRecord[] = Array.from({ length: 10 }, (_, i) => ({
        id: String(i),
        properties: { dealname: `D${i}`, amount: i % 2 ? '5.5' : '7', closedate: '2025-07-31' },
      }));
      const texts = [1, 2, 3].map(() => rows(dealsCard({ results: deals }, { locale, currency: 'GBP' })));
      // Same figures each time, and integer vs fractional amounts do not share a formatter.
      expect(texts[2]).toEqual(texts[0]);
      expect(texts[0]?.slice(0, 2)).toEqual([
        ['D0', '£7', 'Closes 31 Jul 2025'],
        ['D1', '£5.50', 'Closes 31 Jul 2025'],
      ]);
      expect(numberFormat).toHaveBeenCalledTimes(2);
      expect(dateFormat).toHaveBeenCalledTimes(1);
      // Bounded: 64 other currencies push the first formatter out, so it is built again.
      for (let i = 0; i < 64; i += 1)
        formatAmount(
          '1',
          `X${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(65 + Math.floor(i / 26))}`,
          locale,
        );
      expect(numberFormat).toHaveBeenCalledTimes(66);
      expect(formatAmount('7', 'GBP', locale)).toBe('£7');
      expect(numberFormat).toHaveBeenCalledTimes(67);
    } finally {
      numberFormat.mockRestore();
      dateFormat.mockRestore();
    }
  });

  it('falls back to the plain-text summary for hosts that cannot render the card', () => {
    expect(card.fallbackText).toBe(summaryText('deals', { results: sample('deals'), total: 8 }));
    expect(card.fallbackText.split('\n').slice(0, 2)).toEqual([
      'Your deals (8):',
      '• Analytical Engines renewal — $12,500 — Contract sent · Closes Jul 31, 2025',
    ]);
  });
});

describe('empty results', () => {
  it.each([
    ['deals', dealsCard, 'No deals found.'],
    ['contacts', contactsCard, 'No contacts found.'],
    ['companies', companiesCard, 'No companies found.'],
    ['tickets', ticketsCard, 'No tickets found.'],
  ] as const)('%s: a friendly message instead of an empty list', (kind, render, message) => {
    const card = render({ results: [], total: 0 });
    expect(textBlocks(card)).toEqual([message]);
    expect(rows(card)).toEqual([]);
    expect(summaryText(kind, { results: [] })).toBe(message);
    expect(card.fallbackText).toBe(message);
  });
});

describe('contactsCard', () => {
  it('shows name, then email, company and phone; at most 10 of 12', () => {
    const card = contactsCard({ results: sample('contacts') });
    expect(title(card)).toBe('Contacts (12)');
    expect(rows(card)).toHaveLength(10);
    expect(visible(rows(card)[0])).toEqual([
      'Ada Lovelace',
      'ada@analytical.example · Analytical Engines Ltd · +44 20 7946 0001',
    ]);
    expect(textBlocks(card)).toEqual(['Showing 10 of 12 contacts.']);
  });

  it('names a contact by email when it has no name, and takes a custom title', () => {
    const card = contactsCard(
      {
        results: [
          { id: '1', properties: { firstname: null, lastname: '', email: 'x@y.example', phone: null } },
        ],
      },
      { title: 'Contacts matching "x"' },
    );
    expect(title(card)).toBe('Contacts matching "x" (1)');
    expect(rows(card).map(visible)).toEqual([['x@y.example']]);
    expect(rows(card)[0]?.[0]).toBe('x@y.\u200Bexample');
  });
});

describe('companiesCard', () => {
  it('shows name, domain, industry and city', () => {
    const card = companiesCard({ results: sample('companies'), total: 6 });
    expect(title(card)).toBe('Companies (6)');
    expect(visible(rows(card)[3])).toEqual([
      'Orbit Dynamics',
      'orbit.example · Aviation & Aerospace · Hampton',
    ]);
  });
});

describe('ticketsCard', () => {
  it('shows subject, priority and stage', () => {
    const card = ticketsCard({ results: sample('tickets') });
    expect(title(card)).toBe('Your tickets (6)');
    expect(rows(card)[2]).toEqual([
      'SSO login loops back to the start page',
      'Urgent',
      'Waiting on us · Opened Jun 9, 2025',
    ]);
    expect(rows(card)[5]).toEqual([
      'Password reset e-mail not received',
      'Medium',
      'Closed · Opened May 28, 2025',
    ]);
    const urgent = elements(card)
      .filter((e) => e.type === 'RichTextBlock')
      .flatMap((e) => e.inlines as { text: string; color?: string }[])
      .find((run) => run.text === 'Urgent');
    expect(urgent?.color).toBe('Attention');
  });
});

describe('hostile values from the API', () => {
  const malicious = '[click](https://evil)';

  it('cannot become a markdown link in the card or in the text', () => {
    const card = dealsCard({ results: [deal({ dealname: malicious, amount: '1' })] });
    const json = JSON.stringify(card);
    expect(json).not.toContain('](');
    expect(json).not.toContain(malicious);
    // The reader still sees the name as it is.
    expect(rows(card)[0]?.[0]?.replace(ZWSP, '')).toBe(malicious);
    expect(summaryText('deals', { results: [deal({ dealname: malicious })] })).not.toContain('](');
  });

  it('is never placed in a TextBlock, which renders markdown', () => {
    const card = contactsCard({
      results: [
        { id: '1', properties: { firstname: '**Urgent**', lastname: '_wire money_', company: malicious } },
      ],
    });
    expect(textBlocks(card)).toEqual([]);
    expect(rows(card)[0]?.[0]).toBe('**Urgent** _wire money_');
  });

  it('cannot add lines, autolinks, templates or reverse the text direction', () => {
    expect(inertText('Acme\n\n- [x](https://evil)')).toBe('Acme - [x]\u200B(https:\u200B/\u200B/evil)');
    expect(inertText('<https://evil.example>')).toBe('<\u200Bhttps:\u200B/\u200B/evil.\u200Bexample>');
    expect(inertText('{{DATE(2017-02-14T06:08:00Z)}}')).toBe(
      '{\u200B{DATE(2017-02-14T06:\u200B08:\u200B00Z)}}',
    );
    expect(inertText('invoice\u202Efdp.exe')).toBe('invoice fdp.\u200Bexe');
    expect(inertText('[a] [b]')).toBe('[a]\u200B [b]');
  });

  it('is shortened when very long', () => {
    const text = inertText('x'.repeat(500));
    expect(Array.from(text)).toHaveLength(120);
    expect(text.endsWith('…')).toBe(true);
  });
});
