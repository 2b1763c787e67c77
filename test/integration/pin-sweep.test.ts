// The pin sweep against the real kube-apiserver (issue 14: pinned maps leaked on every exit that is not a
// finished drain). An agent's sweep of its pod namespace's directory removes the pin directory of a sibling LB
// pod that no longer exists and the stale UID directory of a reused name; it keeps a live sibling's, its own,
// another Deployment's, and everything when the API server cannot be reached. The pin root is a plain directory
// here (the node's bpffs holds directories and pinned objects; rm -r removes both alike).
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { podLookup, sweepPins } from '../../src/agent/kubernetes/sweep.js';
import { podPinDir } from '../../src/agent/kubernetes/pins.js';
import { createTestNamespace, eventually, repoRoot, startControlPlane, type ControlPlane } from './harness/index.js';

jest.setTimeout(120_000);

let cp: ControlPlane;
let root = '';
beforeAll(async () => {
  cp = await startControlPlane();
  root = await mkdtemp(join(tmpdir(), 'plb-pins-'));
});
afterAll(async () => {
  await cp?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

/** What an xdp agent leaves in its pin directory (pinned maps: files here). */
async function pins(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'plb_flows'), '');
}

/** The tree under the namespace's directory, as relative paths of directories holding maps. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const pod of (await readdir(dir)).sort()) {
    for (const child of (await readdir(join(dir, pod))).sort()) out.push(child === 'plb_flows' ? pod : `${pod}/${child}`);
  }
  return out;
}

/** A fresh namespace with two pods of one LB Deployment: this agent's own (`self`) and a live sibling's. */
async function twoLbPods(prefix: string) {
  const namespace = await createTestNamespace(cp.kubeConfig, prefix);
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const pod = async (name: string) => (await core.createNamespacedPod({
    namespace, body: { metadata: { name }, spec: { containers: [{ name: 'agent', image: 'portable-lb:test' }] } },
  })).metadata!.uid!;
  const self = { name: 'web-lb-7f9c8d-aaaaa', uid: await pod('web-lb-7f9c8d-aaaaa') };
  return { namespace, core, self, liveUid: await pod('web-lb-7f9c8d-bbbbb') };
}

test('a gone pod\'s pin directory is removed, a live pod\'s kept; nothing is removed when the API server cannot be reached', async () => {
  const { namespace, core, self, liveUid } = await twoLbPods('pin-sweep');
  const goneUid = randomUUID();
  const earlierUid = randomUUID();
  await pins(podPinDir(namespace, self.name, self.uid, root));
  await pins(podPinDir(namespace, 'web-lb-7f9c8d-bbbbb', liveUid, root));
  await pins(podPinDir(namespace, 'web-lb-7f9c8d-bbbbb', earlierUid, root)); // an earlier pod of that name
  await pins(podPinDir(namespace, 'web-lb-5d4c3b-ccccc', goneUid, root)); // SIGKILLed after its grace period, deleted
  await pins(podPinDir(namespace, 'api-lb-1a2b3c-ddddd', randomUUID(), root)); // another PLB's: its own agents sweep it
  const dir = join(root, namespace);
  const before = await tree(dir);

  // The API server unreachable (what an agent meets during an outage): every directory stays.
  const down = new KubeConfig();
  down.loadFromOptions({
    clusters: [{ name: 'down', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }], contexts: [{ name: 'c', cluster: 'down', user: 'u' }], currentContext: 'c',
  });
  const logs: string[] = [];
  const unsure = await sweepPins(dir, self, { lookup: podLookup(down, namespace, 2_000), log: (m) => logs.push(m) });
  expect(unsure.removed).toEqual([]);
  expect(await tree(dir)).toEqual(before);
  expect(logs).toContainEqual(expect.stringMatching(/^pin sweep: cannot tell whether pod web-lb-5d4c3b-ccccc exists .*: kept$/));

  const swept = await sweepPins(dir, self, { lookup: podLookup(cp.kubeConfig, namespace), log: (m) => logs.push(m) });
  console.log(`pin-sweep: before ${JSON.stringify(before)}; removed ${JSON.stringify(swept.removed)}; after ${JSON.stringify(await tree(dir))}`);
  expect(swept.removed.sort()).toEqual(['web-lb-5d4c3b-ccccc', `web-lb-7f9c8d-bbbbb/${earlierUid}`].sort());
  expect(await tree(dir)).toEqual([
    `api-lb-1a2b3c-ddddd/${(await readdir(join(dir, 'api-lb-1a2b3c-ddddd')))[0]}`,
    `web-lb-7f9c8d-aaaaa/${self.uid}`,
    `web-lb-7f9c8d-bbbbb/${liveUid}`,
  ]);

  // The live sibling deleted (its agent never drained): the next sweep takes its pins too.
  await core.deleteNamespacedPod({ namespace, name: 'web-lb-7f9c8d-bbbbb', gracePeriodSeconds: 0 });
  const after = await sweepPins(dir, self, { lookup: podLookup(cp.kubeConfig, namespace), log: (m) => logs.push(m) });
  expect(after.removed).toEqual(['web-lb-7f9c8d-bbbbb']);
});

// The real agent process (`plb-agent run --kubernetes`, dist/), its /sys/fs/bpf a tmpfs of its own mount
// namespace, for a PLB that does not exist (so it programs nothing): its start-up sweep removes a gone sibling's
// pins and keeps a live one's, and after a SIGKILL the same pod (same POD_UID) comes back to the same pin directory.
test('the agent process sweeps at start; SIGKILLed and restarted in the same pod it pins in the same directory', async () => {
  const main = join(repoRoot, 'dist/src/agent/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: npm run build`);
  const { namespace, self, liveUid } = await twoLbPods('pin-sweep-agent');
  const goneUid = randomUUID();
  const seed = [`web-lb-7f9c8d-bbbbb/${liveUid}`, `web-lb-5d4c3b-ccccc/${goneUid}`]
    .map((d) => `mkdir -p /sys/fs/bpf/portable-lb/${namespace}/${d} && touch /sys/fs/bpf/portable-lb/${namespace}/${d}/plb_flows`).join(' && ');
  const env = {
    PATH: process.env['PATH'], KUBECONFIG: cp.kubeconfigPath, POD_NAMESPACE: namespace, POD_NAME: self.name, POD_UID: self.uid,
    PLB_NAME: 'absent', POD_IP: '127.0.0.1', HEALTH_PORT: '0', PLB_DATA_PLANE: 'nftables', PLB_BGP_PEERS_FILE: join(root, 'none', 'peers.json'),
  };
  // One mount namespace for both runs (a pod's /sys/fs/bpf is the node's: it outlives the container).
  const holder = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs tmpfs /sys/fs/bpf && ${seed} && exec sleep 600`], { stdio: 'ignore' });
  const started: ChildProcess[] = [holder];
  const run = () => {
    const child = spawn('nsenter', [`--mount=/proc/${holder.pid}/ns/mnt`, process.execPath, main, 'run', '--kubernetes', '--interface', 'lo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    return { child, log: () => out };
  };
  try {
    await eventually(async () => expect(existsSync(`/proc/${holder.pid}/root/sys/fs/bpf/portable-lb/${namespace}/web-lb-5d4c3b-ccccc`)).toBe(true));
    const first = run();
    await eventually(async () => expect(first.log()).toMatch(/pin sweep: removed .*web-lb-5d4c3b-ccccc: pod web-lb-5d4c3b-ccccc no longer exists/), 30_000);
    const dir = `/proc/${holder.pid}/root/sys/fs/bpf/portable-lb/${namespace}`;
    expect((await readdir(dir)).sort()).toEqual(['web-lb-7f9c8d-bbbbb']);
    expect(await readdir(join(dir, 'web-lb-7f9c8d-bbbbb'))).toEqual([liveUid]);
    const pinsIn = (log: string) => /pins in (\S+)/.exec(log)?.[1];
    expect(pinsIn(first.log())).toBe(`/sys/fs/bpf/portable-lb/${namespace}/${self.name}/${self.uid}`);
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const second = run();
    await eventually(async () => expect(pinsIn(second.log())).toBeDefined(), 30_000);
    console.log(`pin-sweep agent: first run ${pinsIn(first.log())}, after SIGKILL ${pinsIn(second.log())}`);
    expect(pinsIn(second.log())).toBe(pinsIn(first.log()));
  } finally {
    for (const c of started.reverse()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
});
