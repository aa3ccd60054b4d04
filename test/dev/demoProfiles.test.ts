// The dev 'demo' and 'demo-org' profiles stand in for HubSpot against the demo CRM (issue 11 point 4):
// the bundled HubSpot profile's actions and currentUser (the one source, profiles/systemCatalog.json) and
// its identity at the demo CRM's token-info endpoint. The provider is external here (DEMO_PROVIDER_URL),
// so nothing is spawned: these are the profiles dev mode bundles.
import pino from 'pino';
import restify from 'restify';
import { loadConfig } from '../../bot/config';
import { startDevSurface } from '../../bot/devSurface';
import { startDemoProvider } from '../../bot/dev/demoProvider';
import { bundledProfiles } from '../../profiles/profileCatalog';

test('demo and demo-org carry HubSpot’s actions, currentUser and an identity at the demo CRM', async () => {
  const config = loadConfig({
    PORT: '3978',
    DEMO_PROVIDER_URL: 'http://127.0.0.1:3979',
    DEMO_CLIENT_SECRET: 'demo-secret-for-tests-123',
  });
  const demo = await startDemoProvider(config, pino({ level: 'silent' }));
  const hubspot = bundledProfiles({ allowInsecureLoopback: true }).get('hubspot');
  // Parsed as dev mode bundles them, next to the system profiles.
  const parsed = bundledProfiles({ allowInsecureLoopback: true }, demo.profiles);
  for (const id of ['demo', 'demo-org']) {
    const profile = parsed.get(id);
    expect(profile?.actions.map((a) => `${a.entity}.${a.action}`)).toEqual(
      hubspot?.actions.map((a) => `${a.entity}.${a.action}`),
    );
    expect(profile?.actions).toEqual(hubspot?.actions);
    expect(profile?.currentUser).toEqual(hubspot?.currentUser);
    expect(profile?.identity).toEqual({
      ...hubspot?.identity,
      url: `${config.publicUrl}/demo/crm/oauth/v1/access-tokens/{token}`,
    });
    expect(profile?.apiBaseUrl).toBe(`${config.publicUrl}/demo/crm`);
  }
  await demo.stop();
});

test('DEMO_CRM_URL: the demo profiles call the demo CRM there, and the service does not mount /demo/crm', async () => {
  const config = loadConfig({
    PORT: '3978',
    DEMO_PROVIDER_URL: 'http://127.0.0.1:3979',
    DEMO_CLIENT_SECRET: 'demo-secret-for-tests-123',
    DEMO_CRM_URL: 'http://127.0.0.1:4100/demo/crm/',
  });
  const log = pino({ level: 'silent' });
  const demo = await startDemoProvider(config, log);
  const parsed = bundledProfiles({ allowInsecureLoopback: true }, demo.profiles);
  for (const id of ['demo', 'demo-org']) {
    const profile = parsed.get(id);
    expect(profile?.apiBaseUrl).toBe('http://127.0.0.1:4100/demo/crm');
    expect(profile?.checkUrl).toBe('http://127.0.0.1:4100/demo/crm/crm/v3/objects/contacts?limit=1');
    expect(profile?.identity?.url).toBe('http://127.0.0.1:4100/demo/crm/oauth/v1/access-tokens/{token}');
  }
  await demo.stop();

  // The dev surface's routes: /demo/crm only without DEMO_CRM_URL (npm start's default is unchanged).
  const mounted = async (env: Record<string, string>): Promise<number> => {
    const surface = await startDevSurface(loadConfig(env), log);
    const server = restify.createServer();
    surface.registerRoutes(server, { botEndpoint: 'http://127.0.0.1:1/api/messages' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const res = await fetch(`http://127.0.0.1:${server.address().port}/demo/crm/crm/v3/owners`);
      await res.arrayBuffer();
      return res.status;
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await surface.stop();
    }
  };
  const external = {
    DEMO_PROVIDER_URL: 'http://127.0.0.1:3979',
    DEMO_CLIENT_SECRET: 'demo-secret-for-tests-123',
  };
  // Mounted: the demo CRM answers 401 to a call without a token. Not mounted: no such route.
  expect(await mounted(external)).toBe(401);
  expect(await mounted({ ...external, DEMO_CRM_URL: 'http://127.0.0.1:4100/demo/crm' })).toBe(404);
});
