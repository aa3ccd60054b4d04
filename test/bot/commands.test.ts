import { parseCommand, replacesWaitingDialog } from '../../dialogs/commands';

test.each([
  ['show my deals', { kind: 'crm', action: 'deals' }],
  ['Show my open deals!', { kind: 'crm', action: 'deals' }],
  ['deals', { kind: 'crm', action: 'deals' }],
  ['show companies', { kind: 'crm', action: 'companies' }],
  ['show my tickets', { kind: 'crm', action: 'tickets' }],
  ['find contact Ada Lovelace', { kind: 'crm', action: 'find-contact', query: 'Ada Lovelace' }],
  ['<at>Bot</at> find contact ada', { kind: 'crm', action: 'find-contact', query: 'ada' }],
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
])('%s', (text, expected) => {
  expect(parseCommand(text)).toEqual(expected);
});

test('a very long contact query is cut to 100 characters', () => {
  const command = parseCommand(`find contact ${'x'.repeat(500)}`);
  expect(command.kind === 'crm' && command.action === 'find-contact' ? command.query.length : 0).toBe(100);
});

// Issue 7 point 14: while a sign-in waits, only a request for something new replaces it.
test.each([
  ['show my deals', true],
  ['my connections', true],
  ['sign out of demo', true],
  ['help', true],
  ['hello', false],
  ['hi', false],
  ['123 456', false],
  ['12345', false],
  ['what?', false],
])('"%s" replaces a waiting dialog: %s', (text, replaces) => {
  expect(replacesWaitingDialog(parseCommand(text))).toBe(replaces);
});
