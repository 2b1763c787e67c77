// A TCP proxy in front of the API server that can freeze the connections open at a moment: bytes stop
// flowing both ways but neither side sees a FIN or RST — what a watch sees when a NAT entry or a node vanishes.
// Connections made after a freeze flow normally.
import { createConnection, createServer, type Socket } from 'node:net';

export interface FreezingProxy {
  /** https://127.0.0.1:<port> */
  url: string;
  /** Stop forwarding on every connection open now; returns how many were frozen. */
  freezeOpenConnections(): number;
  close(): Promise<void>;
}

export async function startFreezingProxy(target: URL): Promise<FreezingProxy> {
  const forwarding = new Set<{ client: Socket; upstream: Socket }>();
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    const pair = { client, upstream };
    forwarding.add(pair);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        forwarding.delete(pair);
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
  return {
    url: `https://127.0.0.1:${address.port}`,
    freezeOpenConnections() {
      const n = forwarding.size;
      for (const { client, upstream } of forwarding) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      forwarding.clear(); // still open (in `sockets`) until close()
      return n;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
