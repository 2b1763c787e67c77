// A TCP proxy in front of the API server that can freeze the connections open at a moment: bytes stop
// flowing both ways but neither side sees a FIN or RST — what a watch sees when a NAT entry or a node vanishes.
// Connections made after a freeze flow normally. partition() goes further: it freezes the open connections
// and holds every new one unanswered (a network partition of this client), and heal() lets all of them flow
// again.
//
// What a partition leaves behind is modelled on TCP: bytes a side wrote while partitioned were never acked, so
// the kernel still holds them. If that side then closes with a FIN (a normal close, or its process exiting),
// the kernel keeps retransmitting and the bytes and the FIN are delivered when the partition heals: a late
// write. If it closes with an RST, the unacked bytes are discarded and only the RST arrives. A connection opened
// during the partition never got through its handshake: closed before the heal, nothing of it arrives.
// Forwarding is therefore done by hand (not pipe()), so each held chunk is accounted for.
import { createConnection, createServer, type Socket } from 'node:net';

export interface PartitionTrigger {
  /** Only a client chunk of at least this many bytes (a request with a body, not a bare TLS record). */
  minBytes?: number;
  /** Only on a connection at least this old (a kept-alive pooled one, not a fresh handshake). */
  minAgeMs?: number;
}

export interface ProxyStats {
  /** Client bytes held by a partition or freeze and delivered to the server at heal(). */
  deliveredLate: number;
  /** Client bytes held and then discarded because the client reset its connection. */
  discardedByReset: number;
  /** Connections the client reset (RST) while they were frozen. */
  resetWhileFrozen: number;
  /** Connections the client closed with a FIN while they were frozen. */
  finWhileFrozen: number;
}

export interface FreezingProxy {
  /** https://127.0.0.1:<port> */
  url: string;
  /** Stop forwarding on every connection open now; returns how many were frozen. */
  freezeOpenConnections(): number;
  /** Freeze the open connections and hold new ones until heal(). */
  partition(): void;
  /**
   * Arm a partition that fires on the first client chunk of >= minBytes (500) on a connection >= minAgeMs
   * (1000) old that the server has answered before, holding that chunk: the partition then catches a write
   * exactly in flight. Resolves with the time (Date.now()) it fired.
   */
  partitionOnNextRequest(trigger?: PartitionTrigger): Promise<number>;
  /** End a partition: every frozen or held connection forwards again, held bytes first, then any FIN or RST. */
  heal(): void;
  stats(): ProxyStats;
  close(): Promise<void>;
}

type End = 'open' | 'fin' | 'reset';

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  openedAt: number;
  /** The server has sent bytes on this connection (so it is past its handshake). */
  answered: boolean;
  flowing: boolean;
  toUpstream: Buffer[];
  toClient: Buffer[];
  clientEnd: End;
  upstreamEnd: End;
}

const isReset = (error: Error) => (error as NodeJS.ErrnoException).code === 'ECONNRESET';

export async function startFreezingProxy(target: URL): Promise<FreezingProxy> {
  const pairs = new Set<Pair>();
  let partitioned = false;
  let armed: { minBytes: number; minAgeMs: number; fired: (at: number) => void } | undefined;
  const stats: ProxyStats = { deliveredLate: 0, discardedByReset: 0, resetWhileFrozen: 0, finWhileFrozen: 0 };

  const done = (pair: Pair) => {
    if (pair.client.destroyed && (!pair.upstream || pair.upstream.destroyed)) pairs.delete(pair);
  };
  const freeze = (pair: Pair) => {
    pair.flowing = false;
  };
  const freezeAll = () => {
    let n = 0;
    for (const pair of pairs) {
      if (pair.flowing) n++;
      freeze(pair);
    }
    return n;
  };

  const attachUpstream = (pair: Pair) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port), allowHalfOpen: true });
    pair.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => {
      pair.answered = true;
      if (pair.flowing && pair.clientEnd !== 'reset') pair.client.write(chunk);
      else if (!pair.flowing) pair.toClient.push(chunk);
    });
    upstream.on('end', () => {
      pair.upstreamEnd = 'fin';
      if (pair.flowing) pair.client.end();
    });
    upstream.on('error', (error) => {
      pair.upstreamEnd = isReset(error) ? 'reset' : 'fin';
      if (pair.flowing) pair.client.destroy();
    });
    upstream.on('close', () => done(pair));
  };

  const server = createServer({ allowHalfOpen: true }, (client) => {
    const pair: Pair = {
      client, upstream: undefined, openedAt: Date.now(), answered: false, flowing: !partitioned,
      toUpstream: [], toClient: [], clientEnd: 'open', upstreamEnd: 'open',
    };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (armed && pair.flowing && pair.answered && chunk.length >= armed.minBytes && Date.now() - pair.openedAt >= armed.minAgeMs) {
        const fired = armed.fired;
        armed = undefined;
        partitioned = true;
        freezeAll();
        fired(Date.now());
      }
      if (pair.flowing) pair.upstream?.write(chunk);
      else pair.toUpstream.push(chunk);
    });
    client.on('end', () => {
      pair.clientEnd = 'fin';
      if (pair.flowing) pair.upstream?.end();
      else stats.finWhileFrozen++;
    });
    client.on('error', (error) => {
      if (!isReset(error)) {
        pair.clientEnd = 'fin';
        return;
      }
      pair.clientEnd = 'reset';
      if (pair.flowing) {
        pair.upstream?.resetAndDestroy();
        return;
      }
      // The RST discards what the server never acked.
      stats.resetWhileFrozen++;
      stats.discardedByReset += pair.toUpstream.reduce((n, b) => n + b.length, 0);
      pair.toUpstream = [];
    });
    client.on('close', () => done(pair));
    if (pair.flowing) attachUpstream(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');

  const release = (pair: Pair) => {
    if (pair.flowing) return;
    if (!pair.upstream) {
      // Opened during the partition: its handshake never reached the server. Closed meanwhile: nothing arrives.
      if (pair.clientEnd !== 'open') {
        stats.discardedByReset += pair.toUpstream.reduce((n, b) => n + b.length, 0);
        pair.client.destroy();
        pairs.delete(pair);
        return;
      }
      attachUpstream(pair);
    }
    const upstream = pair.upstream!;
    pair.flowing = true;
    for (const chunk of pair.toUpstream.splice(0)) {
      stats.deliveredLate += chunk.length;
      upstream.write(chunk);
    }
    if (pair.clientEnd === 'fin') upstream.end();
    if (pair.clientEnd === 'reset') upstream.resetAndDestroy();
    for (const chunk of pair.toClient.splice(0)) if (pair.clientEnd === 'open') pair.client.write(chunk);
    if (pair.upstreamEnd === 'fin') pair.client.end();
    if (pair.upstreamEnd === 'reset') pair.client.destroy();
  };

  return {
    url: `https://127.0.0.1:${address.port}`,
    freezeOpenConnections: freezeAll,
    partition() {
      partitioned = true;
      freezeAll();
    },
    partitionOnNextRequest(trigger = {}) {
      return new Promise<number>((fired) => {
        armed = { minBytes: trigger.minBytes ?? 500, minAgeMs: trigger.minAgeMs ?? 1000, fired };
      });
    },
    heal() {
      partitioned = false;
      for (const pair of [...pairs]) release(pair);
    },
    stats: () => ({ ...stats }),
    async close() {
      armed = undefined;
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
