// An outside bot that embeds authprofiles: restify + botbuilder's CloudAdapter, the engine opened with
// `openEngine`, and the dialogs from `authprofiles/dialogs`. Settings come from the environment.
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  ConversationState,
  MemoryStorage,
} from 'botbuilder';
import restify from 'restify';
import { openEngine, parseOutboundAllowList, type EngineLogger } from 'authprofiles';
import { ProfileBot } from './profileBot';
import { registerSigninRoutes } from './signinRoutes';

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const log: EngineLogger = {
  info: (fields, message) => console.log(JSON.stringify({ level: 'info', message, ...fields })),
  warn: (fields, message) => console.log(JSON.stringify({ level: 'warn', message, ...fields })),
  error: (fields, message) => console.error(JSON.stringify({ level: 'error', message, ...fields })),
};

async function main(): Promise<void> {
  const port = Number(setting('PORT'));
  const publicUrl = setting('PUBLIC_URL');
  const dataDir = setting('DATA_DIR');
  const { engine, close } = await openEngine({
    store: { kind: 'sqlite', dataDir },
    // Without ENCRYPTION_KEYS (dev only) a key is generated under dataDir.
    encryptionKeys: process.env.ENCRYPTION_KEYS,
    production: false,
    dataDir,
    publicUrl,
    env: process.env,
    profilesDir: setting('PROFILES_DIR'),
    allowInsecureLoopback: true,
    outboundAllowList: parseOutboundAllowList([]),
    signinTtlMs: 10 * 60_000,
    log,
  });

  // MicrosoftAppId & co. from the environment, as any botbuilder bot reads them (empty: local dev).
  const appId = process.env.MicrosoftAppId ?? '';
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication(process.env));
  const bot = new ProfileBot({
    engine,
    conversationState: new ConversationState(new MemoryStorage()),
    profileId: setting('PROFILE_ID'),
    apiUrl: setting('API_URL'),
  });

  const server = restify.createServer();
  server.use(restify.plugins.bodyParser());
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req, res, (context) => bot.run(context));
  });
  registerSigninRoutes(server, { engine, adapter, appId, bot });
  server.listen(port, '127.0.0.1', () => console.log(`example bot listening on ${port}`));

  process.on('SIGTERM', () => {
    server.close();
    void close().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
