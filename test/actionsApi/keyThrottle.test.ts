// Guessing admin keys through the execute API or the proxy (SECURITY.md #74): the same throttle as the
// admin API (profiles/attemptThrottle.ts) — after 5 wrong keys a client gets 429 with Retry-After, on
// both routes, and nothing reaches the provider's API. Its own world, so the throttled client does not
// disturb the other suites.
import { startActionsApiWorld, type ActionsApiWorld } from './actionsApiWorld';

let world: ActionsApiWorld;

beforeAll(async () => {
  world = await startActionsApiWorld();
}, 60_000);

afterAll(async () => {
  await world?.close();
});

function withKey(path: string, key: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${world.base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  });
}

test('wrong admin keys are throttled: 401 five times, then 429 with Retry-After on execute and proxy alike', async () => {
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 6; i += 1) {
    last = await withKey('/api/actions/crm/deals/list', `wrong-admin-key-guess-${i}-0000`, {
      method: 'POST',
      body: '{"params":{}}',
    });
    statuses.push(last.status);
  }
  expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  expect(last?.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  const proxied = await withKey('/api/proxy/crm/deals', 'wrong-admin-key-guess-7-0000');
  expect(proxied.status).toBe(429);
  expect(((await proxied.json()) as { error: { code: string } }).error.code).toBe('too-many-attempts');
  expect(world.api.requests).toHaveLength(0);
});
