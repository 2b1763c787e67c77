// A TCP proxy in front of the API server that can freeze the connections open at a moment: bytes stop
// flowing both ways but neither side sees a FIN or RST — what a watch sees when a NAT entry or a node vanishes.
// Connections made after a freeze flow normally. partition() goes further: it freezes the open connections
// and holds every new one unanswered (a network partition of this client), and heal() lets all of them flow
// again, delivering whatever was buffered meanwhile (a late write is what a partition leaves behind).
import { createConnection, createServer, type Socket } from 'node:net';

export interface FreezingProxy {
  /** https://127.0.0.1:<port> */
  url: string;
  /** Stop forwarding on every connection open now; returns how many were frozen. */
  freezeOpenConnections(): number;
  /** Freeze the open connections and hold new ones until heal(). */
  partition(): void;
  /** End a partition: every frozen or held connection forwards again, buffered bytes first. */
  heal(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

export async function startFreezingProxy(target: URL): Promise<FreezingProxy> {
  const forwarding = new Set<Pair>();
  const frozen = new Set<Pair>();
  const sockets = new Set<Socket>();
  let partitioned = false;
  const track = (s: Socket, pair: Pair) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      forwarding.delete(pair);
      frozen.delete(pair);
      sockets.delete(s);
      pair.client.destroy();
      pair.upstream?.destroy();
    });
  };
  const connect = (pair: Pair) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    pair.upstream = upstream;
    track(upstream, pair);
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
    pair.client.resume();
    forwarding.add(pair);
  };
  const server = createServer((client) => {
    const pair: Pair = { client, upstream: undefined };
    track(client, pair);
    if (partitioned) {
      client.pause(); // accepted, never answered: the TLS handshake waits
      frozen.add(pair);
    } else connect(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
  const freeze = () => {
    const n = forwarding.size;
    for (const pair of forwarding) {
      pair.client.unpipe(pair.upstream);
      pair.upstream?.unpipe(pair.client);
      pair.client.pause();
      pair.upstream?.pause();
      frozen.add(pair);
    }
    forwarding.clear(); // still open (in `sockets`) until close()
    return n;
  };
  return {
    url: `https://127.0.0.1:${address.port}`,
    freezeOpenConnections: freeze,
    partition() {
      partitioned = true;
      freeze();
    },
    heal() {
      partitioned = false;
      for (const pair of [...frozen]) {
        frozen.delete(pair);
        if (!pair.upstream) {
          connect(pair);
          continue;
        }
        pair.client.pipe(pair.upstream);
        pair.upstream.pipe(pair.client);
        pair.client.resume();
        pair.upstream.resume();
        forwarding.add(pair);
      }
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
