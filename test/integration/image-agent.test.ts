// The agent from the image's root filesystem balancing real traffic: hack/image-rootfs.sh's root (what the
// Dockerfile's runtime stage holds) runs `plb-agent run --file` under chroot inside the LB pod of the data-plane
// lab's pod network (network namespaces), so the image's node, addon, libbpf and BPF objects program the kernel.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { ARTIFACTS, LOAD, PODS, VIP, plbYaml, type Tally } from '../dataplane/support/lab.js';
import { inNs, type Spawned } from '../dataplane/support/netns.js';
import { missingPrerequisites } from '../dataplane/support/prereqs.js';
import { Topology } from '../dataplane/support/topology.js';
import { repoRoot } from './harness/index.js';

jest.setTimeout(180_000);

const reason = missingPrerequisites(ARTIFACTS, ['debootstrap', 'chroot']);
if (reason && process.env['CI'] === 'true') throw new Error(`CI must run the image agent test: ${reason}`);
if (reason) console.log(`skipping the image agent test: ${reason}`);

const SERVER = join(repoRoot, 'test/dataplane/support/backend-server.mjs');
const topo = new Topology('pimg-');
let rootfs = '';
let agent: Spawned | undefined;

(reason ? describe.skip : describe)('plb-agent from the image root filesystem', () => {
  beforeAll(async () => {
    rootfs = execFileSync('bash', [join(repoRoot, 'hack/image-rootfs.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    mkdirSync(join(rootfs, 'tmp/bpffs'), { recursive: true });
    writeFileSync(join(rootfs, 'tmp/plb.yaml'), plbYaml({
      dataPlane: 'xdp',
      backends: (['b1', 'b2', 'b3'] as const).map((b) => ({ ip: PODS[b], weight: 1 })),
    }));
    await topo.create(Object.entries(PODS).map(([name, ip]) => ({ name, ip })));
    await topo.routeVip(VIP, PODS.lb);
    for (const b of ['b1', 'b2', 'b3'] as const) await topo.spawn(topo.ns(b), ['node', SERVER, b, '8080', '5353']).waitFor(/^ready/);
    // What a container runtime gives the LB pod: its own /sys and /proc, the hostPath bpffs, a clean environment.
    // The mounts live in `ip netns exec`'s private mount namespace and go away with the agent.
    const script = [
      'set -e',
      `mount -t sysfs sysfs '${rootfs}/sys'`,
      `mount -t proc proc '${rootfs}/proc'`,
      `mount -t bpf bpf '${rootfs}/tmp/bpffs'`,
      `exec chroot '${rootfs}' env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ` +
        'plb-agent run --file /tmp/plb.yaml --interface eth0 --pin-dir /tmp/bpffs/lb --listen 127.0.0.1:9470',
    ].join('\n');
    agent = topo.spawn(topo.ns('lb'), ['sh', '-c', script]);
    await agent.waitFor(/listening on/, 60_000);
  }, 600_000);
  afterAll(async () => {
    if (agent) console.log(agent.output().split('\n').slice(-10).join('\n'));
    await topo.destroy();
  });

  test('balances 300 short connections over all three backends with no failure', async () => {
    const tally = JSON.parse(await inNs(topo.ns('cli'), ['node', LOAD, 'http', `http://${VIP}/`, '300', '4', 'close'], 170_000)) as Tally;
    expect(tally.failed).toBe(0);
    expect(Object.keys(tally.counts).sort()).toEqual(['b1', 'b2', 'b3']);
    for (const n of Object.values(tally.counts)) expect(n).toBeGreaterThan(300 / 3 / 2);
  });

  test('reports Ready on /readyz once the kernel holds the desired state', async () => {
    const code = 'fetch("http://127.0.0.1:9470/readyz").then((r) => process.stdout.write(String(r.status)))';
    expect(await inNs(topo.ns('lb'), ['node', '-e', code])).toBe('200');
  });
});
