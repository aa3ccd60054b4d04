// (d) Action result cards: a page of deals built into an Adaptive Card, against serialising the same
// page (JSON.stringify), the least any reply does with it, measured in the same run.
import { MAX_CARD_ROWS, resultCard, type CardResult } from '../../dialogs/actionCards';
import { informational, round, row, type SectionResult } from './benchFigures';

const CARD_OPS = 20_000;
const ROUNDS = 4;

/** A page of deals as HubSpot returns them: amounts in two currencies, close dates as ISO and epoch ms. */
function dealPage(): { id: string; properties: Record<string, string | null> }[] {
  const stages = ['appointmentscheduled', 'contractsent', 'closedwon', 'closedlost', 'custom-stage'];
  return Array.from({ length: MAX_CARD_ROWS }, (_, i) => ({
    id: String(1000 + i),
    properties: {
      dealname: `Deal ${i} for Example Corp`,
      amount: i % 3 === 0 ? `${12_500 + i}` : `${7_200 + i}.5`,
      deal_currency_code: i % 2 === 0 ? 'USD' : 'EUR',
      dealstage: stages[i % stages.length] ?? null,
      closedate: i % 2 === 0 ? `2025-07-${String(10 + i).padStart(2, '0')}T00:00:00.000Z` : '1753920000000',
    },
  }));
}

export function cardFormattingSection(): SectionResult {
  const results = dealPage();
  // The HubSpot catalogue's deals.list-mine result (profiles/systemCatalog.json) as the runner gives it.
  const input: CardResult = {
    title: 'My deals',
    profileName: 'HubSpot',
    fields: [
      { name: 'amount', label: 'Amount', format: 'currency' },
      { name: 'dealstage', label: 'Stage', format: 'text' },
      { name: 'closedate', label: 'Close date', format: 'date' },
    ],
    items: results.map(({ properties: p }) => ({
      ...(p.dealname ? { title: p.dealname } : {}),
      values: { amount: p.amount ?? null, dealstage: p.dealstage ?? null, closedate: p.closedate ?? null },
    })),
    total: 42,
  };
  const options = { locale: 'en-US', timeZone: 'UTC' };
  const time = (ops: number, call: () => unknown): number => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < ops; i += 1) call();
    return Number(process.hrtime.bigint() - started) / 1e9;
  };
  const card = () => resultCard(input, options);
  const serialise = () => JSON.stringify(results);
  time(2_000, card);
  time(2_000, serialise);
  let cardSeconds = 0;
  let serialiseSeconds = 0;
  for (let i = 0; i < ROUNDS; i += 1) {
    cardSeconds += time(CARD_OPS / ROUNDS, card);
    serialiseSeconds += time(CARD_OPS / ROUNDS, serialise);
  }
  const cardsPerSecond = Math.round(CARD_OPS / cardSeconds);
  const serialisedPerSecond = Math.round(CARD_OPS / serialiseSeconds);
  const ratio = round(cardsPerSecond / serialisedPerSecond, 3);
  return {
    name: 'cards',
    lines: [
      `(d) CRM card formatting: a page of ${results.length} deals (dialogs/actionCards.ts)`,
      row('', ['per second']),
      row('resultCard (amounts, dates, stages)', [cardsPerSecond], informational),
      row('baseline: JSON.stringify of the same page', [serialisedPerSecond], informational),
      row('ratio cards / baseline', [ratio], informational),
    ],
    figures: { rowsPerCard: results.length, cardsPerSecond, serialisedPerSecond, ratio },
    broken: [],
    verdicts: [],
  };
}
