import { parseCommand } from '../../dialogs/commands';

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
  ['help', { kind: 'help' }],
  ['make me a sandwich', { kind: 'unknown', text: 'make me a sandwich' }],
])('%s', (text, expected) => {
  expect(parseCommand(text)).toEqual(expected);
});

test('a very long contact query is cut to 100 characters', () => {
  const command = parseCommand(`find contact ${'x'.repeat(500)}`);
  expect(command.kind === 'crm' && command.action === 'find-contact' ? command.query.length : 0).toBe(100);
});
