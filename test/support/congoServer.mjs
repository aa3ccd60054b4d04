// Runs CongoDB (the MongoDB wire-protocol server in @push.rocks/smartmongo) in its own process.
// Its own process because the package is ESM-only and Jest runs the suites as CommonJS; it also
// lets a suite kill the server to test how the store behaves when MongoDB goes away.
// Prints one JSON line `{"ready":true,"port":N}` once it accepts connections.
import { CongoServer } from '@push.rocks/smartmongo/dist_ts/congodb/index.js';

const host = process.env.CONGO_HOST ?? '127.0.0.1';
const server = new CongoServer({ host, port: Number(process.env.CONGO_PORT ?? 0), storage: 'memory' });
await server.start();

// getConnectionUri() reports the configured port (0); the kernel's choice is on the socket.
// The net.Server is a private field of CongoServer.
const address = server['server']?.address();
if (!address || typeof address === 'string') {
  process.stderr.write('CongoDB did not report a TCP address\n');
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ ready: true, port: address.port, host })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// A parent that dies without a signal (a crashed Jest worker) must not leave the server behind.
process.stdin.on('end', () => void stop());
process.stdin.resume();
