// The dev 'demo' and 'demo-org' profiles stand in for HubSpot against the demo CRM (issue 11 point 4):
// the bundled HubSpot profile's actions and currentUser (the one source, profiles/systemCatalog.json) and
// its identity at the demo CRM's token-info endpoint. The provider is external here (DEMO_PROVIDER_URL),
// so nothing is spawned: these are the profiles dev mode bundles.
import pino from 'pino';
import { loadConfig } from '../../bot/config';
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
