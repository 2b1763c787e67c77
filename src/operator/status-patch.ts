// The one status write of a reconcile, as a JSON patch. Why JSON patch and not merge patch or apply:
// status.loadBalancers[] entries belong to the agents (server-side apply, one field manager per pod); the
// operator must replace only its own fields, mark entries of dead pods not ready and remove only entries of
// vanished pods, each guarded by a
// `test` so that a concurrent agent write shifts nothing silently (the patch then fails and is retried).
// Creating /status is guarded by the object's resourceVersion: `add /status {}` on an object whose status an
// agent wrote after our cache last saw it would replace that status wholesale.
import type { PortableLoadBalancerStatus } from '../api/generated.js';
import { sameJson } from '../runtime/canonical.js';
import type { JsonPatchOp } from '../runtime/json-patch.js';

export type { JsonPatchOp };

const OWNED = ['observedGeneration', 'conditions', 'backends'] as const;
/** What the operator may change in an agent's entry: its verdict that the pod cannot serve. */
const MARKED = ['ready', 'reason', 'message'] as const;
/** Operator-owned fields that can go away again (a released VIP, no class any more). */
const REMOVABLE = ['vip', 'pool', 'className', 'podNamespace'] as const;

/**
 * Returns [] when nothing the operator owns changed, so a steady object costs no write. `resourceVersion` is
 * the cached object's: required to create /status (the patch fails if the object moved on meanwhile).
 */
export function statusPatch(
  current: PortableLoadBalancerStatus | undefined,
  next: PortableLoadBalancerStatus,
  resourceVersion?: string,
): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  if (!current) {
    if (resourceVersion === undefined) throw new Error('creating /status needs the resourceVersion it was read at');
    ops.push({ op: 'test', path: '/metadata/resourceVersion', value: resourceVersion }, { op: 'add', path: '/status', value: {} });
  }
  for (const field of OWNED) {
    const value = next[field];
    if (value === undefined || sameJson(current?.[field], value)) continue;
    ops.push({ op: current?.[field] === undefined ? 'add' : 'replace', path: `/status/${field}`, value });
  }
  for (const field of REMOVABLE) {
    const value = next[field] || undefined;
    const had = current?.[field];
    if (value === had) continue;
    if (value === undefined) ops.push({ op: 'remove', path: `/status/${field}` });
    else ops.push({ op: had === undefined ? 'add' : 'replace', path: `/status/${field}`, value });
  }
  const keep = new Set((next.loadBalancers ?? []).map((e) => e.pod));
  const existing = current?.loadBalancers ?? [];
  // The entries as the operator judged them (src/operator/liveness.ts): only the MARKED fields change, at their
  // index before any removal, each guarded by the pod the index held.
  const marked = new Map((next.loadBalancers ?? []).map((e) => [e.pod, e]));
  // Marks set (the pod cannot serve) and lifted (liveness.ts liftedMark: the pod is Ready again, the entry reads as
  // its agent said, without the mark's reason and message). Both are guarded by the pod and its lastUpdateTime: an
  // agent that reported since our cache saw the entry is believed (the patch fails and the pass is retried on a
  // fresh cache); a lift also by the mark it lifts.
  existing.forEach((e, i) => {
    const m = marked.get(e.pod);
    const mark = m?.ready === false && e.ready === true;
    const lift = m?.ready === true && e.ready === false;
    if (!m || !(mark || lift)) return;
    ops.push({ op: 'test', path: `/status/loadBalancers/${i}/pod`, value: e.pod });
    if (e.lastUpdateTime !== undefined) ops.push({ op: 'test', path: `/status/loadBalancers/${i}/lastUpdateTime`, value: e.lastUpdateTime });
    if (mark) {
      for (const f of MARKED) if (m[f] !== undefined) ops.push({ op: 'add', path: `/status/loadBalancers/${i}/${f}`, value: m[f] });
      return;
    }
    if (e.reason !== undefined) ops.push({ op: 'test', path: `/status/loadBalancers/${i}/reason`, value: e.reason });
    ops.push({ op: 'replace', path: `/status/loadBalancers/${i}/ready`, value: true });
    for (const f of ['reason', 'message'] as const) if (e[f] !== undefined && m[f] === undefined) ops.push({ op: 'remove', path: `/status/loadBalancers/${i}/${f}` });
  });
  // Highest index first, so earlier removals do not shift the later ones.
  for (let i = existing.length - 1; i >= 0; i--) {
    const pod = existing[i]!.pod;
    if (keep.has(pod)) continue;
    ops.push({ op: 'test', path: `/status/loadBalancers/${i}/pod`, value: pod });
    ops.push({ op: 'remove', path: `/status/loadBalancers/${i}` });
  }
  // Node speakers' entries (status.nodeSessions, one field manager per node) of nodes without a live LB pod of
  // this PLB any more: removed, highest index first, each guarded by its keys.
  if (next.nodeSessions !== undefined) {
    const key = (e: { node: string; peer: string }) => `${e.node} ${e.peer}`;
    const keepSessions = new Set(next.nodeSessions.map(key));
    const sessions = current?.nodeSessions ?? [];
    for (let i = sessions.length - 1; i >= 0; i--) {
      const e = sessions[i]!;
      if (keepSessions.has(key(e))) continue;
      ops.push(
        { op: 'test', path: `/status/nodeSessions/${i}/node`, value: e.node },
        { op: 'test', path: `/status/nodeSessions/${i}/peer`, value: e.peer },
        { op: 'remove', path: `/status/nodeSessions/${i}` },
      );
    }
  }
  // Only the creation of an empty status: nothing to say yet.
  return ops.every((o) => o.path === '/status' || o.path === '/metadata/resourceVersion') ? [] : ops;
}
