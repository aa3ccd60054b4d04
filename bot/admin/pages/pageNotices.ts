import { isProfileId } from '../../../profiles';

/** The notices a page shows after a redirect (`?saved=created`, `?revoked=1`, `?authorization=…`). */

const AUTHORIZATION_RESULTS: Record<string, { text: string; tone: string }> = {
  connected: { text: 'Connected: the organisation connection is active.', tone: 'ok' },
  'pending-verification': { text: 'The connection was made and waits for verification.', tone: 'warn' },
  denied: { text: 'Access was not granted at the provider; nothing was connected.', tone: 'error' },
  failed: {
    text: 'The authorization failed; nothing was connected. The audit log has the reason.',
    tone: 'error',
  },
};

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
  const authorization = query.get('authorization');
  const result = authorization ? AUTHORIZATION_RESULTS[authorization] : undefined;
  if (result) shown.push(result);
  return shown;
}
