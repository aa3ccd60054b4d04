import { AUTHORIZATION_NOTICES, isProfileId } from '../../../profiles';
import { ACTION_KEY } from './profileActionPages';

/** The notices a page shows after a redirect (`?saved=created`, `?revoked=1`, `?authorization=…`). */

export function notices(query: URLSearchParams): { text: string; tone: string }[] {
  const shown: { text: string; tone: string }[] = [];
  const count = (name: string) => {
    const value = query.get(name) ?? '';
    return /^\d{1,7}$/.test(value) ? Number(value) : 0;
  };
  const saved = query.get('saved');
  if (saved === 'created') shown.push({ text: 'Profile created.', tone: 'ok' });
  if (saved === 'updated') shown.push({ text: 'Profile saved.', tone: 'ok' });
  const marked = count('marked');
  if (saved && marked > 0) {
    shown.push({
      text: `${marked} connection${marked === 1 ? ' was' : 's were'} marked for re-authorization: the change affects the client, scopes or URLs their tokens were issued for.`,
      tone: 'warn',
    });
  }
  const switched = query.get('switched');
  const action = query.get('action') ?? '';
  if ((switched === 'on' || switched === 'off') && ACTION_KEY.test(action)) {
    shown.push({ text: `Action ${action} turned ${switched}.`, tone: 'ok' });
  }
  const deleted = query.get('deleted');
  if (deleted && isProfileId(deleted)) {
    const removed = count('removed');
    shown.push({
      text: `Deleted "${deleted}"; ${removed} connection${removed === 1 ? '' : 's'} revoked and removed.`,
      tone: 'ok',
    });
  }
  if (query.get('revoked') === '1') {
    shown.push({
      text:
        query.get('provider') === '1'
          ? 'Connection revoked at the provider and removed.'
          : 'Connection removed (the provider was not told: it has no revocation endpoint or did not answer).',
      tone: 'ok',
    });
  }
  const authorization = query.get('authorization') ?? '';
  if (Object.hasOwn(AUTHORIZATION_NOTICES, authorization)) {
    shown.push(AUTHORIZATION_NOTICES[authorization as keyof typeof AUTHORIZATION_NOTICES]);
  }
  return shown;
}
