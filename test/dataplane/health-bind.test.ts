// The LB pod's health and metrics server does not answer on the VIP. With ipvs the VIP is a local address of the
// LB pod (on lo, src/dataplane/ipvs/local-addresses.ts), so a wildcard listener served /healthz, /readyz and
// /metrics on the VIP's port 9095 to anyone who can reach the VIP. The real cluster agent (`plb-agent run --kubernetes`,
// started in a namespace of its own with an API server it cannot reach: it serves before its first sync) binds
// its pod IP and loopback only; the kubelet's probes and Prometheus' scrapes come to the pod IP.
// (nftables and xdp never make the VIP local, and their VIP chain / program drop every port no service has:
// the conformance suite's `unserved` case.)
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_HEALTH_PORT } from '../../src/api/constants.js';
import { buildAgent } from './support/agent-process.js';
import { ROOT } from './support/lab.js';
import { inNs, type Spawned } from './support/netns.js';
import { gate, missingPrerequisites } from './support/prereqs.js';
import { Topology } from './support/topology.js';

jest.setTimeout(Number(process.env['PLB_TEST_TIMEOUT_MS'] ?? 180_000));

const VIP = '10.243.200.10';
const PODS = { cli: '10.243.0.2', lb: '10.243.0.3' } as const;
/** The LB pod's port (src/operator/desired.ts sets HEALTH_PORT to it). */
const PORT = AGENT_HEALTH_PORT;
const { run, failInCi } = gate(missingPrerequisites(null));
const topo = new Topology(`plbhb-${process.pid}-`);
let work = '';
let agent: Spawned;

/** The status code, or the connect error's code (ECONNREFUSED: nothing listens there). */
const get = (ns: string, ip: string) => inNs(ns, ['node', '-e',
  `fetch("http://${ip}:${PORT}/healthz", {signal: AbortSignal.timeout(5000)})` +
  '.then((r) => process.stdout.write(String(r.status)), (e) => process.stdout.write(e.cause?.code ?? e.name))']);

if (failInCi) {
  test('health-bind prerequisites (CI=true: a skip is a failure)', () => {
    throw new Error('cannot run on this CI machine');
  });
}

if (run) {
  beforeAll(async () => {
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    work = await mkdtemp(join(ROOT, '.tmp', 'plbhb-'));
    const mainJs = await buildAgent(ROOT, join(work, 'build'));
    await topo.create(Object.entries(PODS).map(([name, ip]) => ({ name, ip })));
    await topo.routeVip(VIP, PODS.lb);
    // What the ipvs plane does with the VIP once programmed.
    await inNs(topo.ns('lb'), ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo']);
    const kubeconfig = join(work, 'kubeconfig');
    await writeFile(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: x',
      'clusters: [{name: x, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
      'users: [{name: x, user: {token: t}}]', 'contexts: [{name: x, context: {cluster: x, user: x}}]', '',
    ].join('\n'));
    agent = topo.spawn(topo.ns('lb'), ['env', `KUBECONFIG=${kubeconfig}`, 'POD_NAMESPACE=plb', 'POD_NAME=web-lb-0', 'PLB_NAME=web',
      `POD_IP=${PODS.lb}`, `POD_IPS=${PODS.lb}`, 'PLB_DATA_PLANE=ipvs', `HEALTH_PORT=${PORT}`, `PLB_BGP_PEERS_FILE=${join(work, 'peers.json')}`,
      'node', mainJs, 'run', '--kubernetes', '--interface', 'eth0']);
    await agent.waitFor(/cluster agent for /, 60_000);
  }, 175_000);

  afterAll(async () => {
    await topo.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the pod IP and loopback answer; the VIP, local on lo as ipvs puts it, refuses', async () => {
    const seen = {
      podIpFromClient: await get(topo.ns('cli'), PODS.lb),
      loopback: await get(topo.ns('lb'), '127.0.0.1'),
      vipFromClient: await get(topo.ns('cli'), VIP),
      vipInPod: await get(topo.ns('lb'), VIP),
    };
    process.stderr.write(`health-bind: ${JSON.stringify(seen)}\n${agent.output().split('\n').find((l) => /cluster agent for/.test(l))}\n`);
    // /healthz: live (nothing is programmed without an API server, so /readyz would say 503, but be served too)
    expect(seen).toEqual({ podIpFromClient: '200', loopback: '200', vipFromClient: 'ECONNREFUSED', vipInPod: 'ECONNREFUSED' });
  });
}
