import { createApp } from './app';
import { ConfigurationError, loadConfig } from './config';
import { createLogger } from './logger';
import { createServices } from './services';

/** `npm start`: parse the environment, build the services, serve. A bad setting stops here. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`authprofiles: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger({ level: config.env.LOG_LEVEL });
  let services;
  try {
    services = await createServices(config, log);
  } catch (error) {
    log.fatal({ err: error }, 'could not start');
    process.stderr.write(`authprofiles: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const app = createApp(config, services, log);
  const url = await app.listen();
  log.info(
    { url, publicUrl: config.publicUrl, store: services.store.kind, devFeatures: config.devFeatures },
    config.devFeatures ? `ready: open ${config.publicUrl}/ to chat with the bot` : 'ready',
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await app.close().catch(() => undefined);
    await services.close().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

void main();
