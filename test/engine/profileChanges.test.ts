// Profile edits must never route stored tokens somewhere new (SECURITY.md #39–#40), and a sign-in that
// straddles an edit must not store tokens under the new settings.
import { createServer, type Server } from 'node:http';
import { deleteProfile, saveProfile } from '../../profiles/profileAdmin';
import { isAuthProfilesError } from '../../profiles/errors';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import {
  authorize,
  consentInBrowser,
  createHarness,
  PUBLIC_URL,
  serverProfile,
  USER,
  type Harness,
} from '../support/engineHarness';

const CLIENT = {
  client_id: 'change-client',
  client_secret: 'change-client-secret-1234',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

let server: RunningAuthServer;
let harness: Harness;
/** A fake "attacker" endpoint that records whatever is posted to it. */
let sink: Server;
let sinkUrl: string;
const received: string[] = [];

beforeAll(async () => {
  server = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: [`${PUBLIC_URL}/oauth/callback/acme`],
        pkceRequired: true,
        rotateRefreshToken: true,
      },
    ],
    scopes: 'crm.objects.deals.read crm.objects.contacts.read',
  });
  harness = await createHarness({ profiles: [] });
  sink = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push(body);
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', () => resolve()));
  sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/revoke`;
});

afterAll(async () => {
  sink?.closeAllConnections();
  await new Promise((resolve) => sink?.close(resolve));
  await harness?.close();
  await server?.stop();
});

const admin = { name: 'admin:test', role: 'admin' as const };
const developer = { name: 'developer:mallory', role: 'developer' as const };

async function createAcme(): Promise<void> {
  const body = serverProfile(server, 'acme', CLIENT);
  await saveProfile(harness.context, 'acme', body, admin);
}

test('a developer who repoints revocationUrl and deletes the profile receives no token (SECURITY.md #40 without exfiltration)', async () => {
  await createAcme();
  const { outcome } = await authorize(harness, 'acme');
  expect(outcome.kind).toBe('connected');
  const current = await harness.engine.catalog.get('acme');
  const body = {
    ...serverProfile(server, 'acme', CLIENT),
    revocationUrl: sinkUrl,
    clientSecret: 'attacker-chosen-secret',
  };
  const saved = await saveProfile(harness.context, 'acme', body, developer, {
    expectedVersion: current.storedVersion,
  });
  expect(saved.connectionsMarked).toBe(1);
  const deleted = await deleteProfile(harness.context, 'acme', developer);
  expect(deleted.connectionsRemoved).toBe(1);
  expect(received).toEqual([]);
  expect(await harness.store.connections.count({ profileId: 'acme' })).toBe(0);
  const audit = await harness.store.audit.list({ limit: 20 });
  const revoked = audit.find((entry) => entry.action === 'connection.revoked');
  expect(revoked?.details).toMatchObject({ revokedAtProvider: false, providerError: 'profile-changed' });
});

test('a callback that arrives after the profile changed is refused and stores nothing', async () => {
  await createAcme();
  const profile = await harness.engine.catalog.get('acme');
  const created = await harness.engine.createAuthorizationRequest({
    profile,
    subject: USER,
    createdBy: 'user:test',
  });
  const { callbackUrl, binding } = await consentInBrowser(harness, created.requestId);
  await saveProfile(
    harness.context,
    'acme',
    {
      ...serverProfile(server, 'acme', CLIENT),
      scopes: ['crm.objects.deals.read', 'crm.objects.contacts.read'],
    },
    admin,
    { expectedVersion: profile.storedVersion },
  );
  const error = await harness.engine
    .completeCallback({ profileId: 'acme', query: callbackUrl.search.slice(1), browserBinding: binding })
    .then(
      () => undefined,
      (caught: unknown) => caught,
    );
  expect(isAuthProfilesError(error) ? error.code : error).toBe('profile-mismatch');
  expect(await harness.store.connections.get('acme', 'user:webchat:alice')).toBeNull();
});
