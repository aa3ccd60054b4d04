// End to end in Microsoft 365 Agents Playground, a local Teams-like client (issue 9 point 6): the real
// service (bot/main.ts, dev mode, demo CRM and demo authorization server) behind the Playground on
// channel msteams, its web UI driven in Chromium as a user would. Personal chat: "show my deals" →
// the Teams sign-in card → its link opens a new page → login and consent at the demo provider → the
// page shows the code → the code typed in the Playground chat → the deals.
import type { Browser, Page } from 'playwright-core';

import { SAMPLE_CRM_DATA } from '../../bot/dev/demoCrm/sampleCrmData';
import { ownerOfLogin } from '../../bot/dev/demoCrm/sampleOwners';
import {
  playgroundUnavailableReason,
  startAgentsPlayground,
  type AgentsPlayground,
} from '../support/agentsPlayground';
import { freePort, startService, type RunningService } from '../support/serviceProcess';
import { browserUnavailableReason, launchBrowser } from '../support/webChatDriver';

jest.setTimeout(90_000);

// Anchored: the Playground's log panel repeats message text inside longer lines.
// "show my deals" is the HubSpot catalogue's deals.list-mine action (issue 11): alice's own deals only.
const ALICES_DEALS = SAMPLE_CRM_DATA.deals
  .filter((deal) => deal.properties.hubspot_owner_id === ownerOfLogin('alice')?.id)
  .sort((x, y) => Date.parse(x.properties.closedate ?? '') - Date.parse(y.properties.closedate ?? ''));
const DEALS_HEADING = new RegExp(`^My deals \\(${ALICES_DEALS.length}\\)$`);
const FIRST_DEAL = ALICES_DEALS[0]?.properties.dealname ?? 'no deal of alice';
const SIGN_IN = 'Sign in to Demo CRM';

const skipReason = browserUnavailableReason() ?? playgroundUnavailableReason();
if (skipReason) console.log(`agentsPlayground: ${skipReason}`);
const browserTest = skipReason ? test.skip : test;

let service: RunningService | undefined;
let playground: AgentsPlayground | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (skipReason) return;
  const port = await freePort();
  service = await startService({
    name: 'playground-bot',
    port,
    env: { PUBLIC_URL: `http://127.0.0.1:${port}`, DEMO_PROVIDER_PORT: String(await freePort()) },
  });
  playground = await startAgentsPlayground(`${service.baseUrl}/api/messages`);
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await playground?.stop();
  await service?.stop();
});

/** Types in the Playground's message box and sends with Enter, as a user would. */
async function say(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox');
  await box.click();
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

browserTest(
  'personal chat: the Teams sign-in card, consent in a new page, the code typed in chat, the deals',
  async () => {
    const context = await (browser as Browser).newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const page = await context.newPage();
      await page.goto((playground as AgentsPlayground).url);
      // The bot's welcome (sent on the Playground's conversationUpdate): the personal chat is connected.
      // (.first(): the chat list previews the same text.)
      await page
        .getByText(/Here is what I can do/)
        .first()
        .waitFor({ timeout: 20_000 });

      await say(page, 'show my deals');
      const button = page.getByRole('button', { name: SIGN_IN });
      await button.waitFor({ timeout: 15_000 });
      await page
        .getByText(/^To do that I need access to Demo CRM on your behalf\./)
        .first()
        .waitFor({ timeout: 5_000 });

      // The card's signin action opens the one-time start link in a new page.
      const startRequest = context.waitForEvent('request', (request) =>
        request.url().includes('/oauth/start/'),
      );
      const popupOpened = context.waitForEvent('page');
      await button.click();
      const popup = await popupOpened;
      expect((await startRequest).url()).toMatch(
        new RegExp(`^${(service as RunningService).baseUrl}/oauth/start/req_`),
      );

      // oidc-provider's dev interactions: a login form (any name, password ignored), then consent.
      await popup.locator('input[name="login"]').waitFor({ state: 'visible', timeout: 15_000 });
      await popup.locator('input[name="login"]').fill('alice');
      await popup.locator('input[name="password"]').fill('any password');
      await popup.locator('button[type="submit"]').click();
      await popup
        .locator('input[name="prompt"][value="consent"]')
        .waitFor({ state: 'attached', timeout: 15_000 });
      await popup.locator('button[type="submit"]').click();
      const codeElement = popup.locator('#verification-code');
      await codeElement.waitFor({ state: 'visible', timeout: 15_000 });
      const code = (await codeElement.getAttribute('data-code')) ?? '';
      expect(code).toMatch(/^\d{6}$/);
      expect((await codeElement.innerText()).replace(/\s/g, '')).toBe(code);

      // The Playground is no teams-js host: nothing hands the code over (no notifySuccess, no
      // signin/verifyState), so the user types it, as the page asks.
      await say(page, code);
      await page
        .getByText(/^You['’]re connected to Demo CRM\.$/)
        .first()
        .waitFor({ timeout: 15_000 });
      await page.getByText(DEALS_HEADING).first().waitFor({ timeout: 15_000 });
      await page.getByText(FIRST_DEAL, { exact: true }).first().waitFor({ timeout: 5_000 });
    } finally {
      await context.close();
    }
  },
);
