// An IPv6 VIP through the nftables data plane, on the real kernel: dual-stack pods in network namespaces (the
// IPv6 addresses are 2001:db8::/32 documentation addresses that exist only inside them), the standalone agent in
// the LB pod driven through its file. TCP and UDP spread by weight, replies return through the LB (masquerade),
// a removed backend gets no new connections, SYNs and SYN-ACKs carry the clamped MSS (overlay MTU 1280 - 60),
// and a VIP that changes family leaves only its own family's table.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentProcess, buildAgent } from './support/agent-process.js';
import { expectShares } from './support/expect.js';
import { LOAD, ROOT, type Tally } from './support/lab.js';
import { inNs } from './support/netns.js';
import { gate, missingPrerequisites } from './support/prereqs.js';
import { Topology } from './support/topology.js';

jest.setTimeout(Number(process.env['PLB_TEST_TIMEOUT_MS'] ?? 120_000));

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER = join(HERE, 'support', 'backend-server.mjs');
const UDP = join(HERE, 'support', 'udp-flows.mjs');

const VIP = '2001:db8:200::10';
const VIP4 = '10.240.200.10';
const PODS = {
  cli: { ip: '10.240.0.2', ip6: '2001:db8:0:1::2' },
  lb: { ip: '10.240.0.3', ip6: '2001:db8:0:1::3' },
  b1: { ip: '10.240.1.1', ip6: '2001:db8:1::1' },
  b2: { ip: '10.240.1.2', ip6: '2001:db8:1::2' },
  b3: { ip: '10.240.1.3', ip6: '2001:db8:1::3' },
} as const;
type BackendName = 'b1' | 'b2' | 'b3';
// spec.overlay.mtu 1280 (the IPv6 minimum): the clamp is 1280 - 40 (IPv6 header) - 20 (TCP header).
const MSS = 1220;

const reason = missingPrerequisites(null, ['nft']);
const { run, failInCi } = gate(reason);
if (failInCi) {
  test('nftables IPv6 prerequisites (CI=true: a skip is a failure)', () => {
    throw new Error(`cannot run the dataplane tier on this CI machine: ${reason}`);
  });
}

function plbYaml(vip: string, backends: Array<{ ip: string; weight: number }>): string {
  return [
    'apiVersion: portablelb.io/v1alpha1',
    'kind: PortableLoadBalancer',
    'metadata: {name: ipv6}',
    'spec:',
    `  vip: ${JSON.stringify(vip)}`,
    '  dataPlane: nftables',
    '  overlay: {mtu: 1280}',
    '  ports:',
    '  - {name: http, port: 80, targetPort: 8080, protocol: TCP}',
    '  - {name: echo, port: 53, targetPort: 5353, protocol: UDP}',
    '  backends:',
    '    addresses:',
    ...backends.map((b) => `    - {ip: ${JSON.stringify(b.ip)}, weight: ${b.weight}}`),
    '',
  ].join('\n');
}
const v6 = (weights: Partial<Record<BackendName, number>>) =>
  Object.entries(weights).map(([b, weight]) => ({ ip: PODS[b as BackendName].ip6, weight }));

/** Counts, in a test namespace, TCP handshake segments and those whose MSS option is exactly `MSS`. */
async function installMssProbe(ns: string, match: string): Promise<void> {
  const script = [
    'table inet plbtest_mss {', '  counter handshakes {}', '  counter clamped {}',
    '  chain input {', '    type filter hook input priority 0; policy accept;',
    `    ${match} counter name handshakes`, `    ${match} tcp option maxseg size ${MSS} counter name clamped`, '  }', '}', '',
  ].join('\n');
  const file = join(work, `probe-${ns}.nft`);
  await writeFile(file, script);
  await inNs(ns, ['nft', '-f', file]);
}
async function readMssProbe(ns: string): Promise<{ all: number; clamped: number }> {
  const doc = JSON.parse(await inNs(ns, ['nft', '-j', 'list', 'table', 'inet', 'plbtest_mss'])) as
    { nftables: Array<{ counter?: { name: string; packets: number } }> };
  const get = (name: string) => doc.nftables.find((o) => o.counter?.name === name)?.counter?.packets ?? -1;
  return { all: get('handshakes'), clamped: get('clamped') };
}

const topo = new Topology(`plb6-${process.pid}-`);
let work = '';
let buildDir = '';
let agent: AgentProcess;
const configPath = () => join(work, 'plb.yaml');

async function reconfigure(yaml: string): Promise<void> {
  const offset = agent.logOffset();
  await writeFile(`${configPath()}.tmp`, yaml);
  await rename(`${configPath()}.tmp`, configPath());
  await agent.waitProgrammed(offset);
}
const http = async (url: string, requests: number, concurrency: number): Promise<Tally> =>
  JSON.parse(await inNs(topo.ns('cli'), ['node', LOAD, 'http', url, String(requests), String(concurrency), 'close'], 170_000)) as Tally;
const metrics = () => inNs(topo.ns('lb'), ['node', '-e',
  'fetch("http://127.0.0.1:9470/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))']);
const metric = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in /metrics:\n${text}`);
  return Number(line.split(' ')[1]);
};

(run ? describe : describe.skip)('nftables data plane with an IPv6 VIP (real kernel)', () => {
  beforeAll(async () => {
    try {
      work = await mkdtemp(join(tmpdir(), 'plb6-'));
      await mkdir(join(ROOT, '.tmp'), { recursive: true });
      buildDir = await mkdtemp(join(ROOT, '.tmp', 'plb6-'));
      const mainJs = await buildAgent(ROOT, buildDir);
      await topo.create(Object.entries(PODS).map(([name, a]) => ({ name, ...a })));
      await topo.routeVip(VIP, PODS.lb.ip6);
      await topo.routeVip(VIP4, PODS.lb.ip);
      for (const b of ['b1', 'b2', 'b3'] as const) {
        await topo.spawn(topo.ns(b), ['node', SERVER, b, '8080', '5353', '::']).waitFor(/^ready/);
        // SYNs arriving at the backend server
        await installMssProbe(topo.ns(b), 'tcp dport 8080 tcp flags & (syn | ack) == syn');
      }
      // SYN-ACKs arriving back at the client
      await installMssProbe(topo.ns('cli'), 'tcp sport 80 tcp flags & (syn | ack) == syn | ack');
      await writeFile(configPath(), plbYaml(VIP, v6({ b1: 1, b2: 2, b3: 1 })));
      agent = new AgentProcess(topo, topo.ns('lb'), mainJs, [
        '--file', configPath(), '--interface', 'eth0', '--pin-dir', join(work, 'pins'), '--listen', '127.0.0.1:9470',
      ]);
      await agent.start();
    } catch (err) {
      await topo.destroy();
      throw err;
    }
  }, 175_000);

  afterAll(async () => {
    await topo.destroy();
    if (work) await rm(work, { recursive: true, force: true });
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
  });

  test('programs one ip6 table and switches IPv6 forwarding on in the LB pod', async () => {
    expect((await inNs(topo.ns('lb'), ['nft', 'list', 'tables'])).trim()).toBe('table ip6 portable_lb');
    expect((await inNs(topo.ns('lb'), ['sysctl', '-n', 'net.ipv6.conf.all.forwarding'])).trim()).toBe('1');
  });

  test('spreads 2000 short TCP connections within ±15% of the weights 1:2:1, none failing', async () => {
    const t = await http(`http://[${VIP}]/`, 2000, 20);
    expect(t.failed).toBe(0);
    expectShares(t, { b1: 1, b2: 2, b3: 1 });
  });

  test('balances UDP by the same weights (a new flow per datagram)', async () => {
    const t = JSON.parse(await inNs(topo.ns('cli'), ['node', UDP, VIP, '53', '800'], 170_000)) as Tally;
    expect(t.failed).toBe(0);
    expectShares(t, { b1: 1, b2: 2, b3: 1 });
  });

  test('backends see the LB pod\'s address as the source: replies return through the LB', async () => {
    const t = await http(`http://[${VIP}]/peer`, 40, 4);
    expect(t.failed).toBe(0);
    const peers = new Set(Object.keys(t.counts).map((k) => k.split(' ')[1]));
    expect([...peers]).toEqual([PODS.lb.ip6]);
  });

  test(`SYNs reach the backends and SYN-ACKs reach the client with MSS ${MSS}`, async () => {
    const probes = {
      syn: await Promise.all((['b1', 'b2', 'b3'] as const).map((b) => readMssProbe(topo.ns(b)))),
      synAck: await readMssProbe(topo.ns('cli')),
    };
    const syn = probes.syn.reduce((a, p) => ({ all: a.all + p.all, clamped: a.clamped + p.clamped }), { all: 0, clamped: 0 });
    expect(syn.all).toBeGreaterThan(2000);
    expect(syn).toEqual({ all: syn.all, clamped: syn.all });
    expect(probes.synAck.all).toBeGreaterThan(2000);
    expect(probes.synAck).toEqual({ all: probes.synAck.all, clamped: probes.synAck.all });
  });

  test('reports the IPv6 service and backends in /metrics', async () => {
    const text = await metrics();
    expect(metric(text, `plb_service_new_flows_total{vip="${VIP}",port="80",protocol="TCP"}`)).toBeGreaterThanOrEqual(2040);
    // A fresh socket can get a source port whose conntrack entry (30 s for UDP) is still there: not a new flow.
    const udp = metric(text, `plb_service_new_flows_total{vip="${VIP}",port="53",protocol="UDP"}`);
    expect([udp > 760, udp <= 800]).toEqual([true, true]);
    for (const b of ['b1', 'b2', 'b3'] as const) {
      expect(metric(text, `plb_backend_new_flows_total{backend="${PODS[b].ip6}",state="active"}`)).toBeGreaterThan(100);
    }
  });

  test('a removed backend gets no new connections and is reported draining', async () => {
    await reconfigure(plbYaml(VIP, v6({ b1: 1, b2: 2 })));
    const before = metric(await metrics(), `plb_backend_new_flows_total{backend="${PODS.b3.ip6}",state="draining"}`);
    const t = await http(`http://[${VIP}]/`, 600, 10);
    expect(t.failed).toBe(0);
    expectShares(t, { b1: 1, b2: 2 });
    expect(metric(await metrics(), `plb_backend_new_flows_total{backend="${PODS.b3.ip6}",state="draining"}`)).toBe(before);
  });

  test('a VIP changed to IPv4 replaces the ip6 table with an ip one, and IPv4 is served', async () => {
    await reconfigure(plbYaml(VIP4, [{ ip: PODS.b1.ip, weight: 1 }, { ip: PODS.b2.ip, weight: 1 }]));
    expect((await inNs(topo.ns('lb'), ['nft', 'list', 'tables'])).trim()).toBe('table ip portable_lb');
    const t = await http(`http://${VIP4}/`, 200, 10);
    expect(t.failed).toBe(0);
    expect(Object.keys(t.counts).sort()).toEqual(['b1', 'b2']);
  });
});
