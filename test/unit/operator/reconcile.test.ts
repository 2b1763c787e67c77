// reconcile() against a recording fake of its ports: what it writes, and that a steady object costs nothing.
import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject, V1Node, V1Pod, V1ReplicaSet, V1Secret } from '@kubernetes/client-node';
import { findCondition } from '../../../src/api/conditions.js';
import type { BGPPeer, PortableLoadBalancer } from '../../../src/api/generated.js';
import type { LoadBalancerEntry } from '../../../src/api/status.js';
import type { AddressDecision } from '../../../src/operator/address/claims.js';
import { belongsTo } from '../../../src/operator/class/cleanup.js';
import { resolveClass, type ClassResolution } from '../../../src/operator/class/resolve.js';
import type { OperatorSettings } from '../../../src/operator/desired.js';
import type { PlbEvent, SessionsSeen } from '../../../src/operator/events.js';
import { reconcile, type ReconcilePorts } from '../../../src/operator/reconcile.js';
import type { JsonPatchOp } from '../../../src/runtime/json-patch.js';
import { backendPod, lbPod, plb } from '../support/builders.js';

const settings: OperatorSettings = { agentImage: 'img:1', imagePullPolicy: 'IfNotPresent', agentLogLevel: 'info' };

/** An API that stores what is written, so the next pass reads it back like the informer caches would. */
class FakeCluster implements ReconcilePorts {
  applied: KubernetesObject[] = [];
  statusPatches: JsonPatchOp[][] = [];
  children = new Map<string, KubernetesObject>();
  /** Objects the operator's label-selected caches do not hold, found only by a GET. */
  unlabelled = new Map<string, KubernetesObject>();
  replicaSets: V1ReplicaSet[] = [];
  constructor(
    public plb: PortableLoadBalancer | undefined,
    public pods: V1Pod[] = [],
  ) {}
  getPlb = () => this.plb;
  listPods = () => this.pods;
  // Like the controller: no informer (and no read permission) for Secrets.
  getChild = (kind: string, ns: string, name: string) => (kind === 'Secret' ? undefined : this.children.get(`${kind}/${ns}/${name}`));
  readChild = async (kind: string, ns: string, name: string) => this.unlabelled.get(`${kind}/${ns}/${name}`);
  listReplicaSets = () => this.replicaSets;
  childPatches: { child: string; ops: JsonPatchOp[] }[] = [];
  patchChild = async (child: KubernetesObject, ops: JsonPatchOp[]) => void this.childPatches.push({ child: `${child.kind}/${child.metadata?.name}`, ops });
  peers: BGPPeer[] = [];
  nodes: V1Node[] = [];
  secrets: Record<string, string> = {};
  seenEntries = new Map<string, SessionsSeen | undefined>();
  listBgpPeers = () => this.peers;
  listNodes = () => this.nodes;
  /** A node the test did not list is a Ready one (most tests are not about nodes). */
  getNode = (name: string): V1Node =>
    this.nodes.find((n) => n.metadata?.name === name) ?? { metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
  heartbeats = () => ({ since: 0, expiryMs: 90_000 });
  readSecretKey = async (ns: string, name: string, key: string) => {
    const value = this.secrets[`${ns}/${name}/${key}`];
    return value === undefined ? { problem: 'secrets "x" not found' } : { value };
  };
  listChildren = (p: PortableLoadBalancer) => [...this.children.values()].filter((c) => c.kind !== 'Secret' && belongsTo(c, p));
  applyChild = async (child: KubernetesObject) => {
    this.applied.push(child);
    this.children.set(`${child.kind}/${child.metadata?.namespace}/${child.metadata?.name}`, child);
  };
  deleted: string[] = [];
  deleteChild = async (child: KubernetesObject) => {
    const id = `${child.kind}/${child.metadata?.namespace}/${child.metadata?.name}`;
    this.deleted.push(id);
    this.children.delete(id);
  };
  /** Single-tenant allocator stand-in: spec.vip is granted. */
  decision: (p: PortableLoadBalancer) => AddressDecision = (p) => ({
    vip: p.spec.vip!,
    condition: { type: 'VIPAssigned', status: 'True', reason: 'Unrestricted', message: `holds ${p.spec.vip}` },
  });
  address = (p: PortableLoadBalancer) => this.decision(p);
  resolution: (p: PortableLoadBalancer) => ClassResolution = (p) => resolveClass(p, [], { trustTemplate: true });
  placement = (p: PortableLoadBalancer) => this.resolution(p);
  plbPatches: JsonPatchOp[][] = [];
  patchPlb = async (_ns: string, _name: string, ops: JsonPatchOp[]) => {
    this.plbPatches.push(ops);
    const f = ops.find((o) => o.path === '/metadata/finalizers' && o.op !== 'test') as { value: string[] } | undefined;
    if (f) this.plb = { ...this.plb!, metadata: { ...this.plb!.metadata, finalizers: f.value } };
  };
  patchStatus = async (_ns: string, _name: string, ops: JsonPatchOp[]) => {
    this.statusPatches.push(ops);
    // Apply the ops the way the API server would, enough for the next pass to see its own status.
    const status = { ...(this.plb!.status ?? {}) } as Record<string, unknown>;
    for (const op of ops) {
      const parts = op.path.split('/').slice(2);
      if (op.op === 'test' && op.path === '/metadata/resourceVersion' && op.value !== this.plb!.metadata?.resourceVersion) throw new Error('test failed');
      if (op.op === 'remove' && parts[0] === 'loadBalancers') (status['loadBalancers'] as unknown[]).splice(Number(parts[1]), 1);
      else if (op.op === 'remove') delete status[parts[0]!];
      else if (op.op !== 'test' && parts.length === 1) status[parts[0]!] = op.value;
    }
    this.plb = { ...this.plb!, status };
  };
  events: PlbEvent[] = [];
  recordEvent = async (_plb: PortableLoadBalancer, e: PlbEvent) => void this.events.push(e);
  now = () => new Date('2026-11-26T12:00:00Z');
}

/** The ops of a status patch that mark entry `i` (of pod `pod`) not ready with `reason`, among others. */
const marks = (i: number, pod: string, reason: string) => expect.arrayContaining([
  { op: 'test', path: `/status/loadBalancers/${i}/pod`, value: pod },
  { op: 'add', path: `/status/loadBalancers/${i}/ready`, value: false },
  { op: 'add', path: `/status/loadBalancers/${i}/reason`, value: reason },
]);

describe('reconcile', () => {
  it('creates ServiceAccount, Role, RoleBinding, the BGP Secret and Deployment in that order, then writes status once', async () => {
    const cluster = new FakeCluster(plb(), [backendPod('b1'), lbPod('web-lb-a')]);
    const result = await reconcile('shop', 'web', cluster, settings);
    expect(cluster.applied.map((c) => c.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'Secret', 'Deployment', 'PodDisruptionBudget']);
    expect(cluster.statusPatches).toHaveLength(1);
    expect(result.writes).toBe(7);
  });

  it('writes nothing on a second pass over its own result (idempotent)', async () => {
    const cluster = new FakeCluster(plb(), [backendPod('b1'), lbPod('web-lb-a')]);
    await reconcile('shop', 'web', cluster, settings);
    const second = await reconcile('shop', 'web', cluster, settings);
    expect(second.writes).toBe(0);
    expect(cluster.applied).toHaveLength(6);
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

  it('removes the PodDisruptionBudget when replicas drop to 1, at once, and brings it back with 2', async () => {
    const cluster = new FakeCluster(plb(), []);
    await reconcile('shop', 'web', cluster, settings);
    cluster.applied = [];
    cluster.plb = { ...plb({ replicas: 1 }, cluster.plb!.status, 4) };
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.applied.map((c) => c.kind)).toEqual(['Deployment']);
    expect(cluster.deleted).toEqual(['PodDisruptionBudget/shop/web-lb']);
    cluster.applied = [];
    cluster.plb = { ...plb({ replicas: 2 }, cluster.plb!.status, 5) };
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.applied.map((c) => c.kind)).toEqual(['Deployment', 'PodDisruptionBudget']);
  });

  it('marks the entry of an LB pod whose node is not Ready not ready; Ready follows; a heartbeat is due again later', async () => {
    const entries = [
      { pod: 'web-lb-a', node: 'n1', ready: true, programmedGeneration: 3, vip: '192.0.2.10', lastUpdateTime: '2026-11-26T11:59:50Z' },
      { pod: 'web-lb-b', node: 'n2', ready: true, programmedGeneration: 3, vip: '192.0.2.10', lastUpdateTime: '2026-11-26T11:59:40Z' },
    ];
    const cluster = new FakeCluster(plb({}, { loadBalancers: entries }), [backendPod('b1'), lbPod('web-lb-a', 'n1'), lbPod('web-lb-b', 'n2')]);
    const healthy = await reconcile('shop', 'web', cluster, settings);
    // The older heartbeat (11:59:40) expires 90 s later, 70 s from now; the pass comes just after that.
    expect(healthy.requeueAfterMs).toBe(70_250);
    expect(findCondition(cluster.plb!.status!.conditions, 'DataPlaneProgrammed')?.reason).toBe('AllReplicasProgrammed');
    cluster.nodes = [{ metadata: { name: 'n2' }, status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }] } }];
    cluster.statusPatches = [];
    const marked = await reconcile('shop', 'web', cluster, settings);
    expect(cluster.statusPatches[0]).toEqual(marks(1, 'web-lb-b', 'NodeNotReady'));
    const dp = findCondition(cluster.plb!.status!.conditions, 'DataPlaneProgrammed');
    expect([dp?.reason, dp?.message]).toEqual(['SomeReplicasProgrammed', '1 of 2 LB pod(s) hold generation 3']);
    // Only web-lb-a's heartbeat (11:59:50) is still judged.
    expect(marked.requeueAfterMs).toBe(80_250);
  });

  it('keeps the entry of an LB pod whose agent container restarts ready, and passes again when the restart grace ends', async () => {
    const entries = [
      { pod: 'web-lb-a', node: 'n1', ready: true, programmedGeneration: 3, vip: '192.0.2.10', lastUpdateTime: '2026-11-26T11:59:50Z' },
      { pod: 'web-lb-b', node: 'n2', ready: true, programmedGeneration: 3, vip: '192.0.2.10', lastUpdateTime: '2026-11-26T11:59:40Z' },
    ];
    // web-lb-b's agent was SIGKILLed at 11:59:57; the kubelet turned the pod not Ready at 11:59:58 and restarts it.
    const base = lbPod('web-lb-b', 'n2');
    const restarting: V1Pod = {
      ...base,
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: new Date('2026-11-26T11:59:58Z') }],
        containerStatuses: [{ name: 'agent', image: 'img:1', imageID: '', ready: false, restartCount: 1, lastState: { terminated: { exitCode: 137, finishedAt: new Date('2026-11-26T11:59:57Z') } } }],
      },
    };
    const cluster = new FakeCluster(plb({}, { loadBalancers: entries }), [backendPod('b1'), lbPod('web-lb-a', 'n1'), restarting]);
    const during = await reconcile('shop', 'web', cluster, settings);
    expect(cluster.statusPatches.flat().filter((o) => o.path.startsWith('/status/loadBalancers'))).toEqual([]);
    // The grace ends at 12:00:07 (10 s after the exit), 7 s from now: the pass comes then, not at a heartbeat deadline.
    expect(during.requeueAfterMs).toBe(7250);
    cluster.now = () => new Date('2026-11-26T12:00:07.250Z');
    cluster.statusPatches = [];
    const after = await reconcile('shop', 'web', cluster, settings);
    expect(cluster.statusPatches[0]).toEqual(marks(1, 'web-lb-b', 'PodNotReady'));
    expect(after.requeueAfterMs).toBe(80_000 - 7250 + 250);
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
    expect(cluster.events).toEqual([
      expect.objectContaining({ type: 'Normal', reason: 'Unrestricted', message: 'VIPAssigned=True: holds 192.0.2.10' }),
      expect.objectContaining({ type: 'Normal', reason: 'StaticBackends' }),
    ]);
    cluster.events = [];
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.events).toEqual([]);
  });

  it('a refused VIP: Ready=False with the allocator\'s reason, no status.vip, the children still applied', async () => {
    const cluster = new FakeCluster(plb({}, { vip: '192.0.2.10' }), []);
    cluster.decision = () => ({ condition: { type: 'VIPAssigned', status: 'False', reason: 'VIPConflict', message: '192.0.2.10 is already held by another load balancer' } });
    await reconcile('shop', 'web', cluster, settings);
    const s = cluster.plb!.status!;
    expect(s.vip).toBeUndefined();
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'VIPConflict', message: expect.stringMatching(/^192.0.2.10 is already held by another load balancer;/) });
    expect(cluster.applied.map((c) => c.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'Secret', 'Deployment', 'PodDisruptionBudget']);
  });

  it('records the VIP it holds and its pool in status, and counts an agent only when it programmed that VIP', async () => {
    const cluster = new FakeCluster(plb({ vip: undefined, backends: { addresses: [{ ip: '10.0.0.1' }] } }, {
      loadBalancers: [{ pod: 'web-lb-a', ready: true, programmedGeneration: 3, vip: '192.0.2.99' }],
    }), [lbPod('web-lb-a', 'n1')]);
    cluster.decision = () => ({ vip: '192.0.2.7', pool: 'main', condition: { type: 'VIPAssigned', status: 'True', reason: 'Allocated', message: 'allocated 192.0.2.7 from pool main' } });
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.plb!.status).toMatchObject({ vip: '192.0.2.7', pool: 'main', podNamespace: 'shop' });
    // The pod's kernel holds another address: not programmed yet.
    expect(cluster.plb!.status!.conditions?.find((c) => c.type === 'DataPlaneProgrammed')?.status).toBe('False');
    cluster.plb = { ...cluster.plb!, status: { ...cluster.plb!.status, loadBalancers: [{ pod: 'web-lb-a', ready: true, programmedGeneration: 3, vip: '192.0.2.7' }] } };
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.plb!.status!.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', message: expect.stringMatching(/^serving 192.0.2.7/) });
  });

  it('a template the class refuses: nothing applied, Ready=False TemplateNotAllowed', async () => {
    const cluster = new FakeCluster(plb(), []);
    cluster.resolution = () => ({ condition: { type: 'Accepted', status: 'False', reason: 'TemplateNotAllowed', message: 'not allowed: priorityClassName x' } });
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.applied).toEqual([]);
    expect(cluster.plb!.status!.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'TemplateNotAllowed' });
  });

  describe('LB pods in a class\'s namespace', () => {
    const elsewhere = (p: PortableLoadBalancer): ClassResolution => ({
      placement: { className: 'shared', podNamespace: 'lb-system', podSysctls: false },
      condition: { type: 'Accepted', status: 'True', reason: 'ClassResolved', message: `placed by class shared` },
    });

    it('adds the cleanup finalizer before creating anything there; RBAC for the PLB stays in its namespace', async () => {
      const cluster = new FakeCluster(plb(), []);
      cluster.resolution = elsewhere;
      let finalizerFirst = false;
      const apply = cluster.applyChild;
      cluster.applyChild = async (c) => {
        finalizerFirst ||= cluster.plb!.metadata!.finalizers?.includes('portablelb.io/cleanup') === true;
        await apply(c);
      };
      await reconcile('shop', 'web', cluster, settings);
      expect(finalizerFirst).toBe(true);
      expect(cluster.applied.map((c) => `${c.kind}/${c.metadata?.namespace}`)).toEqual([
        'ServiceAccount/lb-system', 'Role/shop', 'RoleBinding/shop', 'Role/lb-system', 'RoleBinding/lb-system', 'Secret/lb-system', 'Deployment/lb-system', 'PodDisruptionBudget/lb-system',
      ]);
      const deployment = cluster.applied.find((c) => c.kind === 'Deployment')!;
      expect(deployment.metadata?.ownerReferences).toBeUndefined();
      expect(deployment.metadata?.labels).toMatchObject({ 'portablelb.io/name': 'web', 'portablelb.io/namespace': 'shop' });
      expect(cluster.plb!.status?.podNamespace).toBe('lb-system');
    });

    it('deleted: removes what it made there, and only then its finalizer', async () => {
      const cluster = new FakeCluster(plb(), []);
      cluster.resolution = elsewhere;
      await reconcile('shop', 'web', cluster, settings);
      cluster.plb = { ...cluster.plb!, metadata: { ...cluster.plb!.metadata, deletionTimestamp: new Date() } };
      await reconcile('shop', 'web', cluster, settings);
      // The BGP Secret too, by name: no cache lists Secrets.
      expect(cluster.deleted.sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Secret', 'ServiceAccount'].map((k) => expect.stringMatching(new RegExp(`^${k}/lb-system/`))));
      // The caches still showed the children during that pass: the finalizer stays until they are seen gone.
      expect(cluster.plb!.metadata!.finalizers).toEqual(['portablelb.io/cleanup']);
      await reconcile('shop', 'web', cluster, settings);
      expect(cluster.plb!.metadata!.finalizers).toEqual([]);
    });

    it('moved by a class change: the old LB pods go only once a new one serves', async () => {
      const cluster = new FakeCluster(plb(), []);
      await reconcile('shop', 'web', cluster, settings);
      cluster.resolution = elsewhere;
      await reconcile('shop', 'web', cluster, settings);
      // A budget protects no serving pod: the old one goes at once, the old LB pods wait.
      expect(cluster.deleted).toEqual(['PodDisruptionBudget/shop/web-lb']);
      cluster.deleted = [];
      const moved = { ...lbPod('x-lb-new', 'n1'), metadata: { name: 'x-lb-new', namespace: 'lb-system', labels: { 'portablelb.io/name': 'web', 'portablelb.io/namespace': 'shop' } } };
      cluster.pods = [moved];
      cluster.plb = { ...cluster.plb!, status: { ...cluster.plb!.status, loadBalancers: [{ pod: 'x-lb-new', ready: true, programmedGeneration: 3, vip: '192.0.2.10' }] } };
      await reconcile('shop', 'web', cluster, settings);
      expect(cluster.deleted.sort()).toEqual(['Deployment/shop/web-lb', 'Secret/shop/web-lb-bgp', 'ServiceAccount/shop/web-lb']);
    });
  });

  const peer = (name: string, spec: Partial<BGPPeer['spec']> = {}): BGPPeer => ({
    apiVersion: 'portablelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name },
    spec: { peerAddress: '10.0.0.1', peerASN: 64500, myASN: 64512, ...spec },
  });
  const peersIn = (c: FakeCluster) => {
    const secret = c.children.get('Secret/shop/web-lb-bgp') as V1Secret | undefined;
    return JSON.parse(secret?.stringData?.['peers.json'] ?? 'null') as { peers: Array<{ name: string; password?: string; nodes?: string[] }> };
  };

  it('hands the LB pods only the BGPPeers that serve the PLB, with their passwords and nodes; a new peer rewrites only the Secret', async () => {
    const cluster = new FakeCluster(plb(), []);
    await reconcile('shop', 'web', cluster, settings);
    expect(peersIn(cluster)).toEqual({ peers: [] });
    cluster.applied = [];
    cluster.peers = [
      peer('tor', { passwordSecretRef: { name: 'auth', namespace: 'plb-system' }, nodeSelector: { rack: 'r1' } }),
      peer('other-namespace', { namespaces: ['web'] }),
      peer('other-label', { loadBalancerSelector: { matchLabels: { exposure: 'internet' } } }),
    ];
    cluster.nodes = [{ metadata: { name: 'n1', labels: { rack: 'r1' } } }, { metadata: { name: 'n2', labels: { rack: 'r2' } } }];
    cluster.secrets = { 'plb-system/auth/password': 's3cret' };
    await reconcile('shop', 'web', cluster, settings);
    // The Secret, and the Deployment's record of what the Secret holds (metadata only: no pod roll).
    expect(cluster.applied.map((c) => c.kind)).toEqual(['Secret', 'Deployment']);
    expect(peersIn(cluster).peers).toEqual([expect.objectContaining({ name: 'tor', password: 's3cret', nodes: ['n1'], holdTime: 9, connectTime: 2 })]);
    expect(cluster.plb?.status?.conditions?.find((c) => c.type === 'Announced')).toEqual(
      expect.objectContaining({ status: 'False', reason: 'NotAnnounced' }),
    );
  });

  it('leaves a peer whose password cannot be read out, and says so in the Announced condition', async () => {
    const cluster = new FakeCluster(plb(), []);
    cluster.peers = [peer('tor', { passwordSecretRef: { name: 'missing', namespace: 'plb-system' } })];
    await reconcile('shop', 'web', cluster, settings);
    expect(peersIn(cluster)).toEqual({ peers: [] });
    expect(cluster.plb?.status?.conditions?.find((c) => c.type === 'Announced')).toEqual(
      expect.objectContaining({ status: 'False', reason: 'PeerProblem', message: expect.stringContaining('password Secret plb-system/missing (key password): secrets "x" not found') }),
    );
  });

  it('records BGPSessionUp and BGPSessionDown Events as the agents report sessions, none on the first sight', async () => {
    const entry = (state: string) => ({ pod: 'web-lb-a', ready: true, sessions: [{ peer: 'tor', peerAddress: '10.0.0.1', state, announced: state === 'Established' }] });
    const cluster = new FakeCluster(plb({}, { loadBalancers: [entry('Active')] }), [lbPod('web-lb-a', 'n1')]);
    cluster.peers = [peer('tor')];
    await reconcile('shop', 'web', cluster, settings);
    const bgpEvents = () => cluster.events.filter((e) => e.reason.startsWith('BGP'));
    expect(bgpEvents()).toEqual([]);
    cluster.plb = { ...cluster.plb!, status: { ...cluster.plb!.status, loadBalancers: [entry('Established')] } };
    await reconcile('shop', 'web', cluster, settings);
    expect(bgpEvents()).toEqual([expect.objectContaining({ type: 'Normal', reason: 'BGPSessionUp' })]);
    cluster.plb = { ...cluster.plb!, status: { ...cluster.plb!.status, loadBalancers: [entry('Idle')] } };
    await reconcile('shop', 'web', cluster, settings);
    expect(bgpEvents()[1]).toEqual(expect.objectContaining({ type: 'Warning', reason: 'BGPSessionDown', message: expect.stringContaining('web-lb-a') }));
  });

  it('re-applies a child whose owned fields drifted (kubectl scale), once; the next pass writes nothing', async () => {
    const cluster = new FakeCluster(plb({ backends: { addresses: [{ ip: '10.0.0.1' }] } }));
    await reconcile('shop', 'web', cluster, settings);
    const dep = structuredClone(cluster.children.get('Deployment/shop/web-lb')!) as { spec: { replicas: number } } & KubernetesObject;
    dep.spec.replicas = 7;
    cluster.children.set('Deployment/shop/web-lb', dep);
    cluster.applied = [];
    const repair = await reconcile('shop', 'web', cluster, settings);
    expect(cluster.applied.map((c) => c.kind)).toEqual(['Deployment']);
    expect(repair.repaired).toEqual([{ child: 'Deployment shop/web-lb', reasons: ['spec.replicas: 7, want 2'] }]);
    expect((await reconcile('shop', 'web', cluster, settings)).writes).toBe(0);
  });

  it('writes the status of a failed apply (Ready=False, ApplyFailed, the API server\'s message), then fails the pass for a retry', async () => {
    const cluster = new FakeCluster(plb({ backends: { addresses: [{ ip: '10.0.0.1' }] } }));
    const message = 'Deployment.apps "web-lb" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "1Gi": must be less than or equal to memory limit of 512Mi';
    cluster.applyChild = async (child) => {
      if (child.kind === 'Deployment') throw Object.assign(new Error('HTTP-Code: 422'), { code: 422, body: JSON.stringify({ message }) });
      cluster.children.set(`${child.kind}/${child.metadata?.namespace}/${child.metadata?.name}`, child);
    };
    await expect(reconcile('shop', 'web', cluster, settings)).rejects.toThrow(/applying Deployment shop\/web-lb failed: 422: Deployment.apps "web-lb" is invalid/);
    expect(cluster.statusPatches).toHaveLength(1);
    const ready = findCondition(cluster.plb?.status?.conditions, 'Ready');
    expect([ready?.status, ready?.reason]).toEqual(['False', 'ApplyFailed']);
    expect(ready?.message.startsWith(`applying Deployment shop/web-lb failed: 422: ${message}; `)).toBe(true);
  });

  it('refuses to touch a pre-existing child it does not control: no write to any child, Ready=False ChildConflict naming it', async () => {
    const cluster = new FakeCluster(plb());
    cluster.unlabelled.set('ServiceAccount/shop/web-lb', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web-lb', namespace: 'shop' } });
    await expect(reconcile('shop', 'web', cluster, settings)).rejects.toThrow(/ServiceAccount shop\/web-lb already exists/);
    expect(cluster.applied).toEqual([]);
    const ready = findCondition(cluster.plb?.status?.conditions, 'Ready');
    expect([ready?.status, ready?.reason]).toEqual(['False', 'ChildConflict']);
    expect(ready?.message).toMatch(/^ServiceAccount shop\/web-lb already exists and has no controller, not by this PortableLoadBalancer/);
  });

  it('reads the children its caches lack all at once, before any write, and a failed read writes no child', async () => {
    const cluster = new FakeCluster(plb());
    let inFlight = 0;
    let most = 0;
    const read: string[] = [];
    const release: (() => void)[] = [];
    cluster.readChild = async (kind) => {
      read.push(kind);
      most = Math.max(most, ++inFlight);
      // Each read waits until every read has started, or until the pass gives up waiting for one.
      await new Promise<void>((r) => { release.push(r); setTimeout(r, 50); });
      inFlight--;
      if (kind === 'Role') throw Object.assign(new Error('HTTP-Code: 500'), { code: 500, body: JSON.stringify({ message: 'etcdserver: request timed out' }) });
      return undefined;
    };
    const pass = reconcile('shop', 'web', cluster, settings);
    await new Promise((r) => setTimeout(r, 10));
    release.forEach((r) => r());
    await expect(pass).rejects.toThrow(/reading Role shop\/web-lb failed: 500/);
    // Every readable child (the BGP Secret is write-only), and all of them in flight together.
    expect(read.sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'ServiceAccount']);
    expect(most).toBe(5);
    expect(cluster.applied).toEqual([]);
  });

  it('refuses a labelled child controlled by another object too', async () => {
    const cluster = new FakeCluster(plb());
    await reconcile('shop', 'web', cluster, settings);
    const dep = cluster.children.get('Deployment/shop/web-lb')!;
    cluster.children.set('Deployment/shop/web-lb', {
      ...dep,
      metadata: { ...dep.metadata, ownerReferences: [{ apiVersion: 'portablelb.io/v1alpha1', kind: 'PortableLoadBalancer', name: 'web', uid: 'uid-OLD', controller: true }] },
    });
    cluster.applied = [];
    await expect(reconcile('shop', 'web', cluster, settings)).rejects.toThrow(/is controlled by PortableLoadBalancer web/);
    expect(cluster.applied).toEqual([]);
  });

  it('says why the LB pods cannot be created, as the ReplicaSet says it (FailedCreate)', async () => {
    const cluster = new FakeCluster(plb({ backends: { addresses: [{ ip: '10.0.0.1' }] } }));
    await reconcile('shop', 'web', cluster, settings);
    const dep = cluster.children.get('Deployment/shop/web-lb')!;
    dep.metadata!.uid = 'dep-uid';
    const forbidden = 'pods "web-lb-7d9c-x2" is forbidden: violates PodSecurity "baseline:latest": privileged (container "agent" must not set securityContext.privileged=true)';
    cluster.replicaSets = [{
      metadata: { name: 'web-lb-7d9c', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-lb', uid: 'dep-uid', controller: true }] },
      status: { replicas: 0, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: forbidden }] },
    }];
    await reconcile('shop', 'web', cluster, settings);
    const ready = findCondition(cluster.plb?.status?.conditions, 'Ready');
    expect([ready?.status, ready?.reason]).toEqual(['False', 'FailedCreate']);
    expect(ready?.message).toBe(`the Deployment cannot create LB pods: ${forbidden}`);
  });

  it('never creates /status over one it has not seen: the patch is guarded by the cached resourceVersion', async () => {
    const cluster = new FakeCluster(plb());
    await reconcile('shop', 'web', cluster, settings);
    expect(cluster.statusPatches[0]?.slice(0, 2)).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '100' },
      { op: 'add', path: '/status', value: {} },
    ]);
  });
});
