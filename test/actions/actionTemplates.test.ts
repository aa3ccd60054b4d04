// The placeholder names an action's templates use (path, query, JSON body), which decide whether a run
// reads the connection's account or looks up the current user (issue 12: read once per frozen action).
import type { ActionDeclaration } from '../../profiles/actions/actionSchema';
import { placeholdersOf } from '../../profiles/actions/actionTemplates';
import { TICKETS_ACTION } from '../support/chatActions';

function action(overrides: Partial<ActionDeclaration>): ActionDeclaration {
  return { ...(TICKETS_ACTION as unknown as ActionDeclaration), ...overrides };
}

test('names from the path, the query and the body, each once', () => {
  const declared = action({
    path: '/owners/{{currentUser}}/tickets/{{id}}',
    query: { q: '{{ query }}', by: '{{account.email}}' },
    body: { filters: [{ value: '{{id}}' }, { owner: '{{account.email}}' }], limit: 5 },
  });
  expect([...placeholdersOf(declared)].sort()).toEqual(['account.email', 'currentUser', 'id', 'query']);
});

test('a frozen action is read once; an unfrozen one is read again after a change', () => {
  const frozen = Object.freeze(action({ path: '/tickets/{{id}}', query: {}, body: undefined }));
  const names = placeholdersOf(frozen);
  expect(names).toEqual(['id']);
  expect(placeholdersOf(frozen)).toBe(names);

  const open = action({ path: '/tickets/{{id}}', query: {}, body: undefined });
  expect(placeholdersOf(open)).toEqual(['id']);
  open.path = '/owners/{{currentUser}}/tickets';
  expect(placeholdersOf(open)).toEqual(['currentUser']);
});
