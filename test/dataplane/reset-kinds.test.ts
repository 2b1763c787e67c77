// The kernel facts the lab's steady load counts failures by (test/lab/failure-kind.mjs): a RST answering the SYN
// reaches Node as ECONNREFUSED; a RST after the kernel completed the handshake as ECONNRESET, and Node reports it
// as a connect error when it came before the event loop saw the connect. The lab meets the second when an ECMP
// rehash falls between the SYN-ACK and the ACK (the LB pod that gets the ACK resets it): the handshake
// completed, so it is a connection broken in flight, not one that found no LB. Here nftables resets the client's
// ACK, as that LB pod does, and the client's event loop is held while it happens.
import { expect, test } from '@jest/globals';
import { join } from 'node:path';
import { repoRoot } from '../integration/harness/index.js';
import { aroundAll } from './support/around-all.js';
import { inNs, sh } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';

const ns = `rst-${process.pid}`;
const RESET_ACK = 8081;
const CLOSED = 8082;

// One attempt as steady-load.mjs makes it (http.request, connected on the socket's 'connect'), the event loop
// held 300 ms after its connect() so the whole handshake and any reset happen before Node looks.
const CLIENT = `
import { createServer } from 'node:net';
import { request } from 'node:http';
import { failureKind } from ${JSON.stringify(join(repoRoot, 'test/lab/failure-kind.mjs'))};
const port = Number(process.argv[1]);
const server = createServer(() => undefined).listen(${RESET_ACK}, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const result = await new Promise((resolve) => {
  let connected = false;
  const req = request({ host: '127.0.0.1', port, agent: false, headers: { connection: 'close' } }, () => resolve({ answered: true }));
  req.on('socket', (s) => s.once('connect', () => { connected = true; }));
  req.on('error', (err) => resolve({ code: err.code, connected, kind: failureKind(connected, err.code) }));
  req.end();
  // Node calls connect() on the next tick (an IP needs no lookup): this tick comes after it, before any poll.
  process.nextTick(() => {
    const until = Date.now() + 300;
    while (Date.now() < until) { /* hold the event loop: the handshake and the reset happen meanwhile */ }
  });
});
console.log(JSON.stringify(result));
server.close();
`;

const describeIf = suiteIf(missingPrerequisites(null, ['nft']), 'reset kinds');

describeIf('a reset before or after the handshake, as the lab client counts it', () => {
  aroundAll(
    async () => {
      await sh('ip', ['netns', 'add', ns]);
      await inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
      // The client's ACK that completes the handshake (ACK alone, no SYN/FIN/RST) gets a RST, as vipChain's
      // vip_stale rule gives a flow's segment it holds no state for.
      await inNs(ns, ['nft', `add table inet t; add chain inet t out { type filter hook output priority 0; }; ` +
        `add rule inet t out tcp dport ${RESET_ACK} tcp flags & (syn | ack | fin | rst) == ack reject with tcp reset`]);
    },
    async () => {
      await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
    },
  );

  const attempt = async (port: number) => JSON.parse((await inNs(ns, [process.execPath, '--input-type=module', '-e', CLIENT, String(port)])).trim()) as
    { code?: string; connected?: boolean; kind?: string; answered?: boolean };

  test.each([
    ['a RST answering the SYN (nothing listens): ECONNREFUSED, never connected', CLOSED, 'ECONNREFUSED', 'connect'],
    ['a RST for the ACK of a completed handshake: ECONNRESET before the connect event, in flight', RESET_ACK, 'ECONNRESET', 'inFlight'],
  ])('%s', async (_name, port, code, kind) => {
    expect(await attempt(port)).toEqual({ code, connected: false, kind });
  });
});
