// reconcile() against a recording fake of its ports: what it writes, and that a steady object costs nothing.
import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../../../src/api/generated.js';
import type { OperatorSettings } from '../../../src/operator/desired.js';
import type { PlbEvent } from '../../../src/operator/events.js';
import { reconcile, type ReconcilePorts } from '../../../src/operator/reconcile.js';
import type { JsonPatchOp } from '../../../src/runtime/json-patch.js';
import { backendPod, lbPod, plb } from '../support/builders.js';

const settings: OperatorSettings = { agentImage: 'img:1', imagePullPolicy: 'IfNotPresent', agentLogLevel: 'info' };

/** An API that stores what is written, so the next pass reads it back like the informer caches would. */
class FakeCluster implements ReconcilePorts {
  applied: KubernetesObject[] = [];
  statusPatches: JsonPatchOp[][] = [];
  children = new Map<string, KubernetesObject>();
  constructor(
    public plb: PortableLoadBalancer | undefined,
    public pods: V1Pod[] = [],
  ) {}
  getPlb = () => this.plb;
  listPods = () => this.pods;
  getChild = (kind: string, ns: string, name: string) => this.children.get(`${kind}/${ns}/${name}`);
  applyChild = async (child: KubernetesObject) => {
    this.applied.push(child);
    this.children.set(`${child.kind}/${child.metadata?.namespace}/${child.metadata?.name}`, child);
  };
  patchStatus = async (_ns: string, _name: string, ops: JsonPatchOp[]) => {
    this.statusPatches.push(ops);
    // Apply the ops the way the API server would, enough for the next pass to see its own status.
    const status = { ...(this.plb!.status ?? {}) } as Record<string, unknown>;
    for (const op of ops) {
      const parts = op.path.split('/').slice(2);
      if (op.op === 'remove') (status['loadBalancers'] as unknown[]).splice(Number(parts[1]), 1);
      else if (op.op !== 'test' && parts.length === 1) status[parts[0]!] = op.value;
    }
    this.plb = { ...this.plb!, status };
  };
  events: PlbEvent[] = [];
  recordEvent = async (_plb: PortableLoadBalancer, e: PlbEvent) => void this.events.push(e);
  now = () => new Date('2026-11-26T12:00:00Z');
}

describe('reconcile', () => {
  it('creates ServiceAccount, Role, RoleBinding and Deployment in that order, then writes status once', async () => {
    const cluster = new FakeCluster(plb(), [backendPod('b1'), lbPod('web-lb-a')]);
    const result = await reconcile('shop', 'web', cluster, settings);
    expect(cluster.applied.map((c) => c.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'Deployment']);
    expect(cluster.statusPatches).toHaveLength(1);
    expect(result.writes).toBe(5);
  });

  it('writes nothing on a second pass over its own result (idempotent)', async () => {
    const cluster = new FakeCluster(plb(), [backendPod('b1'), lbPod('web-lb-a')]);
    await reconcile('shop', 'web', cluster, settings);
    const second = await reconcile('shop', 'web', cluster, settings);
    expect(second.writes).toBe(0);
    expect(cluster.applied).toHaveLength(4);
    expect(cluster.statusPatches).toHaveLength(1);
  });

  it('re-applies only the Deployment when replicas change', async () => {
    const cluster = new FakeCluster(plb(), []);
    await reconcile('shop', 'web', cluster, settings);
    cluster.applied = [];
    cluster.plb = { ...plb({ replicas: 4 }, cluster.plb!.status, 4) };
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.applied.map((c) => c.kind)).toEqual(['Deployment']);
  });

  it('re-creates a child someone deleted', async () => {
    const cluster = new FakeCluster(plb(), []);
    await reconcile('shop', 'web', cluster, settings);
    cluster.children.delete('Role/shop/web-lb');
    cluster.applied = [];
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.applied.map((c) => c.kind)).toEqual(['Role']);
  });

  it('counts only ready backend pods, never its own LB pods, as ready backends', async () => {
    const lbThatMatches = { ...lbPod('web-lb-a', 'n1'), metadata: { ...lbPod('web-lb-a', 'n1').metadata, labels: { app: 'web', 'portablelb.io/name': 'web' } } };
    const cluster = new FakeCluster(plb(), [backendPod('b1'), backendPod('b2', false), lbThatMatches]);
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.plb?.status?.backends).toEqual({ ready: 1, total: 2 });
  });

  it('does nothing for an object that is gone or being deleted (garbage collection removes the children)', async () => {
    const gone = new FakeCluster(undefined);
    expect((await reconcile('shop', 'web', gone, settings)).writes).toBe(0);
    const deleting = plb();
    deleting.metadata!.deletionTimestamp = new Date();
    const cluster = new FakeCluster(deleting);
    expect((await reconcile('shop', 'web', cluster, settings)).writes).toBe(0);
  });

  it('records an event when a condition changes, and none on a steady pass', async () => {
    const cluster = new FakeCluster(plb({ backends: { addresses: [{ ip: '10.0.0.1' }] } }), [lbPod('web-lb-a', 'n1')]);
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'StaticBackends' })]);
    cluster.events = [];
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.events).toEqual([]);
  });

  it('lets an apply error propagate, so the work queue retries with backoff', async () => {
    const cluster = new FakeCluster(plb());
    cluster.applyChild = async () => {
      throw new Error('connection refused');
    };
    await expect(reconcile('shop', 'web', cluster, settings)).rejects.toThrow('connection refused');
  });
});
