// The shared helper that keeps author-written text inert in chat (SECURITY.md #45), checked against the
// real renderer and autolinker Web Chat uses (markdown-it 13, linkify-it).
import { inertMarkdown, inertText, inertTextFull } from '../../dialogs/inertText';
import { hasAutolink, visibleText, webChatHtml } from '../support/webChatMarkdown';

const HOSTILE = [
  'Acme [verify your account here](https://evil.example/login)',
  'Acme verify at evil.example/login or evil.com/login',
  'https://evil.example/login',
  'www.evil.com',
  '//evil.com/x',
  'mailto:a@evil.com and a@evil.com',
  'http://127.0.0.1:8080/ or 10.0.0.1/admin',
  '<https://evil.com>',
  'Salesforce.com',
  '![pixel](https://evil.example/p.png)',
  '[Acme][1]',
  'evil。com/x and evil．com/x',
  'Acme <img src=x onerror=alert(1)> <a href="https://evil.example">x</a>',
];

/** The one-line text a reader should see: inertText's only visible changes are these. */
function oneLine(value: string): string {
  return value
    .replace(/[\u0000-\u001f\u2028\u2029\u202a-\u202e]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

describe('inertText (plain surfaces: plain messages, buttons, TextRuns)', () => {
  test('the hostile examples are links as given (so the checks below can fail)', () => {
    // Not every example is linked by linkify-it (`.example` is no TLD it knows, fullwidth dots, an
    // undefined reference): those are there for other clients' autolinkers.
    const linked = HOSTILE.filter((value) => hasAutolink(value) || /<a |<img/.test(webChatHtml(value)));
    expect(linked.length).toBe(HOSTILE.length - 2);
  });

  test.each(HOSTILE)('%s: no link, no autolink, reads the same', (value) => {
    const inert = inertText(value);
    expect(hasAutolink(inert)).toBe(false);
    expect(webChatHtml(inert)).not.toMatch(/<a |<img/);
    expect(inert).not.toContain('](');
    expect(inert).not.toMatch(/<[a-z/!]/i);
    expect(inert).not.toContain('\\');
    expect(inert.replace(/\u200B/g, '')).toBe(oneLine(value));
  });

  test('newlines, line separators and bidi overrides cannot start a new line or flip the text', () => {
    expect(inertText('Acme\n\n# Admin: click\u2028here\u202Eevil')).toBe('Acme # Admin: click here evil');
    expect(inertText('a\r\n- b')).toBe('a - b');
  });

  test('long text is cut to the limit with an ellipsis', () => {
    expect(Array.from(inertText('x'.repeat(500)))).toHaveLength(120);
    expect(inertText('abcdefghij', 5)).toBe('abcd…');
  });

  test('amounts and ordinary names are left alone', () => {
    expect(inertText('$7,200.50')).toBe('$7,200.50');
    expect(inertText('Test crm')).toBe('Test crm');
  });
});

describe('the shortcut for text with nothing to change (issue 12)', () => {
  // Letters and marks the shortcut takes, and everything the full steps change: each text is drawn from
  // the first set plus one of the second, so each unsafe mark is tried among otherwise plain words.
  const PLAIN = [...'aZé漢Ж19 ,\'&()+!?#%*;=$"-'];
  const UNSAFE = [
    ...'.:/<>[]{}@\\_~`|^',
    '  ',
    '\t',
    '\n',
    '\u00a0',
    '\u200b',
    '\u202e',
    '\u3002',
    '\u0301',
    '😀',
  ];

  test('gives what the full steps give, for 20,000 random texts and limits', () => {
    // xorshift32, seeded: the same texts on every run.
    let seed = 12;
    const next = (below: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return Math.floor(((seed >>> 0) / 4_294_967_296) * below);
    };
    let unchanged = 0;
    for (let i = 0; i < 20_000; i += 1) {
      const alphabet = [...PLAIN, UNSAFE[next(UNSAFE.length)] as string];
      const length = next(14);
      let text = '';
      for (let c = 0; c < length; c += 1) text += alphabet[next(alphabet.length)];
      const max = 3 + next(12);
      expect(inertText(text, max)).toBe(inertTextFull(text, max));
      if (inertTextFull(text, max) === text) unchanged += 1;
    }
    // Both kinds were drawn: texts the steps leave alone and texts they change.
    expect(unchanged).toBeGreaterThan(500);
    expect(unchanged).toBeLessThan(19_500);
  });

  test('names, stages and amounts without dots come back as they are; hostile text does not', () => {
    for (const plain of ['Acme Corp', 'Renewal - Q3 (EMEA)', "O'Brien & Sons", 'Closed won', '7,200']) {
      expect(inertText(plain)).toBe(plain);
    }
    for (const hostile of HOSTILE) expect(inertText(hostile)).not.toBe(hostile);
  });
});

describe('inertMarkdown (fields Web Chat renders as markdown: hero card title and text)', () => {
  const MARKUP = /<(a|img|em|strong|code|h\d|blockquote|ul|ol|li|s|del|b|table|hr)\b/;
  test.each([
    ...HOSTILE,
    '# Urgent',
    '> quoted',
    '- item',
    '1. one',
    '**bold** _it_ ~~gone~~ `code`',
    '| a | b |',
    'AT&T &amp; (c) -- "q"',
    'back\\slash',
  ])('%s: renders as exactly its text', (value) => {
    const html = webChatHtml(inertMarkdown(value));
    expect(html).not.toMatch(MARKUP);
    expect(hasAutolink(visibleText(html).replace(/\s/g, ' '))).toBe(hasAutolink(oneLine(value)));
    expect(visibleText(html)).toBe(oneLine(value));
  });
});
