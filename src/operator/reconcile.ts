// One pass for one PortableLoadBalancer: read from caches, compute (pure), write only what changed.
// Shape from metallb's SetBalancer: desired state first, then at most one apply per changed child and one
// status patch. The status is computed and written on every pass, also when an apply failed or a child is not
// ours (it then says so); the error still goes back to the work queue, which retries with backoff.
import type { KubernetesObject, V1Deployment, V1Node, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { ANNOTATION_BGP_PEERS_HASH, LABEL_PLB } from '../api/constants.js';
import type { BGPPeer, PortableLoadBalancer } from '../api/generated.js';
import { finalizerStep } from '../runtime/finalizer.js';
import type { AddressDecision } from './address/claims.js';
import { applyChildren, type ChildPorts } from './apply-children.js';
import { plannedChildren } from './apply-plan.js';
import { resolvePeers, servesPlb, type AgentBgpConfig, type PeerResolution } from './bgp-peers.js';
import { CLEANUP_FINALIZER, needsFinalizer, staleChildren } from './class/cleanup.js';
import type { ClassResolution } from './class/resolve.js';
import { countBackends } from '../api/selector.js';
import { podCreationFailure } from './children.js';
import { bgpPeersHash, type OperatorSettings } from './desired.js';
import { sessionEvents, transitionEvents, type PlbEvent, type SessionsSeen } from './events.js';
import { nextJudgement } from './liveness.js';
import { LABEL_PLB_NAMESPACE, bgpSecretName } from './naming.js';
import { computeStatus, liveEntries, type ChildrenOutcome } from './status.js';
import type { LoadBalancerEntry } from '../api/status.js';
import { statusPatch, type JsonPatchOp } from './status-patch.js';

/** Everything reconcile reads or writes. Reads come from informer caches; writes go to the API. */
export interface ReconcilePorts extends ChildPorts {
  getPlb(namespace: string, name: string): PortableLoadBalancer | undefined;
  /** Pods of a namespace (backends are selected from them, LB pods are recognised by label). */
  listPods(namespace: string): readonly V1Pod[];
  /** A child from the operator's caches, which hold only objects carrying its managed-by label. */
  getChild(kind: string, namespace: string, name: string): KubernetesObject | undefined;
  /** ReplicaSets of the LB Deployments of a namespace (for why pods cannot be created). */
  listReplicaSets(namespace: string): readonly V1ReplicaSet[];
  /** Every cached child made for this PLB, in any namespace (src/operator/class/cleanup.ts belongsTo). */
  listChildren(plb: PortableLoadBalancer): readonly KubernetesObject[];
  applyChild(child: KubernetesObject): Promise<void>;
  deleteChild(child: KubernetesObject): Promise<void>;
  /** The VIP this PLB holds, from the allocator; reserved as it is decided. */
  address(plb: PortableLoadBalancer): AddressDecision;
  /** Where its LB pods run, from its PortableLoadBalancerClass. */
  placement(plb: PortableLoadBalancer): ClassResolution;
  /** A JSON patch of the PLB itself (its finalizers). */
  patchPlb(namespace: string, name: string, ops: JsonPatchOp[]): Promise<void>;
  patchStatus(namespace: string, name: string, ops: JsonPatchOp[]): Promise<void>;
  /** Cluster-scoped, from informer caches: the routers, and the nodes their nodeSelectors pick. */
  listBgpPeers(): readonly BGPPeer[];
  listNodes(): readonly V1Node[];
  getNode(name: string): V1Node | undefined;
  /** How LB pods' heartbeats are judged (src/operator/liveness.ts): since when, and how old they may get. */
  heartbeats(): { since: number; expiryMs: number };
  /** A key of a BGPPeer's password Secret, read from the API; or why it cannot be. */
  readSecretKey(namespace: string, name: string, key: string): Promise<{ value: string } | { problem: string }>;
  /** The status.loadBalancers the last pass saw per PLB key (in memory: session Events are edge-triggered). */
  /** Per PLB: its BGP sessions as the last pass saw them (session Events are the difference). */
  seenEntries: Map<string, SessionsSeen | undefined>;
  /** Best effort: a failed event must not fail the pass (the status already says it). */
  recordEvent(plb: PortableLoadBalancer, event: PlbEvent): Promise<void>;
  now(): Date;
}

export interface ReconcileResult {
  /** API writes this pass made: 0 for an object already in its desired state. */
  writes: number;
  /** Children whose owned fields had drifted, and how (for the log). */
  repaired?: { child: string; reasons: string[] }[];
  /** Pass again this much later: a ready entry's heartbeat expires, or its restart grace ends, then. */
  requeueAfterMs?: number;
}

/** How long after a verdict falls due its PLB is passed again (timers may fire a little early). */
const JUDGE_AFTER_MS = 250;

const failedOutcome = (o: ChildrenOutcome | undefined) => Boolean(o && (o.conflicts.length > 0 || o.applyError !== undefined));

/** The LB pods of this PLB in `podNamespace` (in a shared namespace, another tenant's PLB may have its name). */
function lbPodsOf(plb: PortableLoadBalancer, pods: readonly V1Pod[]): V1Pod[] {
  const name = plb.metadata?.name;
  const namespace = plb.metadata?.namespace;
  return pods.filter((p) => p.metadata?.labels?.[LABEL_PLB] === name && (p.metadata?.labels?.[LABEL_PLB_NAMESPACE] ?? p.metadata?.namespace) === namespace);
}

/** The BGPPeers that serve this PLB, passwords read (only those of peers that serve it). */
async function peersFor(plb: PortableLoadBalancer, ports: ReconcilePorts): Promise<PeerResolution> {
  const peers = ports.listBgpPeers();
  const passwords = new Map<string, { value: string } | { problem: string }>();
  const key = (ref: NonNullable<BGPPeer['spec']['passwordSecretRef']>) => `${ref.namespace}/${ref.name}/${ref.key ?? 'password'}`;
  for (const peer of peers) {
    const ref = peer.spec.passwordSecretRef;
    if (!ref || !servesPlb(peer, plb) || passwords.has(key(ref))) continue;
    passwords.set(key(ref), await ports.readSecretKey(ref.namespace, ref.name, ref.key ?? 'password'));
  }
  return resolvePeers(plb, peers, ports.listNodes(), (ref) => passwords.get(key(ref)) ?? { problem: 'not read' });
}

/** The operator cannot read Secrets: the Deployment's annotation says whether the BGP Secret is current. */
function bgpSecretCurrent(planned: readonly KubernetesObject[], bgp: AgentBgpConfig, ports: ReconcilePorts): boolean {
  const d = planned.find((c) => c.kind === 'Deployment');
  const deployed = d && ports.getChild('Deployment', d.metadata?.namespace ?? '', d.metadata?.name ?? '');
  return deployed?.metadata?.annotations?.[ANNOTATION_BGP_PEERS_HASH] === bgpPeersHash(bgp);
}

export async function reconcile(
  namespace: string,
  name: string,
  ports: ReconcilePorts,
  settings: OperatorSettings,
): Promise<ReconcileResult> {
  const plb = ports.getPlb(namespace, name);
  if (!plb) return { writes: 0 };
  const existing = ports.listChildren(plb);
  let writes = 0;

  // Going: children here go with their owner references; those elsewhere are deleted before the finalizer goes.
  if (plb.metadata?.deletionTimestamp) {
    const step = finalizerStep(plb, CLEANUP_FINALIZER, false);
    if (step.action !== 'cleanup') return { writes };
    const elsewhere = existing.filter((c) => c.metadata?.namespace !== namespace);
    for (const child of elsewhere) {
      await ports.deleteChild(child);
      writes++;
    }
    // The BGP Secret beside LB pods elsewhere: no informer lists it (the operator cannot read Secrets), so it
    // goes by name with the Deployment it belongs to.
    for (const d of elsewhere.filter((c) => c.kind === 'Deployment')) {
      await ports.deleteChild({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: d.metadata?.namespace ?? '', name: bgpSecretName(d.metadata?.name ?? '') } });
      writes++;
    }
    // Removed only once the caches show them gone: a pass may run before the deletes are seen.
    if (elsewhere.length === 0) {
      const done = finalizerStep(plb, CLEANUP_FINALIZER, true);
      if (done.action === 'remove') {
        await ports.patchPlb(namespace, name, done.patch);
        writes++;
      }
    }
    return { writes };
  }

  const resolution = ports.placement(plb);
  const placement = resolution.placement;
  if (needsFinalizer(plb, placement?.podNamespace, existing)) {
    const step = finalizerStep(plb, CLEANUP_FINALIZER, false);
    if (step.action === 'add') {
      // Before anything is created where no owner reference reaches.
      await ports.patchPlb(namespace, name, step.patch);
      writes++;
    }
  }

  const address = ports.address(plb);
  const podNamespace = placement?.podNamespace ?? plb.status?.podNamespace ?? namespace;
  const bgp = await peersFor(plb, ports);
  let outcome: ChildrenOutcome | undefined;
  let repaired: { child: string; reasons: string[] }[] = [];
  if (placement) {
    const planned = plannedChildren(plb, settings, placement, bgp.config);
    // The BGP Secret: the operator may write it but not read it; the Deployment's annotation says if it is current.
    const writeOnly = (c: KubernetesObject) => (c.kind === 'Secret' ? { current: bgpSecretCurrent(planned, bgp.config, ports) } : undefined);
    const applied = await applyChildren(plb, planned, ports, writeOnly);
    writes += applied.writes;
    outcome = applied.outcome;
    repaired = applied.repaired;
    // Moved to another namespace (a class change): the old LB pods go once a new one serves, never before.
    const stale = failedOutcome(outcome) ? [] : staleChildren(existing, planned);
    // A stale Deployment's BGP Secret goes with it (by name: never listed).
    for (const d of stale.filter((c) => c.kind === 'Deployment')) {
      stale.push({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: d.metadata?.namespace ?? '', name: bgpSecretName(d.metadata?.name ?? '') } });
    }
    const newPods = new Set(lbPodsOf(plb, ports.listPods(podNamespace)).map((p) => p.metadata?.name));
    const serving = liveEntries(plb.status?.loadBalancers, ports.listPods(podNamespace)).some((e) => e.ready && newPods.has(e.pod));
    // A budget the plan no longer has (replicas down to 1) goes at once: it protects nothing a serving pod needs.
    const now = stale.filter((c) => c.kind === 'PodDisruptionBudget' || serving || !address.vip);
    if (now.length > 0) {
      for (const child of now) {
        await ports.deleteChild(child);
        writes++;
      }
    }
  }

  const pods = ports.listPods(namespace);
  const lbPods = [...lbPodsOf(plb, pods), ...(podNamespace !== namespace ? lbPodsOf(plb, ports.listPods(podNamespace)) : [])];
  const selector = plb.spec.backends.selector;
  // The LB's own pods never count as its backends, even if the user's selector happens to match them.
  const backends = selector ? countBackends(selector, pods, (p) => p.metadata?.labels?.[LABEL_PLB] !== undefined) : undefined;
  const deployment = existing.find((c) => c.kind === 'Deployment' && c.metadata?.namespace === podNamespace) as V1Deployment | undefined;
  const replicaFailure = podCreationFailure(deployment, ports.listReplicaSets(podNamespace));
  const failed = failedOutcome(outcome);
  const liveness = { ...ports.heartbeats(), node: (n: string) => ports.getNode(n) };
  const status = computeStatus(
    plb,
    {
      lbPods,
      backends,
      ...(failed && outcome ? { children: outcome } : {}),
      ...(replicaFailure ? { replicaFailure } : {}),
      liveness,
      // A VIP held by someone else is the first thing to say; a refused placement next.
      gates: [address.condition, resolution.condition],
      problems: address.degraded ? [address.degraded] : [],
      bgpPeers: bgp.config.peers.length,
      bgpProblems: bgp.problems,
      assigned: {
        ...(address.vip ? { vip: address.vip } : {}),
        ...(address.pool ? { pool: address.pool } : {}),
        ...(placement?.className ? { className: placement.className } : {}),
        podNamespace,
      },
    },
    ports.now(),
  );
  const seenKey = `${namespace}/${name}`;
  const seen = ports.seenEntries.get(seenKey);
  const sessions = { entries: status.loadBalancers ?? [], nodeSessions: status.nodeSessions ?? [] };
  ports.seenEntries.set(seenKey, sessions);
  for (const event of sessionEvents(seen, sessions)) await ports.recordEvent(plb, event);
  const ops = statusPatch(plb.status, status, plb.metadata?.resourceVersion);
  if (ops.length > 0) {
    await ports.patchStatus(namespace, name, ops);
    writes++;
    for (const event of transitionEvents(plb.status?.conditions, status.conditions ?? [])) await ports.recordEvent(plb, event);
  }
  // The status says what went wrong; the queue retries with backoff.
  if (failed && outcome) throw new Error(outcome.conflicts[0] ?? outcome.applyError);
  // Judged again when a verdict falls due (a heartbeat deadline, a restart grace's end), just after it.
  const now = ports.now().getTime();
  const next = nextJudgement(status.loadBalancers, lbPods, { ...liveness, now });
  const requeueAfterMs = next !== undefined ? Math.max(JUDGE_AFTER_MS, next - now + JUDGE_AFTER_MS) : undefined;
  return { writes, ...(repaired.length > 0 ? { repaired } : {}), ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}
