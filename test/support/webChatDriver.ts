// Drives the dev Web Chat page (bot/dev/webChat.ts) in Chromium through playwright-core, for the local
// channel's own tests and the product's end-to-end tests. Selectors are Web Chat 4.18's DOM.
import { existsSync } from 'node:fs';

import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const SEND_BOX = '[data-id="webchat-sendbox-input"]';
const BOT_BUBBLE = '.webchat__basic-transcript .webchat__bubble:not(.webchat__bubble--from-user)';
const TRANSCRIPT = '.webchat__basic-transcript';
// Web Chat wraps URLs in zero-width spaces (FACTS); regular expressions are tried with and without them.
const ZERO_WIDTH = /[\u200b-\u200d\u2060\ufeff]/g;

/** Why browser tests cannot run here, or undefined when they can. */
export function browserUnavailableReason(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `${CHROMIUM_PATH} is missing (apt-get install -y chromium); browser tests skipped`;
}

/** Headless Chromium with a fresh profile; give each flow its own context (browser.newContext()). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Opens the Web Chat page at baseUrl and waits until its send box is usable. */
export async function openWebChat(page: Page, baseUrl: string): Promise<void> {
  await page.goto(new URL('/', baseUrl).href);
  await page.locator(SEND_BOX).waitFor({ state: 'visible', timeout: 15_000 });
}

/** Types text in the send box and sends it with Enter, as a user would. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  const input = page.locator(SEND_BOX);
  await input.fill(text);
  await input.press('Enter');
}

/**
 * Waits for a bot message (text or card) matching regex, tried on its text trimmed and without zero-width
 * spaces, then as rendered; returns the cleaned text. Fails listing what the bot said.
 */
export async function waitForBotText(page: Page, regex: RegExp, timeoutMs = 10_000): Promise<string> {
  const pattern = { source: regex.source, flags: regex.flags.replace('g', '') };
  try {
    const match = await page.waitForFunction(
      ({ selector, source, flags, zeroWidth }) => {
        const re = new RegExp(source, flags);
        const invisible = new RegExp(zeroWidth, 'g');
        for (const bubble of Array.from(document.querySelectorAll(selector))) {
          const raw = bubble.textContent ?? '';
          const text = raw.replace(invisible, '').trim();
          if (re.test(text) || re.test(raw)) return text;
        }
        return null;
      },
      { selector: BOT_BUBBLE, ...pattern, zeroWidth: ZERO_WIDTH.source },
      { timeout: timeoutMs, polling: 100 },
    );
    return (await match.jsonValue()) as string;
  } catch (error) {
    const said = await botTexts(page).catch(() => []);
    throw new Error(
      `no bot message matched ${regex} within ${timeoutMs} ms; the bot said: ${JSON.stringify(said)}` +
        ` (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    );
  }
}

/** Every bot message's text so far, zero-width spaces removed. */
export async function botTexts(page: Page): Promise<string[]> {
  const texts = await page.locator(BOT_BUBBLE).allTextContents();
  return texts.map((text) => text.replace(ZERO_WIDTH, '').trim());
}

/** The href of every link in the transcript (Markdown links and card links), in order. */
export function linksInTranscript(page: Page): Promise<string[]> {
  return page
    .locator(`${TRANSCRIPT} a[href]`)
    .evaluateAll((anchors) => anchors.map((anchor) => (anchor as HTMLAnchorElement).href));
}

/** How many of the user's messages Web Chat marks "Send failed". */
export function sendFailures(page: Page): Promise<number> {
  return page
    .locator(TRANSCRIPT)
    .getByText(/Send failed/i)
    .count();
}

/**
 * Clicks a card button by its label (card openUrl/signin buttons are <button>s that call window.open,
 * so their URL is not in the DOM) and returns the page it opens.
 */
export async function clickCardButton(page: Page, label: string | RegExp): Promise<Page> {
  const popup = page.context().waitForEvent('page');
  await page.locator(TRANSCRIPT).getByRole('button', { name: label }).last().click();
  const opened = await popup;
  await opened.waitForLoadState('domcontentloaded');
  return opened;
}
