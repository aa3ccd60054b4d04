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
  if (config.devNetworkExposure) {
    // SECURITY.md #47: the operator chose this (DEV_ALLOW_NETWORK=true); make sure it is not missed.
    const warning =
      `DEV_ALLOW_NETWORK=true: dev mode is exposed to the network (${config.devNetworkExposure}). ` +
      'Anyone who reaches this service can post to /api/messages and the local Direct Line as any user ' +
      "and read that user's connections and data. Use it only on a network you trust; never in production.";
    log.warn({ devNetworkExposure: config.devNetworkExposure }, warning);
    process.stderr.write(`\n${'!'.repeat(100)}\nWARNING: ${warning}\n${'!'.repeat(100)}\n\n`);
  }
  let services;
  try {
    services = await createServices(config, log);
  } catch (error) {
    log.fatal({ err: error }, 'could not start');
    process.stderr.write(`authprofiles: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const app = createApp(config, services, log);
  let url: string;
  try {
    url = await app.listen();
  } catch (error) {
    log.fatal({ err: error, host: config.host, port: config.port }, 'could not listen');
    process.stderr.write(
      `authprofiles: cannot listen on ${config.host ?? '*'}:${config.port}: ${(error as Error).message}\n`,
    );
    await services.close().catch(() => undefined);
    process.exit(1);
  }
  log.info(
    { url, publicUrl: config.publicUrl, store: services.engine.storeKind, devFeatures: config.devFeatures },
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
