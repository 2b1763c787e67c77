// Observations -> the PortableLoadBalancer's status. Pure: the clock comes in as `now`.
import type { V1Pod } from '@kubernetes/client-node';
import { ConditionType } from '../api/constants.js';
import { setConditions, type ConditionInput } from '../api/conditions.js';
import type { PortableLoadBalancer, PortableLoadBalancerStatus } from '../api/generated.js';
import { describeSelector, type BackendCount } from '../api/selector.js';
import { withDefaults } from '../api/defaults.js';
import { judgedEntries, type LivenessContext } from './liveness.js';
import { joinBounded, truncate, TOTAL_CHARS } from './messages.js';
import type { LoadBalancerEntry, NodeSession } from '../api/status.js';

export interface Observations {
  /** The LB pods of this PLB that exist now (from the pod cache). */
  lbPods: readonly V1Pod[];
  /** Selected backend pods; undefined for static addresses. */
  backends: BackendCount | undefined;
  /**
   * Decisions that come before any pod can serve (the class's Accepted, the allocator's VIPAssigned): Ready is
   * False with the first of them that is not True.
   */
  gates?: readonly ConditionInput[];
  /** More for the Degraded condition (e.g. a held VIP that no pool allows any more). */
  problems?: readonly { reason: string; message: string }[];
  /** What the operator decided: the VIP held and its pool, the class and the LB pods' namespace. */
  assigned?: Pick<PortableLoadBalancerStatus, 'vip' | 'pool' | 'className' | 'podNamespace'>;
  /** BGPPeers that serve this PLB (after password resolution), and what kept others out. */
  bgpPeers?: number;
  bgpProblems?: readonly string[];
  /** What applying the children this pass met; undefined: all applied or unchanged. */
  children?: ChildrenOutcome;
  /** Why the LB pods cannot be created, as the Deployment or its ReplicaSet says (ReplicaFailure). */
  replicaFailure?: { reason: string; message: string };
  /** Judge each entry (src/operator/liveness.ts); undefined: only entries of vanished pods are dropped. */
  liveness?: Omit<LivenessContext, 'now'>;
}

/** An agent's report of "no VIP held": the VIPAssigned condition already says why, Degraded need not repeat it. */
const NO_VIP = 'VIPNotAssigned';

const FLANNEL_UDP_MESSAGE =
  'overlay mode udp tunnels every packet through a userspace daemon: the study measured 30-54k req/s for any load ' +
  'balancer whatever the CPU spreading. Use vxlan or host-gw.';

function backendsCondition(plb: PortableLoadBalancer, count: BackendCount | undefined): ConditionInput {
  const type = ConditionType.BackendsResolved;
  const { selector, addresses } = plb.spec.backends;
  if (addresses) {
    return { type, status: 'True', reason: 'StaticBackends', message: `${addresses.length} static backend address(es)` };
  }
  const ns = plb.metadata?.namespace ?? '';
  const sel = selector ? describeSelector(selector) : '';
  if (!count || count.total === 0) {
    return { type, status: 'False', reason: 'NoMatchingPods', message: `no pod in namespace ${ns} matches the selector ${sel}` };
  }
  if (count.ready === 0) {
    return {
      type,
      status: 'False',
      reason: 'NoReadyBackends',
      message: `${count.total} pod(s) match the selector ${sel}, but none is ready`,
    };
  }
  return { type, status: 'True', reason: 'BackendsReady', message: `${count.ready} of ${count.total} backend pod(s) ready` };
}

export interface ChildrenOutcome {
  /** Objects named like our children that this PLB does not control, described for people. */
  conflicts: string[];
  /** The API server's answer to the apply that failed, with the child it was for. */
  applyError?: string;
}

/** Children we may not or could not write: the first thing a user must fix. */
function childrenCondition(children: ChildrenOutcome | undefined): ConditionInput | undefined {
  if (!children) return undefined;
  if (children.conflicts.length > 0) {
    return { type: ConditionType.Ready, status: 'False', reason: 'ChildConflict', message: joinBounded(children.conflicts, { noun: 'more' }) };
  }
  if (children.applyError) {
    return { type: ConditionType.Ready, status: 'False', reason: 'ApplyFailed', message: truncate(children.applyError, TOTAL_CHARS) };
  }
  return undefined;
}

const replicaFailureMessage = (f: { message: string }) => truncate(`the Deployment cannot create LB pods: ${f.message}`, TOTAL_CHARS);

/** Why LB pods that have not reported yet are not running: said plainly, because users will ask. */
function waitingMessage(pods: readonly V1Pod[], replicas: number): string {
  if (pods.length === 0) return `waiting for the Deployment to create ${replicas} LB pod(s)`;
  const unscheduled = pods.filter((p) => !p.spec?.nodeName).length;
  const pending = pods.filter((p) => p.spec?.nodeName && p.status?.phase !== 'Running').length;
  const parts: string[] = [];
  if (unscheduled) parts.push(`${unscheduled} LB pod(s) Pending: not scheduled to any node`);
  if (pending) parts.push(`${pending} LB pod(s) scheduled but not running yet`);
  const running = pods.length - unscheduled - pending;
  if (running) parts.push(`${running} LB pod(s) running, waiting for their agents to report`);
  return `0 of ${replicas} LB pod(s) programmed: ${parts.join('; ')}`;
}

/** The pod's kernel holds the current generation and the VIP this PLB holds (an entry without vip: any). */
const isCurrent = (e: LoadBalancerEntry, generation: number, vip: string | undefined) =>
  e.ready === true && e.programmedGeneration === generation && (e.vip === undefined || e.vip === vip);

function dataPlaneCondition(
  entries: readonly LoadBalancerEntry[],
  pods: readonly V1Pod[],
  generation: number,
  replicas: number,
  vip: string | undefined,
  replicaFailure: Observations['replicaFailure'],
): ConditionInput {
  const type = ConditionType.DataPlaneProgrammed;
  const current = entries.filter((e) => isCurrent(e, generation, vip));
  const failing = entries.filter((e) => !e.ready && e.reason);
  if (current.length > 0) {
    const all = current.length >= replicas;
    return {
      type,
      status: 'True',
      reason: all ? 'AllReplicasProgrammed' : 'SomeReplicasProgrammed',
      message: `${current.length} of ${replicas} LB pod(s) hold generation ${generation}`,
    };
  }
  if (failing.length > 0) {
    const first = failing[0]!;
    return { type, status: 'False', reason: safeReason(first.reason), message: describeEntries(failing) };
  }
  if (replicaFailure) return { type, status: 'False', reason: safeReason(replicaFailure.reason), message: replicaFailureMessage(replicaFailure) };
  if (entries.length > 0) {
    return {
      type,
      status: 'False',
      reason: 'NotProgrammed',
      message: `${entries.length} LB pod(s) reported, none holds generation ${generation} yet`,
    };
  }
  return { type, status: 'False', reason: 'WaitingForReplicas', message: waitingMessage(pods, replicas) };
}

function degradedCondition(
  plb: PortableLoadBalancer,
  entries: readonly LoadBalancerEntry[],
  programmed: number,
  replicas: number,
  more: readonly { reason: string; message: string }[],
  replicaFailure: Observations['replicaFailure'],
): ConditionInput {
  const type = ConditionType.Degraded;
  const problems: { reason: string; message: string }[] = [...more];
  if (replicaFailure && programmed > 0) problems.push({ reason: safeReason(replicaFailure.reason), message: replicaFailureMessage(replicaFailure) });
  const reported = entries.filter((e) => e.reason && e.reason !== NO_VIP);
  if (reported.length > 0) {
    problems.push({ reason: safeReason(reported[0]!.reason), message: describeEntries(reported) });
  }
  if (plb.spec.overlay?.mode === 'udp') problems.push({ reason: 'OverlayUnsuitable', message: FLANNEL_UDP_MESSAGE });
  if (programmed > 0 && programmed < replicas) {
    problems.push({
      reason: 'ReplicasNotProgrammed',
      message: `only ${programmed} of ${replicas} LB pod(s) hold the current generation`,
    });
  }
  if (problems.length === 0) return { type, status: 'False', reason: 'AsExpected', message: '' };
  return { type, status: 'True', reason: problems[0]!.reason, message: joinBounded(problems.map((p) => p.message), { perPart: TOTAL_CHARS }) };
}

const describeSession = (s: { peer: string; state?: string; bfdState?: string; lastError?: string }) =>
  `${s.peer} ${s.state ?? 'unknown'}${s.bfdState ? `/BFD ${s.bfdState}` : ''}${s.lastError ? ` (${s.lastError})` : ''}`;

/** A session the LB pod reports only to say that its node speaks to this NodeIP peer (src/agent/bgp). */
const leftToNode = (s: { lastError?: string }) => s.lastError?.startsWith('nextHopMode NodeIP') === true;

/**
 * "announced for N of M LB pods": an LB pod counts when one of its own sessions announces the VIP (PodIP peers)
 * or when the speaker of its node does (NodeIP peers: status.nodeSessions, written by each node's plb-agent
 * node-routes, src/node/status.ts).
 */
function announcedCondition(entries: readonly LoadBalancerEntry[], nodeSessions: readonly NodeSession[], peers: number, problems: readonly string[]): ConditionInput {
  const type = ConditionType.Announced;
  const extra = problems.length > 0 ? `; ${problems.join('; ')}` : '';
  if (peers === 0) {
    return {
      type,
      status: 'False',
      reason: problems.length > 0 ? 'PeerProblem' : 'NoBGPPeers',
      message: `no BGPPeer serves this load balancer: route the VIP to the LB pods (status.loadBalancers[].podIP) yourself${extra}`,
    };
  }
  const ofNode = (e: LoadBalancerEntry) => nodeSessions.filter((s) => e.node !== undefined && s.node === e.node);
  const byPod = (e: LoadBalancerEntry) => (e.sessions ?? []).some((s) => s.announced);
  // A node's word counts for its LB pods that are ready: one marked NodeNotReady has a speaker nobody hears.
  const byNode = (e: LoadBalancerEntry) => e.ready === true && ofNode(e).some((s) => s.announced);
  const announcing = entries.filter((e) => byPod(e) || byNode(e));
  if (announcing.length > 0) {
    const all = announcing.length === entries.length;
    const nodes = [...new Set(announcing.filter(byNode).map((e) => e.node!))].sort();
    return {
      type,
      status: 'True',
      reason: all ? 'AllReplicasAnnounced' : 'SomeReplicasAnnounced',
      message: nodes.length === 0
        ? `announced by ${announcing.length} of ${entries.length} LB pod(s) to ${peers} BGP peer(s)${extra}`
        : `announced for ${announcing.length} of ${entries.length} LB pod(s) to ${peers} BGP peer(s), by the speakers of their node(s) ${nodes.join(', ')} for those behind a NodeIP peer${extra}`,
    };
  }
  // Every session an LB pod reports is a NodeIP peer's, left to its node's speaker, and no node has reported
  // yet: plb-agent node-routes is not running there (the chart's nodeRoutes.enabled), or is still starting.
  const reported = entries.flatMap((e) => e.sessions ?? []);
  if (reported.length > 0 && reported.every(leftToNode) && entries.every((e) => ofNode(e).length === 0)) {
    return {
      type,
      status: 'Unknown',
      reason: 'AnnouncedByNodes',
      message: `its ${peers} BGP peer(s) have nextHopMode NodeIP, which the nodes' plb-agent node-routes announce, and no node of the ${entries.length} LB pod(s) has reported its sessions into status.nodeSessions yet (is the chart's nodeRoutes.enabled set?)${extra}`,
    };
  }
  const why = joinBounded(
    entries.map((e) => {
      const own = (e.sessions ?? []).filter((s) => !leftToNode(s)).map(describeSession);
      const node = ofNode(e).map((s) => `${describeSession(s)} from node ${s.node}`);
      const sessions = [...own, ...node];
      return `pod ${e.pod}: ${sessions.length > 0 ? sessions.join(', ') : 'no session reported'}`;
    }),
    { noun: 'more LB pod(s)' },
  );
  return {
    type,
    status: 'False',
    reason: 'NotAnnounced',
    message: `announced by 0 of ${entries.length} LB pod(s) to ${peers} BGP peer(s)${why ? `: ${why}` : ''}${extra}`,
  };
}

const reasonPattern = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
/** Agents write reasons too; one that is not a valid token must not make our status write fail. */
function safeReason(reason: string | undefined): string {
  return reason && reasonPattern.test(reason) ? reason : 'AgentError';
}

/** One part per LB pod, each cut short, the whole capped, the rest counted: see messages.ts. */
function describeEntries(entries: readonly LoadBalancerEntry[]): string {
  return joinBounded(
    entries.map((e) => `pod ${e.pod}${e.node ? ` on node ${e.node}` : ''}: ${e.message || e.reason || 'no message'}`),
    { noun: 'more LB pod(s)' },
  );
}

/** An LB pod that serves no more: being deleted, or ended (Failed, Succeeded). */
const isGone = (p: V1Pod): boolean => Boolean(p.metadata?.deletionTimestamp) || p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';

/**
 * Entries of LB pods that no longer exist, are being deleted or have ended (Failed, Succeeded) are dropped; the rest belong to their agents and
 * are kept as written. A deleted pod leaves at once, while its agent still forwards for spec.drainSeconds: routers
 * that follow status.loadBalancers withdraw it before it stops.
 */
export function liveEntries(entries: readonly LoadBalancerEntry[] | undefined, pods: readonly V1Pod[]): LoadBalancerEntry[] {
  const names = new Set(pods.filter((p) => !isGone(p)).map((p) => p.metadata?.name));
  return (entries ?? []).filter((e) => names.has(e.pod));
}

/**
 * Node speakers' entries of nodes that still run a live LB pod of this PLB (the same pods liveEntries keeps). A
 * node whose last LB pod left, or that was deleted or died with its component, cannot remove its own entries;
 * the operator does (status-patch.ts). A node that still serves writes its entries again on its next pass.
 */
export function liveNodeSessions(sessions: readonly NodeSession[], pods: readonly V1Pod[]): NodeSession[] {
  const nodes = new Set(pods.filter((p) => !isGone(p)).map((p) => p.spec?.nodeName).filter(Boolean));
  return sessions.filter((s) => nodes.has(s.node));
}

export function computeStatus(plb: PortableLoadBalancer, observed: Observations, now: Date): PortableLoadBalancerStatus {
  const generation = plb.metadata?.generation ?? 0;
  const { replicas } = withDefaults(plb.spec);
  // Before ownership existed every PLB served spec.vip; callers that decide nothing keep that.
  const vip = observed.assigned ? observed.assigned.vip : plb.spec.vip;
  const entries = observed.liveness
    ? judgedEntries(plb.status?.loadBalancers, observed.lbPods, { ...observed.liveness, now: now.getTime() })
    : liveEntries(plb.status?.loadBalancers, observed.lbPods);
  const nodeSessions = plb.status?.nodeSessions && liveNodeSessions(plb.status.nodeSessions, observed.lbPods);
  const backends = backendsCondition(plb, observed.backends);
  const dataPlane = dataPlaneCondition(entries, observed.lbPods, generation, replicas, vip, observed.replicaFailure);
  const programmed = entries.filter((e) => isCurrent(e, generation, vip)).length;
  const gates = observed.gates ?? [];
  const children = childrenCondition(observed.children);
  const failing = [...gates, ...(children ? [children] : []), backends, dataPlane].filter((c) => c.status !== 'True');
  const ready: ConditionInput =
    failing.length === 0
      ? { type: ConditionType.Ready, status: 'True', reason: dataPlane.reason, message: `serving ${vip}: ${dataPlane.message}` }
      : {
          type: ConditionType.Ready,
          status: 'False',
          reason: failing[0]!.reason,
          message: joinBounded(failing.map((c) => c.message), { perPart: TOTAL_CHARS, max: 3 * TOTAL_CHARS }),
        };
  const conditions = setConditions(
    plb.status?.conditions,
    [
      ready,
      ...gates,
      backends,
      dataPlane,
      announcedCondition(entries, nodeSessions ?? [], observed.bgpPeers ?? 0, observed.bgpProblems ?? []),
      degradedCondition(plb, entries, programmed, replicas, observed.problems ?? [], observed.replicaFailure),
    ],
    generation,
    now,
  );
  const count = observed.backends ?? { ready: plb.spec.backends.addresses?.length ?? 0, total: plb.spec.backends.addresses?.length ?? 0 };
  return { ...(observed.assigned ?? {}), observedGeneration: generation, conditions, backends: count, loadBalancers: entries, ...(nodeSessions ? { nodeSessions } : {}) };
}
