// Subject keys: a token-service user is keyed by channel, user and calling bot, and the key reads back.
import { ORGANIZATION, subjectFromKey, subjectKey, type Subject } from '../../profiles/subjects';

test("the service's own users keep their keys; another bot's users carry the bot", () => {
  expect(subjectKey({ kind: 'user', channelId: 'webchat', userId: 'alice' })).toBe('user:webchat:alice');
  expect(subjectKey({ kind: 'user', channelId: 'webchat', userId: 'alice', botAppId: 'app-1' })).toBe(
    'user:webchat:alice:bot=app-1',
  );
  expect(subjectKey({ kind: 'user', channelId: 'webchat', userId: 'alice', botAppId: '' })).toBe(
    'user:webchat:alice:bot=',
  );
});

test.each<Subject>([
  ORGANIZATION,
  { kind: 'user', channelId: 'msteams', userId: '29:1a:b=c' },
  { kind: 'user', channelId: 'webchat', userId: 'a:b', botAppId: 'x:y=z' },
  { kind: 'user', channelId: 'webchat', userId: 'bot=a', botAppId: '' },
])('keys read back to the same subject: %o', (subject) => {
  expect(subjectFromKey(subjectKey(subject))).toEqual(subject);
});

test('a key with a fourth segment that is not a bot is refused', () => {
  expect(() => subjectFromKey('user:webchat:alice:extra')).toThrow('malformed subject key');
  expect(() => subjectFromKey('user:webchat:alice:bot=a:more')).toThrow('malformed subject key');
});
