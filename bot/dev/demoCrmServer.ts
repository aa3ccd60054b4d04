// The dev demo CRM in a process of its own: `node --import tsx bot/dev/demoCrmServer.ts`. The service
// then reaches it through DEMO_CRM_URL instead of mounting it under /demo/crm, so the service process
// pays only its own side of each CRM call, as in production with HubSpot outside (the consent-flow
// bench, test/bench/consentFlow.ts, measures it both ways). Same routes and the same introspection at
// the demo provider as the mounted one (bot/devSurface.ts).
//
// Environment: DEMO_PROVIDER_URL (the demo provider's issuer), DEMO_CLIENT_SECRET (its demo client's
// secret, to introspect with), PORT (0 or unset: any free port), HOST (127.0.0.1; loopback only, like
// dev mode). Prints one line once listening: {"ready":true,"url":"http://127.0.0.1:<port>/demo/crm"}.
import restify from 'restify';
import { z } from 'zod';

import { isLoopbackHost } from '../config';
import { DEMO_CLIENT_ID } from './demoProvider';
import { oauthIntrospector, registerDemoCrm } from './demoCrm/demoCrm';

export const DEMO_CRM_BASE_PATH = '/demo/crm';

const settingsSchema = z.object({
  DEMO_PROVIDER_URL: z.string().url(),
  DEMO_CLIENT_SECRET: z.string().min(16),
  PORT: z.coerce.number().int().min(0).max(65535).default(0),
  HOST: z
    .string()
    .default('127.0.0.1')
    .refine(isLoopbackHost, 'must be a loopback address (the demo CRM is for this machine only)'),
});

export interface DemoCrmServer {
  url: string;
  close(): Promise<void>;
}

export async function startDemoCrmServer(
  raw: Readonly<Record<string, string | undefined>>,
): Promise<DemoCrmServer> {
  const parsed = settingsSchema.safeParse(
    Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined && value !== '')),
  );
  if (!parsed.success) {
    throw new Error(
      `demo CRM server: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  }
  const settings = parsed.data;
  const issuer = settings.DEMO_PROVIDER_URL.replace(/\/+$/, '');
  const server = restify.createServer({ name: 'demo-crm', handleUncaughtExceptions: false });
  registerDemoCrm(server, {
    basePath: DEMO_CRM_BASE_PATH,
    introspect: oauthIntrospector({
      introspectionUrl: `${issuer}/token/introspection`,
      clientId: DEMO_CLIENT_ID,
      clientSecret: settings.DEMO_CLIENT_SECRET,
    }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.PORT, settings.HOST, () => resolve());
  });
  const address = server.address();
  const host = settings.HOST.includes(':') ? `[${settings.HOST}]` : settings.HOST;
  return {
    url: `http://${host}:${address.port}${DEMO_CRM_BASE_PATH}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (require.main === module) {
  startDemoCrmServer(process.env)
    .then((crm) => {
      process.stdout.write(`${JSON.stringify({ ready: true, url: crm.url })}\n`);
      const stop = (): void => void crm.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(2);
    });
}
