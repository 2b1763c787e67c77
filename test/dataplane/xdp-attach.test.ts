// The XDP build of the same BPF source, attached as native XDP to the LB pod's veth. On a veth this only works
// when the node cooperates (notes §1.2): GRO on the host-side peer so redirected frames are consumed, and tx
// checksum offload off on same-node senders so no CHECKSUM_PARTIAL packet reaches the incremental update. The
// test prepares exactly that, and checks the agent warns about it.
import { expect, jest, test } from '@jest/globals';
import { inNs, nstat } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';
import { ARTIFACTS, LOAD, Lab, PODS, VIP, plbYaml } from './support/lab.js';
import { expectShares, expectedBigSha256 } from './support/expect.js';

jest.setTimeout(120_000);

const suite = suiteIf(missingPrerequisites(ARTIFACTS, ['ethtool']), 'xdp attach');

suite('xdp data plane attached as native XDP on a prepared veth', () => {
  const lab = new Lab(`plbdp-${process.pid}-nat-`);
  const topo = lab.topo;

  lab.aroundSuite(plbYaml({ dataPlane: 'xdp', attach: 'native', backends: [{ ip: PODS.b1, weight: 1 }, { ip: PODS.b2, weight: 1 }] }), {
    prepare: async (t) => {
      await inNs(t.node, ['ethtool', '-K', 'h-lb', 'gro', 'on']);
      for (const pod of ['cli', 'b1', 'b2']) await inNs(t.ns(pod), ['ethtool', '-K', 'eth0', 'tx', 'off']);
    },
  });

  test('attaches as native XDP and warns what the node must provide', async () => {
    const link = await inNs(topo.ns('lb'), ['ip', '-d', 'link', 'show', 'dev', 'eth0']);
    expect(link).toMatch(/xdp id \d+/);
    expect(await inNs(topo.ns('lb'), ['tc', 'filter', 'show', 'dev', 'eth0', 'ingress'])).toBe('');
    expect(lab.agent.log()).toMatch(/warning: native XDP on veth eth0: .*host-side peer/);
    expect(await lab.metrics()).toMatch(/plb_dataplane_attached\{data_plane="xdp",hook="native",interface="eth0"\} 1/);
  });

  test('balances short TCP connections and UDP, with no failures', async () => {
    const tcp = await lab.http(topo.ns('cli'), 1000, 20);
    expect(tcp.failed).toBe(0);
    expectShares(tcp, { b1: 1, b2: 1 });
    const udp = await lab.load(topo.ns('cli'), ['udp', VIP, '53', '600']);
    expect(udp.failed).toBe(0);
    expectShares(udp, { b1: 1, b2: 1 });
  });

  test('delivers a 1 MiB body intact', async () => {
    const r = JSON.parse(await inNs(topo.ns('cli'), ['node', LOAD, 'big', `http://${VIP}/big`])) as { sha256: string };
    expect(r.sha256).toBe(expectedBigSha256());
  });

  test('SIGTERM exits cleanly and leaves the program serving (the documented default)', async () => {
    expect(await lab.agent.kill('SIGTERM')).toBe(0);
    expect(lab.agent.log()).toMatch(/SIGTERM: leaving the program and pinned maps in place/);
    expect(await inNs(topo.ns('lb'), ['ip', '-d', 'link', 'show', 'dev', 'eth0'])).toMatch(/xdp id \d+/);
    const t = await lab.http(topo.ns('cli'), 200, 10);
    expect(t.failed).toBe(0);
  });

  test('no namespace saw a checksum error', async () => {
    for (const ns of [topo.node, topo.ns('cli'), topo.ns('lb'), topo.ns('b1'), topo.ns('b2')]) {
      const c = await nstat(ns);
      expect({ ns, tcp: c['TcpInCsumErrors'], udp: c['UdpInCsumErrors'] }).toEqual({ ns, tcp: 0, udp: 0 });
    }
  });
});

suite('xdp data plane attached as native XDP on an unprepared veth', () => {
  const lab = new Lab(`plbdp-${process.pid}-unp-`);

  lab.aroundSuite(plbYaml({ dataPlane: 'xdp', attach: 'native', backends: [{ ip: PODS.b1, weight: 1 }] }));

  test('traffic stalls (nothing consumes the redirected frames) and the data plane says so', async () => {
    const t = await lab.http(lab.topo.ns('cli'), 25, 25);
    expect(t.failed).toBe(25);
    const metrics = await lab.metrics();
    expect(metrics).toMatch(/^plb_dataplane_warnings [1-9]/m);
    expect(metrics).toMatch(/^plb_service_reply_packets_total\{vip="10\.240\.200\.10",port="80",protocol="TCP"\} 0$/m);
  });
});
