// Free loopback ports, reserved the way envtest's addr.Suggest does it: the kernel picks a free port, then a
// lock file marks it taken for a while, so that jest workers starting control planes in parallel never
// hand the same port to two servers in the window between "probe closed" and "server bound".
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

const LOCK_DIR = join(process.env.PLB_CACHE ?? join(homedir(), '.cache/portable-lb'), 'ports');
const RESERVATION_MS = 2 * 60_000;

function kernelPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port from the kernel'))));
    });
  });
}

/** Creates the lock file unless another process holds a fresh one. */
function reserve(port: number): boolean {
  const path = join(LOCK_DIR, `port-${port}`);
  try {
    if (Date.now() - statSync(path).mtimeMs < RESERVATION_MS) return false;
    unlinkSync(path);
  } catch {
    // no lock file yet
  }
  try {
    closeSync(openSync(path, 'wx'));
    return true;
  } catch {
    return false; // another process won the race
  }
}

/** A free port on 127.0.0.1, reserved for two minutes against other harness instances. */
export async function freePort(): Promise<number> {
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await kernelPickedPort();
    if (reserve(port)) return port;
  }
  throw new Error(`no free loopback port after 100 attempts (locks in ${LOCK_DIR})`);
}

/** Extends the reservation, e.g. when a server is restarted on its port long after it was picked. */
export function renewPort(port: number): void {
  const now = new Date();
  try {
    utimesSync(join(LOCK_DIR, `port-${port}`), now, now);
  } catch {
    reserve(port);
  }
}
