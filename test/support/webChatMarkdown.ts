// What a Web Chat user sees from markdown: Web Chat 4.18 (botframework-webchat, a dependency) renders
// message text and hero card title/text with markdown-it 13 and these options
// (botframework-webchat/src/markdown/renderMarkdown.ts); linkify-it is the autolinker it uses. Both are
// the real libraries from node_modules (botframework-webchat's own dependencies), loaded without types.
import { createRequire } from 'node:module';

const load = createRequire(__filename);
const MarkdownIt = load('markdown-it') as new (options: Record<string, unknown>) => {
  render(source: string): string;
};
const LinkifyIt = load('linkify-it') as new () => { test(text: string): boolean };

const markdown = new MarkdownIt({
  breaks: false,
  html: true,
  linkify: true,
  typographer: true,
  xhtmlOut: true,
});
const linkify = new LinkifyIt();

/** The HTML Web Chat's markdown engine makes of `source` (before Web Chat's sanitizer). */
export function webChatHtml(source: string): string {
  return markdown.render(source);
}

/** Whether an autolinker (linkify-it, as in Web Chat) finds a URL, host name or e-mail address in `text`. */
export function hasAutolink(text: string): boolean {
  return linkify.test(text);
}

/** The text a reader sees in rendered HTML: tags dropped, entities decoded, zero-width spaces unseen. */
export function visibleText(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\u200B/g, '')
    .trim();
}
