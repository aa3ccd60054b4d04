// Profile URL templates are parsed once per source, not on every render (issue 12: each outgoing
// request and token check renders its profile's URLs), and a refused source is still refused with the
// field it is used in.
import { renderUrlTemplate, templateVariables } from '../../profiles/urlTemplates';

const mockParses = jest.fn();
jest.mock('handlebars', () => {
  const actual = jest.requireActual<typeof import('handlebars')>('handlebars');
  const create = () => {
    const env = actual.create();
    const parse = env.parse.bind(env);
    env.parse = ((...args: Parameters<typeof parse>) => {
      mockParses(args[0]);
      return parse(...args);
    }) as typeof env.parse;
    return env;
  };
  const handlebars = { ...actual, create };
  return { ...handlebars, __esModule: true, default: handlebars };
});

test('a source is parsed once however often it is rendered; one without placeholders is not parsed', () => {
  const source = 'https://{{subdomain}}.example.com/oauth/token';
  for (let i = 0; i < 5; i += 1) {
    expect(renderUrlTemplate(source, 'tokenUrl', { subdomain: `acme${i}` })).toBe(
      `https://acme${i}.example.com/oauth/token`,
    );
  }
  expect(renderUrlTemplate('https://api.example.com/', 'apiBaseUrl', {})).toBe('https://api.example.com/');
  // Once to find its variables, once when Handlebars compiles it (compiled templates are kept too).
  expect(mockParses.mock.calls).toEqual([[source], [source]]);
});

test('a refused source is refused each time, naming the field it is used in', () => {
  const source = 'https://{{#if a}}x{{/if}}.example.com/';
  expect(() => templateVariables(source, 'authorizationUrl')).toThrow(
    'authorizationUrl may only contain plain {{variable}} placeholders',
  );
  expect(() => templateVariables(source, 'tokenUrl')).toThrow(
    'tokenUrl may only contain plain {{variable}} placeholders',
  );
  expect(() => templateVariables('https://{{', 'tokenUrl')).toThrow('tokenUrl is not a valid template');
  expect(() => templateVariables('https://{{', 'refreshUrl')).toThrow('refreshUrl is not a valid template');
  // The names come back as a fresh array: a caller changing it changes nothing for the next one.
  const names = templateVariables('https://{{a}}.{{b}}.example.com/', 'tokenUrl');
  names.push('c');
  expect(templateVariables('https://{{a}}.{{b}}.example.com/', 'tokenUrl')).toEqual(['a', 'b']);
});
