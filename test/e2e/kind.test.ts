// End to end on kind, as a user runs the product: the chart is installed (by hack/e2e-kind.sh), backends and a
// PortableLoadBalancer are applied with kubectl, a client outside the cluster routes the VIP to the LB pods and
// must see every backend answer; then the backends scale and the PLB is deleted.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { V1Deployment } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import { LABEL_PLB } from '../../src/api/constants.js';
import { childName } from '../../src/operator/naming.js';
import { Client } from './client.js';
import { docker, e2eEnv, eventually, kindIp, kubectl, kubectlJson } from './cluster.js';
import { backendManifest, plbManifest } from './manifests.js';

const env = e2eEnv();
const ns = `e2e-${randomBytes(3).toString('hex')}`;
const VIP = '198.51.100.80';
let client: Client;

const plb = () => kubectlJson<PortableLoadBalancer>(['-n', ns, 'get', 'plb', 'web']);
const condition = (p: PortableLoadBalancer, type: string) => p.status?.conditions?.find((c) => c.type === type);

/** Where the VIP goes: each LB pod's node gets VIP via the pod; the client gets VIP via those nodes (ECMP). */
async function routeVip(): Promise<string[]> {
  const entries = (await plb()).status?.loadBalancers ?? [];
  const byNode = new Map<string, string[]>();
  for (const e of entries) byNode.set(e.node!, [...(byNode.get(e.node!) ?? []), e.podIP!]);
  for (const [node, pods] of byNode) {
    // kindnet routes each pod IP to its veth with scope host, so the next hop needs its device and `onlink`.
    const hops: string[] = [];
    for (const pod of pods) {
      const dev = /dev (\S+)/.exec(await docker(['exec', node, 'ip', 'route', 'get', pod]))?.[1];
      if (!dev) throw new Error(`node ${node} has no route to LB pod ${pod}`);
      hops.push('nexthop', 'via', pod, 'dev', dev, 'onlink');
    }
    await docker(['exec', node, 'ip', 'route', 'replace', `${VIP}/32`, ...hops]);
    // When the LB pods go (their veths and routes with them) the VIP must fail here, not leak out of the node's
    // default route towards the Docker host.
    await docker(['exec', node, 'ip', 'route', 'replace', 'unreachable', `${VIP}/32`, 'metric', '1000']);
  }
  const nodeIps = await Promise.all([...byNode.keys()].map(kindIp));
  await client.routeVip(VIP, nodeIps);
  return nodeIps;
}

beforeAll(async () => {
  await kubectl(['create', 'namespace', ns]);
  // LB pods are privileged: the namespace must allow it under Pod Security Admission.
  await kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=privileged']);
  client = await Client.start(`plb-e2e-client-${ns}`, env.image);
});
afterAll(async () => {
  await client?.remove();
  await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
});

describe(`a PortableLoadBalancer (${env.dataPlane}) on kind`, () => {
  test('becomes Ready with an LB pod per replica on different nodes', async () => {
    await kubectl(['-n', ns, 'apply', '-f', '-'], backendManifest(env.image, 3));
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=180s']);
    await kubectl(['-n', ns, 'apply', '-f', '-'], plbManifest(VIP, env.dataPlane, 2));
    const ready = await eventually(async () => {
      const p = await plb();
      expect(condition(p, 'Ready')).toMatchObject({ status: 'True' });
      expect(p.status?.loadBalancers).toHaveLength(2);
      return p;
    }, 240_000).catch(async (err: unknown) => {
      console.log(await kubectl(['-n', ns, 'describe', 'plb', 'web']).catch(String));
      console.log(await kubectl(['-n', ns, 'logs', '-l', `${LABEL_PLB}=web`, '--tail=40']).catch(String));
      throw err;
    });
    expect(ready.status?.backends).toMatchObject({ ready: 3, total: 3 });
    const nodes = new Set(ready.status!.loadBalancers!.map((e) => e.node));
    expect(nodes.size).toBe(2); // preferred anti-affinity spreads two replicas over the two workers
  });

  test('balances a client outside the cluster over every backend', async () => {
    await routeVip();
    const tally = await client.requests(`http://${VIP}/`, 300);
    console.log(`300 requests: ${JSON.stringify(tally)}`);
    expect(tally.errors).toBe(0);
    const counts = Object.values(tally.counts);
    expect(counts).toHaveLength(3);
    // Even for roundRobin, within a generous band for maglev's hashing of 300 connections.
    for (const c of counts) expect(c).toBeGreaterThan(300 / 3 / 2);
  });

  test('follows the backends when they scale to five', async () => {
    await kubectl(['-n', ns, 'scale', 'deployment/web', '--replicas=5']);
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=180s']);
    await eventually(async () => expect((await plb()).status?.backends).toMatchObject({ ready: 5, total: 5 }), 120_000);
    await eventually(async () => {
      const tally = await client.requests(`http://${VIP}/`, 250);
      expect(tally.errors).toBe(0);
      expect(Object.keys(tally.counts)).toHaveLength(5);
    }, 60_000);
  });

  test('deleting the PLB removes its LB pods and the VIP stops answering', async () => {
    await kubectl(['-n', ns, 'delete', 'plb', 'web', '--wait=true', '--timeout=120s']);
    await eventually(async () => {
      const deployments = await kubectlJson<{ items: V1Deployment[] }>(['-n', ns, 'get', 'deployments']);
      expect(deployments.items.map((d) => d.metadata?.name)).not.toContain(childName('web'));
      expect(await kubectl(['-n', ns, 'get', 'pods', '-l', `${LABEL_PLB}=web`, '-o', 'name'])).toBe('');
    }, 120_000);
    const tally = await client.requests(`http://${VIP}/`, 5, 1000);
    expect(tally).toEqual({ counts: {}, errors: 5 });
  });
});
