// Ports for test servers that must be known before they listen (a redirect URI registered at the
// provider, a child service's PORT). Asking the kernel for port 0 and closing it again hands out a
// port from the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, 32768–60999 here), which every
// OUTGOING connection of every process also draws its local port from: on a busy test run one of them
// can take the port before the server binds it (seen in CI as EADDRINUSE and a hung beforeAll). So the
// ports come from below that range instead, from a slice of its own for each Jest worker (workers run
// in parallel, one file at a time each), and each is checked free by binding it.
import { createServer } from 'node:net';

const FIRST_PORT = 20_000;
/** 16 slices of 750 ports: 20000–31999, under the ephemeral range. */
const SLICE = 750;
const SLICES = 16;

const worker = Number(process.env.JEST_WORKER_ID ?? '0') % SLICES;
const sliceStart = FIRST_PORT + worker * SLICE;
/** Where in the slice this process starts: runs and processes (bench children) rarely repeat a port. */
let cursor = Math.floor(Math.random() * SLICE);

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that nothing listens on, outside the range outgoing connections use. */
export async function freePort(): Promise<number> {
  for (let tried = 0; tried < SLICE; tried += 1) {
    const port = sliceStart + (cursor % SLICE);
    cursor += 1;
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${sliceStart}–${sliceStart + SLICE - 1} (Jest worker ${worker})`);
}
