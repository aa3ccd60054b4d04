// Row 32, second line of defence: fields that would carry secrets are redacted by the logger.
import { Writable } from 'node:stream';
import { createLogger } from '../../bot/logger';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, log: createLogger({ level: 'info', destination }) };
}

test('tokens, secrets, codes, state and auth headers are censored at any depth', () => {
  const { lines, log } = capture();
  log.info(
    {
      accessToken: 'AT-secret-1',
      nested: { refreshToken: 'RT-secret-2', clientSecret: 'CS-secret-3', code: 'CODE-4', state: 'STATE-5' },
      req: { headers: { authorization: 'Bearer AT-secret-6', cookie: 'authprofiles_binding=BIND-7' } },
      profileId: 'hubspot',
    },
    'event',
  );
  const text = lines.join('');
  for (const secret of [
    'AT-secret-1',
    'RT-secret-2',
    'CS-secret-3',
    'CODE-4',
    'STATE-5',
    'AT-secret-6',
    'BIND-7',
  ]) {
    expect(text).not.toContain(secret);
  }
  expect(text).toContain('"profileId":"hubspot"');
  expect(text).toContain('[redacted]');
});

test('errors are reduced to type, code and message', () => {
  const { lines, log } = capture();
  const error = Object.assign(new Error('refresh failed'), { data: { payload: { access_token: 'LEAK-8' } } });
  log.error({ err: error }, 'boom');
  const text = lines.join('');
  expect(text).toContain('refresh failed');
  expect(text).not.toContain('LEAK-8');
});
