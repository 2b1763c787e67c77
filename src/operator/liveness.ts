// Whether an LB pod's status.loadBalancers[] entry may still say ready. Pure: the clock comes in as `now`.
//
// Entries belong to the agents, but a dead agent cannot take its own entry back: an LB pod on a failed node keeps
// `ready: true` until taint eviction (300 s, or never under a tolerate-everything toleration), an evicted pod
// (phase Failed) until pod GC, a wedged agent for ever. Routers that follow the list would black-hole a share of
// the VIP's traffic meanwhile. So the operator judges every entry on every pass:
//   - the pod is gone, being deleted, Failed or Succeeded: the entry is dropped (its agent will never serve again);
//   - the pod's node is not Ready (the node controller says so node-monitor-grace-period after the kubelet's last
//     heartbeat) or no longer exists: ready false, reason NodeNotReady;
//   - the pod's Ready condition turned False after the agent's last report, by more than REPORT_MARGIN_MS (the
//     kubelet probes the agent's /readyz; a Ready=False older than the report is the pod's start, before its
//     agent had programmed anything): ready false, reason PodNotReady. The freshest word wins: an agent that
//     reports again is believed again. Except while a container of the pod restarts (restartGraceEnd): a Running
//     pod whose Ready=False came with a container's exit, whose agent's heartbeat has not expired, keeps its entry
//     ready for RESTART_GRACE_MS after that exit (never past the heartbeat's deadline), and is judged again then;
//   - the agent's heartbeat (lastUpdateTime, rewritten at least every HEARTBEAT_PERIOD_MS) is older than
//     HEARTBEAT_EXPIRY_MS, counted from no earlier than `since`, when the operator could last see the entries
//     (its watch of PLBs synced, or it became the leader): after an API-server outage, which stops every
//     heartbeat, the agents get a full period to report again before anything is judged: ready false, reason
//     HeartbeatExpired.
// An entry already not ready is kept as the agent wrote it, except the operator's own NodeNotReady and PodNotReady
// marks, lifted once the pod is Ready again (liftedMark). Marked entries keep their pod, node and podIP, so
// `kubectl get plb -o yaml` still says which pod and why.
import { createHash } from 'node:crypto';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { LoadBalancerEntry } from '../api/status.js';

/** How often an agent rewrites its entry even when nothing changed (its repair pass, src/agent/kubernetes). */
export const HEARTBEAT_PERIOD_MS = 30_000;
/** Three missed heartbeats. */
export const HEARTBEAT_EXPIRY_MS = 3 * HEARTBEAT_PERIOD_MS;
/**
 * Ready=False must come this long after the agent's report to overrule it: both are written at second precision,
 * and a pod's first status write may land just after its agent's first report (the heartbeat still catches an
 * agent that wedged within this margin of a report).
 */
export const REPORT_MARGIN_MS = 2000;
/**
 * How long an LB pod's entry stays ready after a container of the pod exited, while the kubelet restarts it.
 * The kernel state is the pod's, not the container's (the netns, xdp's pinned maps and attached programs, the
 * nftables ruleset and IPVS services outlive the agent process): it forwards all along. Marking the entry
 * PodNotReady at once made the nodes' speakers withdraw the VIP for the length of the restart (~3 s on real
 * nodes, test/e2e/cases/bgp.ts), moving every flow twice for nothing. The grace covers what a restart takes: the
 * kubelet noticing the exit (its PLEG relists every 1 s) and starting the container at once (the first restart
 * has no back-off), the new agent's start-up to its first report (measured on real nodes: see docs/faults.md),
 * and one readiness probe period (2 s) for the pod's Ready=True. It is no longer than the kubelet's first
 * crash-loop back-off (10 s): an agent that dies again at start is PodNotReady before its second restart, and
 * far shorter than the heartbeat expiry (90 s), which caps it anyway. What the grace costs: for at most this
 * long, backend changes are not followed by that pod (as during any restart) while routers still send to it.
 */
export const RESTART_GRACE_MS = 10_000;
/**
 * How long after a pod turned not Ready its container's recorded exit still explains the turn. The two times
 * come from different clocks' whole seconds (the kubelet's condition, the runtime's finishedAt) and a readiness
 * probe can find the agent gone before the kubelet records the exit: the lab's stand-in kubelet turned a pod at
 * :04 and wrote finishedAt :05, and the operator took the exit of a restart 73 s earlier instead (PodNotReady
 * for 2.2 s, the grace unspent). Far below what a wedged agent's liveness kill takes after its readiness failed
 * (the chart's probes: readiness 2 s x 2, liveness 10 s x 3), so that stays PodNotReady at once.
 */
export const EXIT_AFTER_TURN_MS = 2_000;

export type EntryVerdict =
  | { keep: false; why: string }
  | {
      keep: true;
      notReady?: { reason: 'NodeNotReady' | 'PodNotReady' | 'HeartbeatExpired'; message: string };
      /** A ready verdict holds until then at most, with nothing observed changing (ms since the epoch). */
      until?: number;
      /** Kept ready only by the restart grace: which container exited, and when. */
      restarting?: string;
    };

export interface LivenessContext {
  now: number;
  /** Heartbeats are not judged as older than this (ms since the epoch). */
  since: number;
  /** Infinity: heartbeats are not judged. */
  expiryMs: number;
  node(name: string): V1Node | undefined;
}

const time = (t: Date | string | undefined): number | undefined => {
  if (t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
};
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The verdict on one entry; `pod` is the LB pod it names, if the cache has it. */
export function judgeEntry(entry: LoadBalancerEntry, pod: V1Pod | undefined, ctx: LivenessContext): EntryVerdict {
  if (!pod) return { keep: false, why: 'pod does not exist' };
  if (pod.metadata?.deletionTimestamp) return { keep: false, why: 'pod is being deleted' };
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return { keep: false, why: `pod phase ${phase}` };
  if (entry.ready !== true) return { keep: true };

  const nodeName = pod.spec?.nodeName;
  if (nodeName) {
    const node = ctx.node(nodeName);
    const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
    if (!node || ready?.status !== 'True') {
      const message = !node
        ? `node ${nodeName} no longer exists`
        : `node ${nodeName} is not Ready (${ready?.status ?? 'no Ready condition'}${ready?.reason ? `, ${ready.reason}` : ''}${ready?.lastTransitionTime ? ` since ${iso(time(ready.lastTransitionTime)!)}` : ''})`;
      return { keep: true, notReady: { reason: 'NodeNotReady', message: `${message}: this LB pod may not forward` } };
    }
  }

  const reported = time(entry.lastUpdateTime);
  const deadline = heartbeatDeadline(entry, ctx);
  const podReady = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const turned = time(podReady?.lastTransitionTime);
  let restarting: string | undefined;
  let until = deadline;
  if (podReady?.status === 'False' && turned !== undefined && (reported === undefined || turned > reported + REPORT_MARGIN_MS)) {
    const grace = restartGraceEnd(pod, turned, reported, deadline);
    if (grace === undefined || ctx.now >= grace.end) {
      const why = grace ? `; its container ${grace.container} exited at ${iso(grace.exited)} and the pod was not Ready again within the ${RESTART_GRACE_MS / 1000} s restart grace` : '';
      return { keep: true, notReady: { reason: 'PodNotReady', message: `pod ${entry.pod} turned not Ready at ${iso(turned)}, after its agent's last report${why}` } };
    }
    restarting = `container ${grace.container} exited at ${iso(grace.exited)}`;
    until = grace.end;
  }

  if (deadline !== undefined && ctx.now > deadline) {
    return {
      keep: true,
      notReady: {
        reason: 'HeartbeatExpired',
        message: `pod ${entry.pod}'s agent last reported at ${iso(reported!)}, more than ${Math.round(ctx.expiryMs / 1000)} s ago (it reports every ${HEARTBEAT_PERIOD_MS / 1000} s)`,
      },
    };
  }
  return { keep: true, ...(until !== undefined ? { until } : {}), ...(restarting ? { restarting } : {}) };
}

/**
 * When the restart grace of a Running pod that turned not Ready at `turned` ends, or undefined if it has none.
 * It has one when a container of the pod exited (its status's state or lastState says terminated) no later than
 * that turn, or at most EXIT_AFTER_TURN_MS after it (both times are whole seconds): the exit is why the pod is
 * not Ready, not a probe failing on a running agent (a wedged one: PodNotReady at once, and a liveness kill
 * afterwards does not move the turn). Only while the agent's heartbeat is fresh: it has reported (an entry
 * without lastUpdateTime gets no grace), and the grace ends by its deadline. A grace ends RESTART_GRACE_MS after
 * the exit, whatever the container does next: one grace per not-Ready spell, so a container that keeps dying is
 * PodNotReady once it is over.
 */
export function restartGraceEnd(
  pod: V1Pod,
  turned: number,
  reported: number | undefined,
  heartbeatDue: number | undefined,
): { end: number; exited: number; container: string } | undefined {
  if (pod.status?.phase !== 'Running' || reported === undefined) return undefined;
  let latest: { exited: number; container: string } | undefined;
  for (const c of pod.status?.containerStatuses ?? []) {
    for (const t of [c.state?.terminated?.finishedAt, c.lastState?.terminated?.finishedAt]) {
      const exited = time(t);
      if (exited === undefined || exited > turned + EXIT_AFTER_TURN_MS) continue;
      if (!latest || exited > latest.exited) latest = { exited, container: c.name };
    }
  }
  if (!latest) return undefined;
  return { ...latest, end: Math.min(latest.exited + RESTART_GRACE_MS, heartbeatDue ?? Infinity) };
}

/** The reasons only the operator writes (judgeEntry's marks on a pod's or node's readiness); agents use others. */
const OPERATOR_MARKS: ReadonlySet<string> = new Set(['NodeNotReady', 'PodNotReady']);

/**
 * The entry as its agent last said it (ready), when the operator's NodeNotReady or PodNotReady mark no longer holds:
 * the pod's Ready condition is True again. That is the agent's own word, given after the mark: the kubelet's probe
 * of its /readyz passes only while its data plane holds the desired state (a node that was not Ready has its pods
 * marked not Ready by the node controller, and the kubelet marks them Ready again when it is back). Without this
 * the entry stayed marked until the agent's next heartbeat, up to HEARTBEAT_PERIOD_MS: in the lab, a node whose
 * link came back had its LB pod PodNotReady (its probes had failed) and did not announce the VIP again within 20 s.
 * The agent's own reason and message are gone with the mark; its next heartbeat writes them again.
 * HeartbeatExpired is not lifted here: a probe that passes does not say the agent can reach the API server.
 */
export function liftedMark(entry: LoadBalancerEntry, pod: V1Pod | undefined): LoadBalancerEntry | undefined {
  if (entry.ready !== false || entry.reason === undefined || !OPERATOR_MARKS.has(entry.reason)) return undefined;
  if (pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') return undefined;
  const { reason: _reason, message: _message, ...rest } = entry;
  return { ...rest, ready: true };
}

/** When the heartbeat of a still-ready entry will expire (ms since the epoch); undefined if none can. */
export function heartbeatDeadline(entry: LoadBalancerEntry, ctx: Pick<LivenessContext, 'since' | 'expiryMs'>): number | undefined {
  const reported = time(entry.lastUpdateTime);
  if (entry.ready !== true || reported === undefined || !Number.isFinite(ctx.expiryMs)) return undefined;
  return Math.max(reported, ctx.since) + ctx.expiryMs;
}

/**
 * The entries that stay, each as it must read: dropped ones left out, not-ready ones marked (ready false, the
 * operator's reason and message). Order is kept.
 */
export function judgedEntries(entries: readonly LoadBalancerEntry[] | undefined, pods: readonly V1Pod[], ctx: LivenessContext): LoadBalancerEntry[] {
  const byName = new Map(pods.map((p) => [p.metadata?.name, p]));
  const out: LoadBalancerEntry[] = [];
  for (const entry of entries ?? []) {
    const pod = byName.get(entry.pod);
    // A lifted mark is judged afresh like any ready entry: a node still not Ready marks it again at once.
    const e = liftedMark(entry, pod) ?? entry;
    const v = judgeEntry(e, pod, ctx);
    if (!v.keep) continue;
    if (!v.notReady) {
      out.push(e);
      continue;
    }
    out.push({ ...e, ready: false, reason: v.notReady.reason, message: v.notReady.message });
  }
  return out;
}

/**
 * When the judged `entries` must be judged again though nothing observed changes: the earliest heartbeat
 * deadline or restart grace end of an entry still ready (ms since the epoch); undefined if none. The operator
 * requeues its PLB then (reconcile.ts): a grace that ends marks the entry PodNotReady at that moment, not at
 * the next event.
 */
export function nextJudgement(entries: readonly LoadBalancerEntry[] | undefined, pods: readonly V1Pod[], ctx: LivenessContext): number | undefined {
  const byName = new Map(pods.map((p) => [p.metadata?.name, p]));
  let next: number | undefined;
  for (const entry of entries ?? []) {
    if (entry.ready !== true) continue;
    const v = judgeEntry(entry, byName.get(entry.pod), ctx);
    if (v.keep && !v.notReady && v.until !== undefined && (next === undefined || v.until < next)) next = v.until;
  }
  return next;
}

/**
 * What of a PLB's watch event the operator acts on: everything but resourceVersion, managedFields and the
 * entries' lastUpdateTime. Every agent rewrites its entry on each repair pass (the heartbeat): with 2 LB pods per
 * PLB and 1000 PLBs that is 67 events a second that change nothing else, and reconciling each would spend the
 * operator's workers on them. A heartbeat is judged instead when it falls due: each pass requeues its PLB at the
 * earliest time a verdict falls due (reconcile.ts, nextJudgement), and reads the entries afresh then.
 * A digest of that content, not the content: the operator keeps one per PLB, and the JSON was ~2 KiB each
 * (2.2 MiB of heap at 1000 PLBs).
 */
export function withoutHeartbeats(plb: { metadata?: object; spec?: unknown; status?: { loadBalancers?: readonly LoadBalancerEntry[] } }): string {
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = (plb.metadata ?? {}) as Record<string, unknown>;
  const entries = plb.status?.loadBalancers?.map(({ lastUpdateTime: _t, ...rest }) => rest);
  const content = JSON.stringify({ ...plb, metadata, status: plb.status ? { ...plb.status, ...(entries ? { loadBalancers: entries } : {}) } : undefined });
  return createHash('sha256').update(content).digest('base64url');
}
