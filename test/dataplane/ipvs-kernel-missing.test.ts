// On a kernel without IPVS (this project's CI machine) the agent started with dataPlane ipvs must stay up,
// say what the node has to load (readyz, the log, plb_dataplane_warnings) and keep retrying: no crash loop.
// Where ip_vs is loaded the ipvs conformance suite runs instead (natively, or under hack/vm/run.sh).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentProcess, buildAgent } from './support/agent-process.js';
import { ARTIFACTS, ROOT } from './support/lab.js';
import { inNs } from './support/netns.js';
import { gate, missingPrerequisites } from './support/prereqs.js';
import { Topology } from './support/topology.js';

const ipvsPresent = existsSync('/sys/module/ip_vs');
const reason = missingPrerequisites(ARTIFACTS);
const { run, failInCi } = ipvsPresent ? { run: false, failInCi: false } : gate(reason);
if (ipvsPresent) process.stderr.write('ipvs-kernel-missing skipped: this kernel has IPVS (the ipvs conformance suite covers it)\n');

const yaml = (port: number) => `apiVersion: portablelb.io/v1alpha1
kind: PortableLoadBalancer
metadata: {name: noipvs}
spec:
  vip: 10.241.200.10
  dataPlane: ipvs
  ports: [{port: ${port}, targetPort: 8080}]
  backends: {addresses: [{ip: 10.241.1.1}]}
`;

const topo = new Topology(`plbipvs-${process.pid}-`);
let work = '';
let mainJs = '';
let agent: AgentProcess;

const get = (path: string) => inNs(topo.ns('lb'), ['node', '-e',
  `fetch("http://127.0.0.1:9471${path}").then(async (r) => process.stdout.write(r.status + " " + await r.text()))`]);

if (failInCi) {
  test('ipvs-kernel-missing prerequisites (CI=true: a skip is a failure)', () => {
    throw new Error(`cannot run on this CI machine: ${reason}`);
  });
}

if (run) {
  beforeAll(async () => {
    work = await mkdtemp(join(ROOT, '.tmp', 'plbipvs-'));
    mainJs = await buildAgent(ROOT, join(work, 'build'));
    await topo.create([{ name: 'lb', ip: '10.241.0.3' }]);
    await writeFile(join(work, 'plb.yaml'), yaml(80));
    agent = new AgentProcess(topo, topo.ns('lb'), mainJs, ['--file', join(work, 'plb.yaml'), '--interface', 'eth0', '--listen', '127.0.0.1:9471']);
    await agent.start();
  }, 175_000);

  afterAll(async () => {
    await topo.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('readyz is 503 with the modules the node must load; the log says the same', async () => {
    const ready = await get('/readyz');
    expect(ready).toMatch(/^503 not ready: IPVS is not available in this kernel/);
    expect(ready).toContain('modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_mh ip_vs_lc nf_conntrack');
    expect(agent.log()).toMatch(/apply failed: IPVS is not available in this kernel/);
  });

  test('/metrics shows not ready and one data-plane warning', async () => {
    const metrics = await get('/metrics');
    expect(metrics).toMatch(/\nplb_agent_ready 0\n/);
    expect(metrics).toMatch(/\nplb_dataplane_warnings 1\n/);
  });

  test('a changed file is retried and reported again, and the agent keeps running', async () => {
    const offset = agent.logOffset();
    await writeFile(join(work, 'plb.yaml.tmp'), yaml(81));
    await rename(join(work, 'plb.yaml.tmp'), join(work, 'plb.yaml'));
    // the agent re-applies on the file change (debounced); poll its log for the second report
    for (let i = 0; i < 150 && !/apply failed: IPVS is not available/.test(agent.log().slice(offset)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(agent.log().slice(offset)).toMatch(/apply failed: IPVS is not available/);
    expect(await get('/healthz')).toBe('200 ok\n');
  });

  // The standalone agent's endpoints must not reach the VIP's clients: with ipvs the VIP is a local address.
  const standalone = (listen: string) => topo.spawn(topo.ns('lb'), ['node', mainJs, 'run', '--file', join(work, 'plb.yaml'),
    '--interface', 'eth0', '--pin-dir', join(work, `pins-${listen.replace(/\W/g, '')}`), '--listen', listen]);

  test('--listen on the VIP is refused at start: exit 1, and the message says why', async () => {
    const p = standalone('10.241.200.10:9472');
    const code = p.child.exitCode ?? await new Promise<number | null>((resolve) => p.child.once('exit', resolve));
    expect(code).toBe(1);
    expect(p.output()).toMatch(/fatal: --listen 10\.241\.200\.10: that is the VIP/);
  });

  test('a wildcard --listen with ipvs starts, and warns that the endpoints answer on the VIP too', async () => {
    const p = standalone('0.0.0.0:9473');
    await p.waitFor(/listening on 0\.0\.0\.0:9473/, 60_000);
    expect(p.output()).toMatch(/warning: --listen 0\.0\.0\.0: with dataPlane ipvs the VIP 10\.241\.200\.10 is a local address/);
    p.child.kill('SIGTERM');
  });
}
