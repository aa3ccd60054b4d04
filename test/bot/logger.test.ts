// SECURITY.md #32, second line of defence: fields that would carry secrets are redacted by the logger.
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

// SECURITY.md #51: secrets at any depth, in arrays and errors; the caller's objects untouched; cycles
// harmless; `err.code` kept for diagnostics. Each test parses the JSON line the logger wrote.
function lastLine(lines: string[]): Record<string, unknown> {
  expect(lines.length).toBeGreaterThan(0);
  return JSON.parse(lines[lines.length - 1] as string) as Record<string, unknown>;
}

test('secrets nested three levels deep and inside arrays are redacted, other values kept', () => {
  const { lines, log } = capture();
  log.info(
    {
      a: { b: { accessToken: 'DEEP-AT-1', profileId: 'demo' } },
      grants: [
        { refresh_token: 'DEEP-RT-2', scope: 'contacts.read' },
        [{ id_token: 'DEEP-ID-3', client_secret: 'DEEP-CS-4', code_verifier: 'DEEP-CV-5' }],
      ],
      headers: { Authorization: 'Bearer DEEP-AT-6', 'Set-Cookie': ['__Host-binding=DEEP-7'] },
      config: {
        hubspotAccessToken: 'DEEP-8',
        MicrosoftAppPassword: 'DEEP-9',
        ADMIN_API_KEYS: 'admin:DEEP-10',
      },
      hasClientSecret: true,
    },
    'nested',
  );
  const line = lastLine(lines);
  expect(line).toMatchObject({
    a: { b: { accessToken: '[redacted]', profileId: 'demo' } },
    grants: [
      { refresh_token: '[redacted]', scope: 'contacts.read' },
      [{ id_token: '[redacted]', client_secret: '[redacted]', code_verifier: '[redacted]' }],
    ],
    headers: { Authorization: '[redacted]', 'Set-Cookie': '[redacted]' },
    config: {
      hubspotAccessToken: '[redacted]',
      MicrosoftAppPassword: '[redacted]',
      ADMIN_API_KEYS: '[redacted]',
    },
    hasClientSecret: true,
    msg: 'nested',
  });
  expect(lines.join('')).not.toMatch(/DEEP-/);
});

test('errors anywhere are reduced to type, message and code, with secrets in their fields dropped', () => {
  const { lines, log } = capture();
  const cause = Object.assign(new Error('socket hang up'), {
    code: 'ECONNRESET',
    headers: { cookie: 'C-1' },
  });
  const failure = Object.assign(new Error('refresh failed', { cause }), {
    code: 'invalid-grant',
    status: 400,
    response: { body: { access_token: 'ERR-AT-2' } },
  });
  log.warn(
    {
      attempts: [{ err: failure }],
      err: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    },
    'x',
  );
  const line = lastLine(lines);
  expect(line.err).toEqual({ type: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' });
  expect(line.attempts).toEqual([
    {
      err: {
        type: 'Error',
        message: 'refresh failed',
        code: 'invalid-grant',
        status: 400,
        cause: { type: 'Error', message: 'socket hang up', code: 'ECONNRESET' },
      },
    },
  ]);
  expect(lines.join('')).not.toMatch(/ERR-AT-2|C-1/);
});

test('a bare error keeps its code; an exit code and errorCode fields are not hidden', () => {
  const { lines, log } = capture();
  log.error(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
  expect(lastLine(lines)).toMatchObject({
    err: { type: 'Error', message: 'database is locked', code: 'SQLITE_BUSY' },
    msg: 'database is locked',
  });
  log.error({ code: 1, signal: null, errorCode: 'invalid-grant' }, 'demo authorization server exited');
  expect(lastLine(lines)).toMatchObject({ code: 1, signal: null, errorCode: 'invalid-grant' });
});

test('the OAuth code is redacted where it is a credential: callback queries, token requests, URLs', () => {
  const { lines, log } = capture();
  log.info(
    {
      query: { code: 'OAUTH-CODE-1', iss: 'https://idp.example' },
      tokenRequest: {
        grant_type: 'authorization_code',
        code: 'OAUTH-CODE-2',
        redirect_uri: 'https://bot/cb',
      },
      url: '/oauth/callback/demo?code=OAUTH-CODE-3&state=OAUTH-STATE-4&iss=https%3A%2F%2Fidp',
      note: 'sent Bearer OAUTH-AT-5 to the API',
    },
    'callback',
  );
  expect(lastLine(lines)).toMatchObject({
    query: { code: '[redacted]', iss: 'https://idp.example' },
    tokenRequest: { grant_type: 'authorization_code', code: '[redacted]', redirect_uri: 'https://bot/cb' },
    url: '/oauth/callback/demo?code=[redacted]&state=[redacted]&iss=https%3A%2F%2Fidp',
    note: 'sent Bearer [redacted] to the API',
  });
  expect(lines.join('')).not.toMatch(/OAUTH-/);
});

test("the caller's objects are not changed, and cycles print as [circular] instead of failing", () => {
  const { lines, log } = capture();
  const shared = { label: 'shared' };
  const secretHolder = { inner: { refreshToken: 'KEEP-RT-1' } };
  const looped: Record<string, unknown> = { name: 'loop', secretHolder, left: shared, right: shared };
  looped.self = looped;
  const list: unknown[] = [looped];
  list.push(list);
  const before = JSON.stringify({ secretHolder, shared });
  expect(() => log.info({ looped, list }, 'cycles')).not.toThrow();
  const line = lastLine(lines);
  expect(line.looped).toEqual({
    name: 'loop',
    secretHolder: { inner: { refreshToken: '[redacted]' } },
    left: { label: 'shared' },
    right: { label: 'shared' },
    self: '[circular]',
  });
  expect((line.list as unknown[])[1]).toBe('[circular]');
  expect(secretHolder.inner.refreshToken).toBe('KEEP-RT-1');
  expect(JSON.stringify({ secretHolder, shared })).toBe(before);
  expect(looped.self).toBe(looped);
});

test('credentials quoted in the message, or in the message of a bare error, are redacted', () => {
  const { lines, log } = capture();
  log.warn('token request to https://idp.example/token?code=MSG-CODE-1&state=MSG-STATE-2 failed');
  expect(lastLine(lines).msg).toBe(
    'token request to https://idp.example/token?code=[redacted]&state=[redacted] failed',
  );
  log.error(Object.assign(new Error('sent Authorization: Bearer MSG-AT-3'), { code: 'E_HTTP' }));
  expect(lastLine(lines)).toMatchObject({
    msg: 'sent Authorization: Bearer [redacted]',
    err: { type: 'Error', message: 'sent Authorization: Bearer [redacted]', code: 'E_HTTP' },
  });
  log.info({ attempt: 1 }, 'retrying %s', 'https://bot/cb?code=MSG-CODE-4');
  expect(lastLine(lines).msg).toBe('retrying https://bot/cb?code=[redacted]');
  expect(lines.join('')).not.toMatch(/MSG-/);
});

test('child logger bindings are redacted too', () => {
  const { lines, log } = capture();
  log
    .child({ requestId: 'req-1', session: { browser: { cookie: 'BIND-SECRET-1' } } })
    .child({ attempt: 2 })
    .info('child');
  expect(lastLine(lines)).toMatchObject({
    requestId: 'req-1',
    attempt: 2,
    session: { browser: { cookie: '[redacted]' } },
    service: 'authprofiles',
  });
  expect(lines.join('')).not.toContain('BIND-SECRET-1');
});
