// The data-plane conformance suite: the same scenarios for every data plane, on the real kernel, in network
// namespaces shaped like a pod network. The standalone agent runs as its own process in the LB pod and is driven
// only through its file, exactly as a user would. Select data planes with PLB_DATAPLANES=xdp,nftables,...
import { expect, jest, test } from '@jest/globals';
import { inNs, nstat, type Spawned } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';
import { ARTIFACTS, HOLD, LOAD, Lab, PODS, VIP, plbYaml as labYaml, type Backend } from './support/lab.js';
import { expectShares, expectedBigSha256 } from './support/expect.js';
import { SYN, SYN_ACK, installProbes, mssProbes, readProbes } from './support/nft-probes.js';
import {
  IDLE_TCP, OPEN_FLOWS, RAW_SEND, UDP_FIXED, XdpFlows, addClientAddresses, fixedReplies, idleTcpEvents, idleTcpReceived,
} from './support/population.js';

/**
 * The suite's PLB file: drainSeconds 300 (the most the API allows), so connections to a backend removed early in
 * the suite keep running through the later cases, as the cases about removed backends and agent restarts expect.
 */
const plbYaml = (o: Parameters<typeof labYaml>[0]) => labYaml({ drainSeconds: 300, ...o });

const DATA_PLANES = (process.env['PLB_DATAPLANES'] ?? 'xdp,nftables').split(',').filter((d) => d !== '');
/** Data planes that clamp the TCP MSS to spec.overlay's MTU - 40. */
const MSS_CLAMPING = new Set(['nftables', 'ipvs', 'xdp']);
/**
 * The client-population cases (issue 13) and the data planes each is enabled for: a plane is added to a case's
 * list when it passes it (each case failed on main first where the plane had the bug). Not enabled: skipped.
 */
const POPULATION_CASES: Record<string, readonly string[]> = {
  bigUdp: ['nftables', 'ipvs', 'xdp'],
  unserved: ['nftables', 'ipvs', 'xdp'],
  udpFixedPort: ['nftables', 'ipvs', 'xdp'],
  manyClients: ['nftables', 'ipvs', 'xdp'],
  idleSurvivesBurst: ['nftables', 'ipvs', 'xdp'],
  // xdp only: what it tests is the xdp plane's own flow table losing an entry (the LRU, or the GC); conntrack
  // never evicts an established (assured) entry and keeps it 5 days idle (docs/dataplane-ipvs-nftables.md).
  reverseMiss: ['xdp'],
  otherHost: ['nftables', 'ipvs', 'xdp'],
  // ipvs only: IPVS's own connection timeout (900 s by default, per netns) forgets an idle connection and its
  // conntrack entry; nftables keeps conntrack's 5 days, xdp its tcpEstablishedSeconds (6 h).
  ipvsIdleTimeout: ['ipvs'],
};
/**
 * Connects of the many-clients case: more distinct client tuples than one SNAT address has ports (64 512 above
 * 1023). hack/vm/conformance.sh lowers it to 3000 (emulation: 64 600 took 217 s, with ports reused).
 */
const TUPLES = Number(process.env['PLB_POPULATION_TUPLES'] ?? 64_600);
const CLIENT_ADDRESSES = 16;
/** SYNs of the 3000-connection burst a backend's TCP may answer with an ACK instead of a SYN-ACK (see the case). */
const SYN_REJECTS_ALLOWED = 2;
/** The backends' kernel counters that say why a SYN got no SYN-ACK: TIME_WAIT/PAWS, challenge ACK, accept queue. */
const BACKEND_SYN_COUNTERS = ['TcpExtPAWSTimewait', 'TcpExtPAWSEstab', 'TcpExtTWRecycled', 'TcpExtTSEcrRejected',
  'TcpExtTCPChallengeACK', 'TcpExtTCPSYNChallenge', 'TcpExtListenOverflows', 'TcpExtListenDrops'];

// Generous: a loaded 2-core machine can be slow, and a per-project testTimeout in jest.config.js is not applied.
// PLB_TEST_TIMEOUT_MS: hack/vm/conformance.sh raises it, everything is several times slower under emulation.
const TEST_TIMEOUT_MS = Number(process.env['PLB_TEST_TIMEOUT_MS'] ?? 120_000);
jest.setTimeout(TEST_TIMEOUT_MS);

suiteIf(missingPrerequisites(ARTIFACTS), 'data-plane conformance').each(DATA_PLANES)('%s data plane conformance', (dataPlane) => {
  const lab = new Lab(`plbdp-${process.pid}-${dataPlane.slice(0, 3)}-`);
  const topo = lab.topo;
  let hold: Spawned | undefined;

  const load = (ns: string, args: string[]) => lab.load(ns, args);
  const http = (from: string, requests: number, concurrency: number) => lab.http(from, requests, concurrency);
  const reconfigure = (backends: Backend[]) => lab.reconfigure(plbYaml({ dataPlane, backends }));
  const holdRound = async (): Promise<Array<{ backend: string | null; localPort: number | null; ok: boolean }>> => {
    const from = hold!.output().length;
    hold!.child.stdin!.write('go\n');
    return JSON.parse(await hold!.waitFor(/^\[/, 20_000, from));
  };

  // The lab's start includes the agent's (PLB_AGENT_START_MS under emulation).
  lab.aroundSuite(plbYaml({ dataPlane, backends: [{ ip: PODS.b1, weight: 1 }, { ip: PODS.b2, weight: 2 }] }),
    { timeoutMs: Math.max(175_000, TEST_TIMEOUT_MS) });

  test('spreads 3000 short TCP connections within ±15% of the weights, none failing', async () => {
    const t = await http(topo.ns('cli'), 3000, 30);
    expect(t).toMatchObject({ failed: 0 });
    expectShares(t, { b1: 1, b2: 2 });
  });

  test('balances UDP by the same weights (a new flow per datagram)', async () => {
    const t = await load(topo.ns('cli'), ['udp', VIP, '53', '1200']);
    if (t.late) process.stderr.write(`${dataPlane} udp: ${t.late} of 1200 replies came after 2 s (answered, so not lost)\n`);
    expect(t.failed).toBe(0);
    expectShares(t, { b1: 1, b2: 2 });
  });

  test('delivers a 1 MiB body intact', async () => {
    const r = JSON.parse(await inNs(topo.ns('cli'), ['node', LOAD, 'big', `http://${VIP}/big`])) as { status: number; sha256: string };
    expect(r).toEqual({ status: 200, bytes: 1 << 20, sha256: expectedBigSha256() });
  });

  test('serves traffic generated on the LB pod\'s node itself (partial checksums)', async () => {
    const t = await http(topo.node, 300, 10);
    expect(t.failed).toBe(0);
    expect(Object.keys(t.counts).sort()).toEqual(['b1', 'b2']);
  });

  test('a burst of Connection: close requests: every SYN reaches a backend and is answered with a SYN-ACK that reaches the client (SNAT keeps client ports)', async () => {
    // Counted exactly where handshakes are sent and received, not inferred from retransmits: under software
    // emulation (hack/vm) a vCPU can stall past the 1 s initial RTO, and the client then retransmits a SYN whose
    // SYN-ACK was merely late (seen once in a 6.1 VM run). A lost packet shows as a SYN the backends never got or
    // a SYN-ACK the client never got: none is allowed. A SNAT port colliding with a backend's TIME_WAIT socket
    // (notes §5.3) shows as a SYN a backend answered with a plain ACK instead of a SYN-ACK (as does a full accept
    // queue); the client resets, retries after its 1 s RTO and connects. Random SNAT ports, the regression this
    // guards against, collide by the hundreds in this burst (short-connection throughput 0.20x); with the client's
    // port kept, CI saw one such SYN in 3001 once (nftables; 0 in 6 reruns here), so up to SYN_REJECTS_ALLOWED
    // pass, with the backends' TCP counters printed to say which kernel path answered them.
    const backends = ['b1', 'b2', 'b3'];
    await installProbes(topo.ns('cli'), [
      { name: 'syn', hook: 'output', match: `tcp dport 80 ${SYN}` },
      { name: 'synack', hook: 'input', match: `tcp sport 80 ${SYN_ACK}` },
      { name: 'rst', hook: 'output', match: 'tcp dport 80 tcp flags rst' },
    ]);
    for (const b of backends) {
      await installProbes(topo.ns(b), [
        { name: 'syn', hook: 'input', match: `tcp dport 8080 ${SYN}` },
        { name: 'synack', hook: 'output', match: `tcp sport 8080 ${SYN_ACK}` },
      ]);
    }
    const before = await nstat(topo.ns('cli'));
    const backendsBefore = await Promise.all(backends.map((b) => nstat(topo.ns(b))));
    const t = await http(topo.ns('cli'), 3000, 50);
    const after = await nstat(topo.ns('cli'));
    const backendsAfter = await Promise.all(backends.map((b) => nstat(topo.ns(b))));
    const backendCounters = Object.fromEntries(BACKEND_SYN_COUNTERS.map((k) =>
      [k, backendsAfter.reduce((n, c, i) => n + (c[k] ?? 0) - (backendsBefore[i]![k] ?? 0), 0)]));
    const cli = await readProbes(topo.ns('cli'));
    const at = await Promise.all(backends.map((b) => readProbes(topo.ns(b))));
    const sum = (name: string) => at.reduce((n, c) => n + (c[name] ?? 0), 0);
    const got = {
      failed: t.failed,
      synsLost: cli['syn']! - sum('syn'), synsNotAnswered: sum('syn') - sum('synack'), synAcksLost: sum('synack') - cli['synack']!,
    };
    process.stderr.write(`${dataPlane} burst: ${JSON.stringify({ ...got, synsSent: cli['syn'], clientResets: cli['rst'],
      synRetransmits: after['TcpExtTCPSynRetrans']! - before['TcpExtTCPSynRetrans']!, backends: backendCounters })}\n`);
    expect(after['TcpActiveOpens']! - before['TcpActiveOpens']!).toBeGreaterThanOrEqual(3000);
    expect(cli['syn']).toBeGreaterThanOrEqual(3000);
    const { synsNotAnswered, ...lost } = got;
    expect(lost).toEqual({ failed: 0, synsLost: 0, synAcksLost: 0 });
    expect(synsNotAnswered).toBeLessThanOrEqual(SYN_REJECTS_ALLOWED);
  });

  test('a removed backend gets no new flows while its established connections finish', async () => {
    hold = topo.spawn(topo.ns('cli'), ['node', HOLD, `http://${VIP}/`, '16']);
    await hold.waitFor(/^holding/);
    const first = await holdRound();
    expect(first.every((r) => r.ok)).toBe(true);
    expect(first.some((r) => r.backend === 'b2')).toBe(true);

    await reconfigure([{ ip: PODS.b1, weight: 1 }]);
    const during = await holdRound();
    expect(during).toEqual(first);
    const t = await http(topo.ns('cli'), 600, 20);
    expect(t).toEqual({ counts: { b1: 600 }, failed: 0, errors: {} });
  });

  test('an added backend starts receiving new flows by its weight', async () => {
    await reconfigure([{ ip: PODS.b1, weight: 1 }, { ip: PODS.b3, weight: 1 }]);
    const t = await http(topo.ns('cli'), 1200, 20);
    expect(t.failed).toBe(0);
    expectShares(t, { b1: 1, b3: 1 });
  });

  test('established connections survive SIGKILL of the agent and its restart (pinned state adopted)', async () => {
    const before = await holdRound();
    await lab.agent.kill('SIGKILL');
    expect(await holdRound()).toEqual(before);
    const whileDown = await http(topo.ns('cli'), 200, 10);
    expect(whileDown.failed).toBe(0);

    await lab.agent.start();
    expect(await holdRound()).toEqual(before);
    const after = await http(topo.ns('cli'), 600, 20);
    expect(after.failed).toBe(0);
    expect(Object.keys(after.counts).sort()).toEqual(['b1', 'b3']);
  });

  test('/metrics counts flows per service and per backend, and shows the drained backend', async () => {
    const metrics = await lab.metrics();
    const value = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? NaN);
    expect(value(new RegExp(`plb_service_new_flows_total\\{vip="${VIP}",port="80",protocol="TCP"\\} (\\d+)`)))
      .toBeGreaterThanOrEqual(3000);
    expect(value(new RegExp(`plb_service_no_backend_total\\{vip="${VIP}",port="80",protocol="TCP"\\} (\\d+)`))).toBe(0);
    expect(metrics).toMatch(new RegExp(`plb_backend_new_flows_total\\{backend="${PODS.b2}",state="draining"\\} [1-9]`));
    const hook = dataPlane === 'xdp' ? 'tc' : '[a-z]+';
    expect(metrics).toMatch(new RegExp(`plb_dataplane_attached\\{data_plane="${dataPlane}",hook="${hook}",interface="eth0"\\} 1`));
  });

  if (MSS_CLAMPING.has(dataPlane)) {
    test('clamps the MSS of SYNs and SYN-ACKs to spec.overlay\'s MTU - 40 (vxlan: 1410), only lowering it', async () => {
      // Counted where the segments are sent and received: the client's SYN leaves with 1460 (MTU 1500), arrives
      // at the backend with 1410; the backend's SYN-ACK leaves with 1460 and reaches the client with 1410.
      // Before the path-MTU test: the PMTU it leaves cached (1200) would make the MSS sent smaller than 1410.
      await installProbes(topo.ns('cli'), [
        ...mssProbes('syn_sent', 'output', `tcp dport 80 ${SYN}`, 1460), ...mssProbes('synack_received', 'input', `tcp sport 80 ${SYN_ACK}`, 1410),
      ]);
      for (const b of ['b1', 'b3']) {
        await installProbes(topo.ns(b), [
          ...mssProbes('syn_received', 'input', `tcp dport 8080 ${SYN}`, 1410), ...mssProbes('synack_sent', 'output', `tcp sport 8080 ${SYN_ACK}`, 1460),
        ]);
      }
      await lab.reconfigure(plbYaml({ dataPlane, backends: [{ ip: PODS.b1, weight: 1 }, { ip: PODS.b3, weight: 1 }], overlay: '{mode: vxlan}' }));
      const t = await http(topo.ns('cli'), 20, 4);
      expect(t.failed).toBe(0);
      const cli = await readProbes(topo.ns('cli'));
      const backends = [await readProbes(topo.ns('b1')), await readProbes(topo.ns('b3'))];
      const sum = (name: string) => backends.reduce((n, c) => n + (c[name] ?? 0), 0);
      const got = {
        clientSynsWith1460: cli['syn_sent_1460'] === cli['syn_sent_all'],
        backendSyns: sum('syn_received_all'), backendSynsWith1410: sum('syn_received_1410'),
        backendSynAcksWith1460: sum('synack_sent_1460') === sum('synack_sent_all'),
        clientSynAcks: cli['synack_received_all'], clientSynAcksWith1410: cli['synack_received_1410'],
      };
      if (dataPlane === 'ipvs') process.stderr.write(await inNs(topo.ns('lb'), ['nft', 'list', 'table', 'ip', 'portable_lb_ipvs']));
      expect(got).toEqual({
        clientSynsWith1460: true, backendSyns: got.backendSyns, backendSynsWith1410: got.backendSyns,
        backendSynAcksWith1460: true, clientSynAcks: got.clientSynAcks, clientSynAcksWith1410: got.clientSynAcks,
      });
      expect(got.backendSyns).toBeGreaterThanOrEqual(20);
      expect(got.clientSynAcks).toBeGreaterThanOrEqual(20);
      await lab.reconfigure(plbYaml({ dataPlane, backends: [{ ip: PODS.b1, weight: 1 }, { ip: PODS.b3, weight: 1 }] }));
    });
  }

  test('path MTU discovery works through the LB in both directions (ICMP errors translated)', async () => {
    // Narrow links on the node: towards the backends (frag-needed goes to the LB's SNAT address) and towards
    // the client (frag-needed goes to the VIP). Without translation both transfers stall.
    const narrow = ['h-b1', 'h-b3', 'h-cli'];
    try {
      for (const dev of narrow) await inNs(topo.node, ['ip', 'link', 'set', dev, 'mtu', '1200']);
      const up = JSON.parse(await inNs(topo.ns('cli'), ['node', LOAD, 'upload', `http://${VIP}/upload`, String(512 << 10)], 60_000)) as
        { bytes: number; sha256: string; sent: string };
      expect({ bytes: up.bytes, intact: up.sha256 === up.sent }).toEqual({ bytes: 512 << 10, intact: true });
      const down = JSON.parse(await inNs(topo.ns('cli'), ['node', LOAD, 'big', `http://${VIP}/big`], 60_000)) as { sha256: string };
      expect(down.sha256).toBe(expectedBigSha256());
    } finally {
      for (const dev of narrow) await inNs(topo.node, ['ip', 'link', 'set', dev, 'mtu', '1500']);
    }
    if (dataPlane === 'xdp') {
      const metrics = await lab.metrics();
      expect(metrics).toMatch(/plb_dataplane_events_total\{kind="icmpTranslated"\} [1-9]/);
    }
  });

  if (dataPlane === 'ipvs') {
    test('a VIP change moves the VIP on lo: a VIP without connections goes at once, one with connections drains, others\' addresses stay', async () => {
      const lo = async () => (JSON.parse(await inNs(topo.ns('lb'), ['ip', '-j', '-4', 'addr', 'show', 'dev', 'lo'])) as
        Array<{ addr_info: Array<{ local: string; label: string }> }>).flatMap((l) => l.addr_info.map((a) => `${a.local} ${a.label}`)).sort();
      const backends = [{ ip: PODS.b1, weight: 1 }, { ip: PODS.b3, weight: 1 }];
      const vip = (v: string) => lab.reconfigure(plbYaml({ dataPlane, backends, vip: v }));
      await inNs(topo.ns('lb'), ['ip', 'addr', 'add', '10.240.250.1/32', 'dev', 'lo']);
      await vip('10.240.200.20');
      // the old VIP still carries the held connections (and IPVS's TIME_WAIT ones): it stays while they drain
      expect(await lo()).toEqual(['10.240.200.10 lo:plb', '10.240.200.20 lo:plb', '10.240.250.1 lo', '127.0.0.1 lo']);
      await vip('10.240.200.30');
      expect(await lo()).toEqual(['10.240.200.10 lo:plb', '10.240.200.30 lo:plb', '10.240.250.1 lo', '127.0.0.1 lo']);
      await vip(VIP);
      expect(await lo()).toEqual(['10.240.200.10 lo:plb', '10.240.250.1 lo', '127.0.0.1 lo']);
      expect((await holdRound()).every((r) => r.ok)).toBe(true);
    });
  }

  const populationCase = (name: string) => (POPULATION_CASES[name]!.includes(dataPlane) ? test : test.skip);
  const one = [{ ip: PODS.b1, weight: 1 }];
  const two = [{ ip: PODS.b1, weight: 1 }, { ip: PODS.b3, weight: 1 }];

  populationCase('bigUdp')('a UDP datagram larger than the MTU (4000 bytes: 3 fragments each way) is balanced and answered', async () => {
    await reconfigure(two);
    const t = await load(topo.ns('cli'), ['udp', VIP, '53', '30', '4000']);
    expect(t.failed).toBe(0);
    expect(Object.keys(t.counts).sort()).toEqual(['b1', 'b3']);
  });

  populationCase('unserved')('VIP traffic no service takes (an unserved UDP and TCP port, ICMP echo, IP protocol 253) is not forwarded: no TTL loop through the node', async () => {
    // Counted where it happens (nft counters, exact; other traffic of the suite does not mix in): a looping packet
    // is forwarded by the node and the LB pod on every round until its TTL runs out (main: 200 datagrams to
    // VIP:9999 -> ~6 200 forwarded by the node). Not forwarded: the node forwards each packet once, towards the LB
    // pod, and the LB pod forwards none (it drops it, or answers it itself).
    const cli = topo.ns('cli');
    const sources = await addClientAddresses(topo, 1);
    const kinds = {
      udp9999: `ip daddr ${VIP} udp dport 9999`, tcp9999: `ip daddr ${VIP} tcp dport 9999`,
      icmpEcho: `ip daddr ${VIP} icmp type echo-request`, protocol253: `ip daddr ${VIP} meta l4proto 253`,
    };
    const probes = (hook: 'output' | 'forward') => Object.entries(kinds).map(([name, match]) => ({ name, hook, match }));
    await installProbes(cli, probes('output'));
    for (const ns of [topo.node, topo.ns('lb')]) await installProbes(ns, probes('forward'));
    await inNs(cli, ['node', LOAD, 'send', VIP, '9999', '200']);
    await inNs(cli, ['node', LOAD, 'connects', VIP, '9999', '10', '10', sources[0]!], 60_000);
    await inNs(cli, ['/usr/bin/python3', RAW_SEND, VIP, 'icmp-echo', '50']);
    await inNs(cli, ['/usr/bin/python3', RAW_SEND, VIP, 'proto-253', '50']);
    await new Promise((r) => setTimeout(r, 500)); // a looping packet is gone after 64 hops, well within this
    const [sent, node, lb] = [await readProbes(cli), await readProbes(topo.node), await readProbes(topo.ns('lb'))];
    const seen = Object.fromEntries(Object.keys(kinds).map((k) => [k, { sent: sent[k]!, nodeForwarded: node[k]!, lbForwarded: lb[k]! }]));
    process.stderr.write(`${dataPlane} unserved: ${JSON.stringify(seen)}\n`);
    expect(seen).toEqual(Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, { sent: v.sent, nodeForwarded: v.sent, lbForwarded: 0 }])));
    expect(sent).toMatchObject({ udp9999: 200, icmpEcho: 50, protocol253: 50 });
    expect(sent['tcp9999']).toBeGreaterThanOrEqual(10);
  });

  populationCase('udpFixedPort')('a UDP client on a fixed source port is answered by another backend within 1 s of its backend\'s removal', async () => {
    await reconfigure(two);
    const u = topo.spawn(topo.ns('cli'), ['node', UDP_FIXED, VIP, '53', '40053', '50']);
    try {
      await u.waitFor(/^\{"t"/);
      const was = fixedReplies(u.output()).at(-1)!.backend;
      const stays = was === 'b1' ? 'b3' : 'b1';
      await reconfigure([{ ip: stays === 'b1' ? PODS.b1 : PODS.b3, weight: 1 }]);
      const removedAt = Date.now();
      const offset = u.output().length;
      await u.waitFor(new RegExp(`"backend":"${stays}"`), 5000, offset).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1000));
      const after = fixedReplies(u.output().slice(offset));
      const firstOther = after.find((r) => r.backend === stays);
      const msToOther = firstOther ? firstOther.t - removedAt : null;
      process.stderr.write(`${dataPlane} udp fixed port: removed ${was}, first reply from ${stays} after ${msToOther} ms\n`);
      expect({ answeredByOther: firstOther !== undefined, withinOneSecond: msToOther !== null && msToOther <= 1000 })
        .toEqual({ answeredByOther: true, withinOneSecond: true });
      // and it stays there: no reply from the removed backend after the first from the other
      expect(after.filter((r) => r.t >= firstOther!.t && r.backend !== stays)).toEqual([]);
    } finally {
      u.child.kill('SIGKILL');
    }
  });

  /** Polls `read` (every 100 ms, at most 10 s) until `done` holds of what it returns; returns the last value. */
  const until = async <T,>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
    let v = await read();
    for (let i = 0; i < 100 && !done(v); i++) v = await new Promise((r) => setTimeout(r, 100)).then(read);
    return v;
  };
  const event = async (kind: string) => Number(new RegExp(`^plb_dataplane_events_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(await lab.metrics())?.[1] ?? NaN);

  populationCase('reverseMiss')('a backend\'s segment on an idle connection whose reverse flow entry is gone is dropped, not reset by the LB pod\'s kernel, and the connection carries on once the client sends', async () => {
    // Under flow-table pressure the LRU evicts an idle connection's entries first (the GC expires idle ones):
    // here its reverse entry is deleted from the pinned map. idle-tcp.mjs sends nothing after the handshake (no
    // keep-alive probes), so nothing of the client's restores it before the backend speaks.
    await reconfigure(one);
    const flows = new XdpFlows(lab.pinDir);
    const conn = topo.spawn(topo.ns('cli'), ['node', IDLE_TCP, VIP, '80']);
    try {
      const { localPort } = JSON.parse(await conn.waitFor(/^\{"localPort"/)) as { localPort: number };
      const reverse = await flows.partnerOf(XdpFlows.key({ saddr: PODS.cli, daddr: VIP, sport: localPort, dport: 80, proto: 'tcp' }));
      const { dport: snatPort, ...reply } = XdpFlows.tuple(reverse); // the backend's reply tuple
      expect(reply).toEqual({ saddr: PODS.b1, daddr: PODS.lb, sport: 8080, proto: 'tcp' });
      // The handshake's last ACK (a forward segment, which would restore the entry) has reached the backend.
      const established = () => inNs(topo.ns('b1'), ['ss', '-Htn', 'state', 'established', `( sport = :8080 and dport = :${snatPort} )`]);
      expect(await until(established, (out) => out.trim() !== '')).not.toBe('');
      await flows.delete(reverse);
      expect(await flows.lookup(reverse)).toBeNull();
      await installProbes(topo.ns('cli'), [
        { name: 'received', hook: 'input', match: `tcp sport 80 tcp dport ${localPort}` },
        { name: 'resets', hook: 'input', match: `tcp sport 80 tcp dport ${localPort} tcp flags rst` },
      ]);
      await installProbes(topo.ns('lb'), [{ name: 'resets', hook: 'output', match: `tcp sport ${snatPort} tcp dport 8080 tcp flags rst` }]);
      await installProbes(topo.ns('b1'), [
        { name: 'sent', hook: 'output', match: `tcp sport 8080 tcp dport ${snatPort}` },
        { name: 'resets', hook: 'input', match: `tcp sport ${snatPort} tcp dport 8080 tcp flags rst` },
      ]);
      const droppedBefore = await event('reverseMissDropped');
      const b1 = lab.backends.b1!;
      const from = b1.output().length;
      b1.child.stdin!.write(`push ${snatPort}\n`);
      expect(await b1.waitFor(/^(pushed|no-connection) /, 15_000, from)).toBe(`pushed ${snatPort}`);
      // Until the segment and a retransmission of it (RTO 200 ms or more) were dropped, or anything was reset.
      const seen = async () => ({ b1: await readProbes(topo.ns('b1')), lb: await readProbes(topo.ns('lb')), dropped: await event('reverseMissDropped') - droppedBefore });
      const s = await until(seen, (v) => (v.dropped >= 2 && v.b1['sent']! >= 2) || v.b1['resets']! > 0 || v.lb['resets']! > 0);
      const cli = await readProbes(topo.ns('cli'));
      process.stderr.write(`${dataPlane} reverse miss: ${JSON.stringify({ snatPort, ...s, cli })}\n`);
      expect({ lbResets: s.lb['resets'], backendResets: s.b1['resets'], clientReceived: cli['received'], clientResets: cli['resets'], dropped: s.dropped >= 2 })
        .toEqual({ lbResets: 0, backendResets: 0, clientReceived: 0, clientResets: 0, dropped: true });

      // The client's request hits the forward entry, which restores the reverse one (its first packet in a new
      // second does: the request, or a retransmission of it): the pushed data (retransmitted) and the answer to the
      // request come through on the same connection, from the same backend.
      conn.child.stdin!.write('get\n');
      const events = () => idleTcpEvents(conn.output());
      const received = () => idleTcpReceived(conn.output());
      await until(async () => received(), (r) => r.endsWith('\r\n\r\nb1\n'));
      expect(events().filter((e) => e.data === undefined && !('localPort' in e))).toEqual([]);
      expect(received()).toMatch(/^b1 push\nHTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nb1\n$/);
      expect(await flows.lookup(reverse)).not.toBeNull();
    } finally {
      conn.child.kill('SIGKILL');
    }
  });

  populationCase('ipvsIdleTimeout')('an idle TCP connection outlives IPVS\'s own TCP timeout (shortened here with ipvsadm --set to 8 s; 900 s by default): the backend speaking first after it reaches the client, nothing is reset', async () => {
    // The agent sets the LB pod's IPVS TCP timeout on every apply: shortened first, then an apply (a weight change).
    const lb = topo.ns('lb');
    await inNs(lb, ['ipvsadm', '--set', '8', '120', '300']);
    await reconfigure([{ ip: PODS.b1, weight: 2 }]);
    const conn = topo.spawn(topo.ns('cli'), ['node', IDLE_TCP, VIP, '80']);
    try {
      const { localPort: clientPort } = JSON.parse(await conn.waitFor(/^\{"localPort"/)) as { localPort: number };
      // The port the backend sees: the client's (a port-preserving masquerade), unless the masquerade had to take
      // another because a conntrack entry of an earlier case's connection held that tuple (a CI run failed on
      // assuming the client's). The reply direction of the LB pod's conntrack entry says which.
      const ct = await until(() => inNs(lb, ['conntrack', '-L', '-p', 'tcp', '--orig-port-src', String(clientPort), '--orig-dst', VIP, '--state', 'ESTABLISHED']),
        (out) => /dport=\d+.*dport=\d+/.test(out));
      const localPort = Number(/dport=\d+.*dport=(\d+)/.exec(ct)![1]);
      const established = () => inNs(topo.ns('b1'), ['ss', '-Htn', 'state', 'established', `( sport = :8080 and dport = :${localPort} )`]);
      expect(await until(established, (out) => out.trim() !== '')).not.toBe('');
      await installProbes(topo.ns('lb'), [{ name: 'resets', hook: 'output', match: `tcp dport 8080 tcp flags rst` }]);
      await installProbes(topo.ns('b1'), [{ name: 'resets', hook: 'input', match: `tcp dport 8080 tcp flags rst` }]);
      await new Promise((r) => setTimeout(r, 12_000)); // idle past the shortened timeout
      const timeouts = (await inNs(lb, ['ipvsadm', '-L', '--timeout'])).trim();
      const b1 = lab.backends.b1!;
      const from = b1.output().length;
      b1.child.stdin!.write(`push ${localPort}\n`);
      expect(await b1.waitFor(/^(pushed|no-connection) /, 15_000, from)).toBe(`pushed ${localPort}`);
      const events = () => idleTcpEvents(conn.output());
      const received = () => idleTcpReceived(conn.output());
      const resets = async () => (await readProbes(topo.ns('b1')))['resets']! + (await readProbes(lb))['resets']!;
      await until(async () => ({ r: received(), n: await resets() }), (v) => v.r.includes('b1 push') || v.n > 0);
      conn.child.stdin!.write('get\n');
      await until(async () => ({ r: received(), n: await resets() }), (v) => v.r.endsWith('\r\n\r\nb1\n') || v.n > 0);
      process.stderr.write(`${dataPlane} idle past IPVS's timeout: ${JSON.stringify({ timeouts, events: events().slice(1), resets: await resets() })}\n`);
      expect({ timeouts, received: received(), resets: await resets(), errors: events().filter((e) => e.error || e.end) })
        .toEqual({ timeouts: 'Timeout (tcp tcpfin udp): 21600 120 300', received: expect.stringMatching(/^b1 push\nHTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nb1\n$/), resets: 0, errors: [] });
    } finally {
      conn.child.kill('SIGKILL');
    }
  });

  populationCase('otherHost')('frames on the LB pod\'s interface for another host\'s MAC (flooded by a bridge) are left to its kernel untouched: none reaches a backend', async () => {
    // The node sends the LB pod's traffic to a foreign MAC (a static neighbour entry), as a bridge floods a frame
    // for a MAC it has not learnt to every port. Counted on the LB pod's eth0 after its programs (nft ingress):
    // translated, a frame would have been redirected to a backend instead, and would not be seen there.
    // One backend, as the case before left it: the drain case after this one starts by changing the backends.
    await reconfigure(one);
    const cli = topo.ns('cli');
    const lbMac = (await inNs(topo.ns('lb'), ['cat', '/sys/class/net/eth0/address'])).trim();
    const foreign = lbMac === '02:00:00:00:0a:01' ? '02:00:00:00:0a:02' : '02:00:00:00:0a:01';
    const datagrams = 50;
    await installProbes(topo.ns('lb'), [{ name: 'untouched', hook: 'ingress', match: `ether daddr ${foreign} ip daddr ${VIP} udp dport 53` }]);
    for (const b of ['b1', 'b2', 'b3']) await installProbes(topo.ns(b), [{ name: 'datagrams', hook: 'input', match: 'udp dport 5353' }]);
    await installProbes(cli, [{ name: 'replies', hook: 'input', match: `ip saddr ${VIP} udp sport 53` }]);
    const otherHostBefore = dataPlane === 'xdp' ? await event('otherHost') : 0;
    let untouched = 0;
    try {
      await inNs(topo.node, ['ip', 'neigh', 'replace', PODS.lb, 'lladdr', foreign, 'dev', 'h-lb', 'nud', 'permanent']);
      await inNs(cli, ['node', LOAD, 'send', VIP, '53', String(datagrams)]);
      untouched = (await until(() => readProbes(topo.ns('lb')), (p) => p['untouched']! >= datagrams))['untouched']!;
    } finally {
      await inNs(topo.node, ['ip', 'neigh', 'replace', PODS.lb, 'lladdr', lbMac, 'dev', 'h-lb', 'nud', 'reachable']);
    }
    const atBackends = (await Promise.all(['b1', 'b2', 'b3'].map((b) => readProbes(topo.ns(b))))).reduce((n, p) => n + p['datagrams']!, 0);
    const replies = (await readProbes(cli))['replies'];
    process.stderr.write(`${dataPlane} other host: ${JSON.stringify({ untouched, atBackends, replies })}\n`);
    expect({ untouched, atBackends, replies }).toEqual({ untouched: datagrams, atBackends: 0, replies: 0 });
    if (dataPlane === 'xdp') expect(await event('otherHost') - otherHostBefore).toBeGreaterThanOrEqual(datagrams);
    // and with the right MAC again, the same datagrams are balanced and answered
    const t = await load(cli, ['udp', VIP, '53', '20']);
    expect(t.failed).toBe(0);
  });

  if (dataPlane === 'xdp') {
    test('TCP connections to a removed backend run until its drainSeconds end, then are reset at once', async () => {
      // nftables has its own real-kernel test of this (nftables-drain.test.ts), with a test clock.
      const drainSeconds = 2;
      await lab.reconfigure(plbYaml({ dataPlane, backends: two, drainSeconds }));
      // From a client address no earlier case used: the staying backend then holds no TIME_WAIT socket of an
      // earlier connection on the SNAT tuple a held connection moves to (docs/dataplane-xdp.md, "Backend
      // changes": that socket would answer with an ACK, not a reset, until its 60 s are over).
      await addClientAddresses(topo, 1);
      const fresh = '10.240.2.250';
      await inNs(topo.ns('cli'), ['ip', 'addr', 'replace', `${fresh}/32`, 'dev', 'eth0']);
      const held = topo.spawn(topo.ns('cli'), ['node', HOLD, `http://${VIP}/`, '8', fresh]);
      const round = async () => {
        const from = held.output().length;
        held.child.stdin!.write('go\n');
        return JSON.parse(await held.waitFor(/^\[/, 20_000, from)) as Array<{ backend: string | null; localPort: number | null; ok: boolean; error?: string }>;
      };
      try {
        await held.waitFor(/^holding/);
        const first = await round();
        expect(first.every((r) => r.ok)).toBe(true);
        const removed = first.some((r) => r.backend === 'b3') ? 'b3' : 'b1';
        const stays = removed === 'b3' ? 'b1' : 'b3';
        await lab.reconfigure(plbYaml({ dataPlane, backends: [{ ip: PODS[stays], weight: 1 }], drainSeconds }));
        expect(await round()).toEqual(first); // draining: every connection still runs, on its own backend
        // drainSeconds, then at most one GC interval (10 s), then the flows are gone
        await new Promise((r) => setTimeout(r, (drainSeconds + 12) * 1000));
        const started = Date.now();
        const after = await round();
        const ms = Date.now() - started;
        const onRemoved = first.map((r, i) => ({ was: r, now: after[i]! })).filter((p) => p.was.backend === removed);
        const onStayer = first.map((r, i) => ({ was: r, now: after[i]! })).filter((p) => p.was.backend !== removed);
        process.stderr.write(`${dataPlane} drain end: ${onRemoved.length} on ${removed}, now ${JSON.stringify(onRemoved.map((p) => p.now))}, round ${ms} ms\n`);
        expect(onRemoved.length).toBeGreaterThan(0);
        // The next segment of such a connection finds no flow, goes by the ring to the staying backend, which
        // knows no such connection and resets it. hold.mjs's sockets (node's keep-alive Agent) send a TCP
        // keep-alive probe after 1 s idle, so the reset mostly comes before the round: the Agent drops the
        // socket and the round's request opens a new connection (another local port) to the staying backend.
        // If the request itself met the reset, it fails with it. Either way: not the removed backend, no timeout.
        expect(onRemoved.map((p) => (p.now.ok
          ? { backend: p.now.backend, newConnection: p.now.localPort !== p.was.localPort }
          : { reset: /ECONNRESET|socket hang up/.test(p.now.error ?? '') })))
          .toEqual(onRemoved.map((p) => (p.now.ok ? { backend: stays, newConnection: true } : { reset: true })));
        expect(onStayer.map((p) => p.now)).toEqual(onStayer.map((p) => p.was));
        expect(ms).toBeLessThan(4000); // a reset, not a timeout (hold.mjs gives up after 5 s)
      } finally {
        held.child.kill('SIGKILL');
        // also after a failure: the next case's reconfigure must change what is programmed (it waits for that)
        await lab.reconfigure(plbYaml({ dataPlane, backends: two }));
      }
    });
  }

  let idle: Spawned | undefined;
  const idleRound = async () => {
    const from = idle!.output().length;
    idle!.child.stdin!.write('go\n');
    return JSON.parse(await idle!.waitFor(/^\[/, 20_000, from)) as Array<{ backend: string | null; localPort: number | null; ok: boolean }>;
  };
  const openFlows = OPEN_FLOWS[dataPlane];
  let idleBefore: Awaited<ReturnType<typeof idleRound>> = [];

  (openFlows ? populationCase('manyClients') : test.skip)(`${TUPLES} distinct client tuples from ${CLIENT_ADDRESSES} client addresses to a one-backend service: every connect succeeds, and the open flows drain back after the connections close`, async () => {
    await reconfigure(one);
    const sources = await addClientAddresses(topo, CLIENT_ADDRESSES);
    // The idle connection of the next case: opened before the burst, checked after it.
    idle = topo.spawn(topo.ns('cli'), ['node', HOLD, `http://${VIP}/`, '1']);
    await idle.waitFor(/^holding/);
    idleBefore = await idleRound();
    expect(idleBefore).toMatchObject([{ backend: 'b1', ok: true }]);
    const open = () => openFlows!(topo.ns('lb'), VIP, 80);
    const openBefore = await open();
    // Every SYN sent must reach the backend: the connect wait (30 s, five SYNs) hides SYNs the plane dropped
    // (xdp before closed flows gave their SNAT tuples away: 1 076 and 1 077 in two runs, each such connect
    // delayed by 1 s or more).
    await installProbes(topo.ns('cli'), [{ name: 'syn', hook: 'output', match: `tcp dport 80 ${SYN}` }]);
    await installProbes(topo.ns('b1'), [{ name: 'syn', hook: 'input', match: `tcp dport 8080 ${SYN}` }]);
    const nstatBefore = await nstat(topo.ns('cli'));
    const started = Date.now();
    const t = JSON.parse(await inNs(topo.ns('cli'), ['node', LOAD, 'connects', VIP, '80', String(TUPLES), '64', sources.join(',')], 3_000_000)) as
      { ok: number; failed: number; errors: Record<string, number>; tuples: number };
    const seconds = (Date.now() - started) / 1000;
    const synsSent = (await readProbes(topo.ns('cli')))['syn']!;
    const synsLost = synsSent - (await readProbes(topo.ns('b1')))['syn']!;
    const synRetransmits = (await nstat(topo.ns('cli')))['TcpExtTCPSynRetrans']! - nstatBefore['TcpExtTCPSynRetrans']!;
    // Closing flows leave the open count within seconds (FIN/ACK seen); allow for a slow machine.
    let openAfter = await open();
    for (let i = 0; i < 20 && openAfter > openBefore; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      openAfter = await open();
    }
    process.stderr.write(`${dataPlane} many clients: ${JSON.stringify({ ...t, seconds, openBefore, openAfter, synsSent, synsLost, synRetransmits })}\n`);
    expect({ ok: t.ok, failed: t.failed, errors: t.errors, synsLost }).toEqual({ ok: TUPLES, failed: 0, errors: {}, synsLost: 0 });
    // distinct: the kernel may reuse a client port once its TIME_WAIT (60 s) is over, in a slow run
    expect(t.tuples).toBeGreaterThanOrEqual(Math.min(64_001, Math.floor(TUPLES * 0.95)));
    expect(openAfter).toBeLessThanOrEqual(openBefore);
  }, 1_800_000);

  (openFlows ? populationCase('idleSurvivesBurst') : test.skip)('a long-lived idle TCP connection survives that burst (flow-table pressure): same connection, same backend', async () => {
    expect(idle).toBeDefined();
    expect(await idleRound()).toEqual(idleBefore);
    idle!.child.kill('SIGKILL');
  });

  test('no namespace saw a TCP, UDP or ICMP checksum error', async () => {
    const errors: Record<string, number> = {};
    for (const ns of [topo.node, ...Object.keys(PODS).map((p) => topo.ns(p))]) {
      const c = await nstat(ns);
      errors[`${ns} TcpInCsumErrors`] = c['TcpInCsumErrors'] ?? -1;
      errors[`${ns} UdpInCsumErrors`] = c['UdpInCsumErrors'] ?? -1;
      errors[`${ns} IcmpInCsumErrors`] = c['IcmpInCsumErrors'] ?? -1;
    }
    expect(Object.entries(errors).filter(([, v]) => v !== 0)).toEqual([]);
  });
});
