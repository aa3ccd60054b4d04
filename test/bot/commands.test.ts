// What chat messages ask for: the fixed commands (parseCommand), and a profile's actions
// (parseActionCommand, parseCardSubmit) matched against the bundled HubSpot catalogue's phrases.
import { parseActionCommand, parseCardSubmit, type ProfileActions } from '../../dialogs/actionCommands';
import { normalise, parseCommand, replacesWaitingDialog, type ChatCommand } from '../../dialogs/commands';
import { viewOf } from '../../profiles/actions/actionRunner';
import { bundledProfiles } from '../../profiles/profileCatalog';
import type { Profile } from '../../profiles/profileCatalog';

test.each([
  ['my connections', { kind: 'connections' }],
  ['sign out of HubSpot', { kind: 'sign-out', profile: 'HubSpot' }],
  ['sign out', { kind: 'sign-out', profile: null }],
  ['logout from demo', { kind: 'sign-out', profile: 'demo' }],
  ['connect hubspot as work', { kind: 'connect', profile: 'hubspot', connection: 'work' }],
  ['connect to HubSpot', { kind: 'connect', profile: 'HubSpot', connection: null }],
  ['use my work account for hubspot', { kind: 'use-connection', profile: 'hubspot', connection: 'work' }],
  ['use default for HubSpot', { kind: 'use-connection', profile: 'HubSpot', connection: 'default' }],
  ['sign out of hubspot work', { kind: 'sign-out', profile: 'hubspot work' }],
  ['help', { kind: 'help' }],
  ['hello', { kind: 'greeting' }],
  ['Hi there!', { kind: 'greeting' }],
  ['make me a sandwich', { kind: 'unknown', text: 'make me a sandwich' }],
  // Actions are not fixed commands: they are matched against the profiles' phrases (below).
  ['show my deals', { kind: 'unknown', text: 'show my deals' }],
])('%s', (text, expected) => {
  expect(parseCommand(text)).toEqual(expected);
});

const bundledHubspot = bundledProfiles({ allowInsecureLoopback: false }).get('hubspot');

function profileActions(
  id: string,
  displayName: string,
  options: { usable?: boolean; disabled?: string[] } = {},
): ProfileActions {
  const actionSettings = Object.fromEntries((options.disabled ?? []).map((key) => [key, { enabled: false }]));
  const profile = { ...bundledHubspot, id, displayName, actionSettings } as unknown as Profile;
  return {
    id,
    displayName,
    usable: options.usable ?? true,
    actions: profile.actions.map((action) => viewOf(profile, action)),
  };
}

const HUBSPOT = profileActions('hubspot', 'HubSpot');

function parse(text: string, profiles: ProfileActions[] = [HUBSPOT], preferred?: string): ChatCommand | null {
  return parseActionCommand(normalise(text), profiles, preferred);
}

describe('actions by phrase', () => {
  // Today's commands keep working as bare phrases of the HubSpot profile.
  test.each([
    ['show my deals', 'deals.list-mine', {}],
    ['Show my open deals!', 'deals.list-mine', {}],
    ['show companies', 'companies.list', {}],
    ['show my tickets', 'tickets.list-mine', {}],
    ['find contact Ada Lovelace', 'contacts.find', { query: 'Ada Lovelace' }],
    ['<at>Bot</at> find contact ada', 'contacts.find', { query: 'ada' }],
    ['hubspot: list my deals', 'deals.list-mine', {}],
    ['HubSpot: LIST MY DEALS', 'deals.list-mine', {}],
    ['HUBSPOT: find contact Ada', 'contacts.find', { query: 'Ada' }],
  ])('%s → %s', (text, action, params) => {
    expect(parse(text)).toEqual({ kind: 'run-action', profile: 'hubspot', action, params });
  });

  test('the phrase with the longest literal part wins', () => {
    expect(parse('find contact by email ada@example.com')).toEqual({
      kind: 'run-action',
      profile: 'hubspot',
      action: 'contacts.by-email',
      params: { email: 'ada@example.com' },
    });
    expect(parse('find contact by')).toEqual({
      kind: 'run-action',
      profile: 'hubspot',
      action: 'contacts.find',
      params: { query: 'by' },
    });
  });

  test('a phrase without its parameter still names the action, so the dialog can ask for it', () => {
    expect(parse('find contact')).toEqual({
      kind: 'run-action',
      profile: 'hubspot',
      action: 'contacts.find',
      params: {},
    });
  });

  test('the slot keeps the text as typed; its length is checked by the action (maxLength)', () => {
    const long = `find contact ${'x'.repeat(500)}`;
    expect(parse(long)).toMatchObject({ params: { query: 'x'.repeat(500) } });
    // Past MAX_ACTION_MESSAGE nothing is matched at all.
    expect(parse(`find contact ${'x'.repeat(2000)}`)).toBeNull();
  });

  test('a disabled action still matches (so chat can say it is off), but an enabled one wins', () => {
    const off = profileActions('hubspot', 'HubSpot', { disabled: ['deals.list-mine'] });
    expect(parse('show my deals', [off])).toMatchObject({ action: 'deals.list-mine' });
    const other = profileActions('crm2', 'Other CRM');
    expect(parse('show my deals', [off, other])).toMatchObject({ profile: 'crm2' });
  });

  test('text that is no phrase is no action; codes and "cancel" are never phrases', () => {
    expect(parse('make me a sandwich')).toBeNull();
    expect(parse('123456')).toBeNull();
    expect(parse('cancel')).toBeNull();
  });
});

describe('a bare phrase several profiles know', () => {
  const demo = profileActions('demo', 'Demo CRM');
  const demoOrg = profileActions('demo-org', 'Demo CRM for the organisation');

  test('goes to the preferred profile (CRM_PROFILE)', () => {
    expect(parse('show my deals', [demoOrg, demo], 'demo')).toMatchObject({ profile: 'demo' });
    expect(parse('show my deals', [demoOrg, demo], 'demo-org')).toMatchObject({ profile: 'demo-org' });
  });

  test('else asks which', () => {
    expect(parse('show my deals', [demoOrg, demo], 'hubspot')).toEqual({
      kind: 'ambiguous-action',
      profiles: ['demo-org', 'demo'],
      text: 'show my deals',
    });
  });

  test('only usable profiles count; the only (or preferred) unusable one answers when none is usable', () => {
    const unset = profileActions('hubspot', 'HubSpot', { usable: false });
    expect(parse('show my deals', [unset, demo], 'hubspot')).toMatchObject({ profile: 'demo' });
    expect(parse('show my deals', [unset], undefined)).toMatchObject({ profile: 'hubspot' });
    const unset2 = profileActions('other', 'Other', { usable: false });
    expect(parse('show my deals', [unset, unset2], undefined)).toBeNull();
    expect(parse('show my deals', [unset, unset2], 'other')).toMatchObject({ profile: 'other' });
  });

  test('a profile named before a colon takes it, by id or display name, whatever the others', () => {
    expect(parse('Demo CRM for the organisation: show my deals', [demo, demoOrg], 'demo')).toMatchObject({
      profile: 'demo-org',
    });
    expect(parse('demo: show my deals', [demo, demoOrg], 'demo-org')).toMatchObject({ profile: 'demo' });
  });
});

describe('actions by key and the menu', () => {
  test('entity action key=value …', () => {
    expect(parse('hubspot: deals list-mine limit=5')).toEqual({
      kind: 'run-action',
      profile: 'hubspot',
      action: 'deals.list-mine',
      params: { limit: '5' },
    });
    expect(parse('hubspot: contacts.find query="Ada Lovelace" limit=2')).toEqual({
      kind: 'run-action',
      profile: 'hubspot',
      action: 'contacts.find',
      params: { query: 'Ada Lovelace', limit: '2' },
    });
  });

  test('an unknown key, bad pairs or too many pairs are no action of the profile', () => {
    expect(parse('hubspot: deals delete-all')).toEqual({
      kind: 'no-such-action',
      profile: 'hubspot',
      text: 'deals delete-all',
    });
    expect(parse('hubspot: deals list-mine limit')).toMatchObject({ kind: 'no-such-action' });
    const many = Array.from({ length: 21 }, (_, i) => `p${i}=1`).join(' ');
    expect(parse(`hubspot: deals list-mine ${many}`)).toMatchObject({ kind: 'no-such-action' });
  });

  test.each(['hubspot actions', 'hubspot:', 'hubspot: help', 'HubSpot: actions', 'HubSpot actions'])(
    '%s → the menu',
    (text) => {
      expect(parse(text)).toEqual({ kind: 'action-menu', profile: 'hubspot' });
    },
  );
});

describe('a menu card submit', () => {
  test('runs the button’s action with its own inputs only', () => {
    expect(
      parseCardSubmit({
        authprofiles: { profile: 'hubspot', action: 'contacts.find' },
        'contacts.find.query': 'ada',
        'companies.find.query': '',
        'owners.by-email.email': 'someone@example.com',
      }),
    ).toEqual({ kind: 'run-action', profile: 'hubspot', action: 'contacts.find', params: { query: 'ada' } });
  });

  test.each([
    ['no authprofiles member', { foo: 1 }, null],
    ['not an object', 'x', null],
    ['a bad profile id', { authprofiles: { profile: '../x', action: 'deals.list' } }, { kind: 'bad-submit' }],
    ['a bad action key', { authprofiles: { profile: 'hubspot', action: 'deals' } }, { kind: 'bad-submit' }],
    ['data that is not an object', { authprofiles: 'hubspot' }, { kind: 'bad-submit' }],
    [
      'a non-text input',
      { authprofiles: { profile: 'hubspot', action: 'contacts.find' }, 'contacts.find.query': { $gt: '' } },
      { kind: 'bad-submit' },
    ],
    [
      'an input too long',
      {
        authprofiles: { profile: 'hubspot', action: 'contacts.find' },
        'contacts.find.query': 'x'.repeat(2001),
      },
      { kind: 'bad-submit' },
    ],
    [
      'too many members',
      {
        authprofiles: { profile: 'hubspot', action: 'contacts.find' },
        ...Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v'])),
      },
      { kind: 'bad-submit' },
    ],
  ])('refuses %s', (_name, value, expected) => {
    expect(parseCardSubmit(value)).toEqual(expected);
  });
});

// Issue 7 point 14: while a sign-in waits, only a request for something new replaces it.
test.each([
  ['show my deals', true],
  ['hubspot actions', true],
  ['my connections', true],
  ['sign out of demo', true],
  ['help', true],
  ['hello', false],
  ['hi', false],
  ['123 456', false],
  ['12345', false],
  ['what?', false],
])('"%s" replaces a waiting dialog: %s', (text, replaces) => {
  const fixed = parseCommand(text);
  const command = fixed.kind === 'unknown' ? (parse(text) ?? fixed) : fixed;
  expect(replacesWaitingDialog(command)).toBe(replaces);
});
