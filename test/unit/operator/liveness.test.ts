// Which status.loadBalancers[] entries may still say ready (src/operator/liveness.ts): one row per rule.
import { describe, expect, it, test } from '@jest/globals';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { HEARTBEAT_EXPIRY_MS, RESTART_GRACE_MS, heartbeatDeadline, judgeEntry, judgedEntries, liftedMark, nextJudgement, withoutHeartbeats, type LivenessContext } from '../../../src/operator/liveness.js';
import type { LoadBalancerEntry } from '../../../src/api/status.js';

const T = Date.parse('2026-12-03T08:00:00Z');
const at = (s: number) => new Date(T + s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function pod(o: { phase?: string; ready?: boolean; readySince?: number; deleting?: boolean; node?: string } = {}): V1Pod {
  return {
    metadata: { name: 'lb-a', ...(o.deleting ? { deletionTimestamp: new Date(T) } : {}) },
    spec: { containers: [], ...(o.node === '' ? {} : { nodeName: o.node ?? 'n1' }) },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: new Date(T + (o.readySince ?? -100) * 1000) }],
    },
  };
}
const node = (name: string, status: string, reason = 'KubeletReady'): V1Node => ({
  metadata: { name },
  status: { conditions: [{ type: 'Ready', status, reason, lastTransitionTime: new Date(T - 10_000) }] },
});
const entry = (o: Partial<LoadBalancerEntry> = {}): LoadBalancerEntry => ({ pod: 'lb-a', node: 'n1', ready: true, programmedGeneration: 2, lastUpdateTime: at(-10), ...o });
const ctx = (o: Partial<LivenessContext> & { nodes?: V1Node[] } = {}): LivenessContext => ({
  now: T,
  since: 0,
  expiryMs: HEARTBEAT_EXPIRY_MS,
  node: (n) => (o.nodes ?? [node('n1', 'True')]).find((x) => x.metadata?.name === n),
  ...o,
});

describe('judgeEntry', () => {
  it.each([
    { name: 'a Running, Ready pod on a Ready node with a fresh heartbeat stays', e: entry(), p: pod(), c: ctx(), want: { keep: true } },
    { name: 'no such pod: dropped', e: entry(), p: undefined, c: ctx(), want: { keep: false, why: 'pod does not exist' } },
    { name: 'a pod being deleted: dropped', e: entry(), p: pod({ deleting: true }), c: ctx(), want: { keep: false, why: 'pod is being deleted' } },
    { name: 'an evicted pod (Failed): dropped', e: entry(), p: pod({ phase: 'Failed' }), c: ctx(), want: { keep: false, why: 'pod phase Failed' } },
    { name: 'a Succeeded pod: dropped', e: entry(), p: pod({ phase: 'Succeeded' }), c: ctx(), want: { keep: false, why: 'pod phase Succeeded' } },
    { name: 'an entry already not ready is the agent\'s word', e: entry({ ready: false, reason: 'ProgrammingFailed' }), p: pod(), c: ctx({ nodes: [node('n1', 'Unknown')] }), want: { keep: true } },
    { name: 'node Unknown: NodeNotReady', e: entry(), p: pod(), c: ctx({ nodes: [node('n1', 'Unknown', 'NodeStatusUnknown')] }), want: { keep: true, reason: 'NodeNotReady' } },
    { name: 'node False: NodeNotReady', e: entry(), p: pod(), c: ctx({ nodes: [node('n1', 'False')] }), want: { keep: true, reason: 'NodeNotReady' } },
    { name: 'node gone: NodeNotReady', e: entry(), p: pod(), c: ctx({ nodes: [] }), want: { keep: true, reason: 'NodeNotReady' } },
    { name: 'an unscheduled pod is not judged by a node', e: entry(), p: pod({ node: '' }), c: ctx({ nodes: [] }), want: { keep: true } },
    { name: 'Ready=False since the pod started, before the agent reported: the agent is believed', e: entry(), p: pod({ ready: false, readySince: -100 }), c: ctx(), want: { keep: true } },
    { name: 'Ready=False after the agent\'s last report: PodNotReady', e: entry(), p: pod({ ready: false, readySince: -5 }), c: ctx(), want: { keep: true, reason: 'PodNotReady' } },
    { name: 'Ready=False in the same second as the report: the agent is believed', e: entry(), p: pod({ ready: false, readySince: -10 }), c: ctx(), want: { keep: true } },
    { name: 'Ready=False 2 s after the report: the agent is believed (the margin)', e: entry(), p: pod({ ready: false, readySince: -8 }), c: ctx(), want: { keep: true } },
    { name: 'Ready=False 3 s after the report: PodNotReady', e: entry(), p: pod({ ready: false, readySince: -7 }), c: ctx(), want: { keep: true, reason: 'PodNotReady' } },
    { name: 'Ready=False and no report time: PodNotReady', e: entry({ lastUpdateTime: undefined }), p: pod({ ready: false }), c: ctx(), want: { keep: true, reason: 'PodNotReady' } },
    { name: 'heartbeat 90 s old: still fine', e: entry({ lastUpdateTime: at(-90) }), p: pod(), c: ctx(), want: { keep: true } },
    { name: 'heartbeat 91 s old: HeartbeatExpired', e: entry({ lastUpdateTime: at(-91) }), p: pod(), c: ctx(), want: { keep: true, reason: 'HeartbeatExpired' } },
    { name: 'heartbeat old, but the operator has seen entries for 30 s only (an outage ended): fine', e: entry({ lastUpdateTime: at(-300) }), p: pod(), c: ctx({ since: T - 30_000 }), want: { keep: true } },
    { name: 'heartbeat old and the operator has seen entries for 91 s: HeartbeatExpired', e: entry({ lastUpdateTime: at(-300) }), p: pod(), c: ctx({ since: T - 91_000 }), want: { keep: true, reason: 'HeartbeatExpired' } },
    { name: 'heartbeats not judged (expiry Infinity): an old one is fine', e: entry({ lastUpdateTime: at(-100_000) }), p: pod(), c: ctx({ expiryMs: Infinity }), want: { keep: true } },
    { name: 'no heartbeat at all (an agent that never wrote one) is not judged by it', e: entry({ lastUpdateTime: undefined }), p: pod(), c: ctx(), want: { keep: true } },
    { name: 'a node that is not Ready is said before a stale heartbeat', e: entry({ lastUpdateTime: at(-300) }), p: pod(), c: ctx({ nodes: [node('n1', 'Unknown')] }), want: { keep: true, reason: 'NodeNotReady' } },
  ])('$name', ({ e, p, c, want }) => {
    const v = judgeEntry(e, p, c);
    if (!want.keep) return expect(v).toEqual(want);
    expect(v.keep).toBe(true);
    expect(v.keep && v.notReady?.reason).toBe('reason' in want ? want.reason : undefined);
  });

  it('says which node, its state and since when', () => {
    const v = judgeEntry(entry(), pod(), ctx({ nodes: [node('n1', 'Unknown', 'NodeStatusUnknown')] }));
    expect(v.keep && v.notReady?.message).toBe('node n1 is not Ready (Unknown, NodeStatusUnknown since 2026-12-03T07:59:50Z): this LB pod may not forward');
  });
});

describe('the restart grace: a container of the LB pod restarting keeps its entry ready for a bounded time', () => {
  type Exit = { container?: string; at: number; now?: 'running' | 'waiting' | 'terminated' };
  /** A Running pod turned not Ready at `readySince`; `exit`: a container that exited then (kubelet's statuses). */
  const restarting = (readySince: number, exit?: Exit, phase = 'Running'): V1Pod => {
    const p = pod({ ready: false, readySince, phase });
    const finishedAt = exit && new Date(T + exit.at * 1000);
    const agent = { name: 'agent', image: 'plb', imageID: 'sha256:a', restartCount: exit ? 1 : 0, ready: false };
    const statuses = !exit ? [{ ...agent, state: { running: { startedAt: new Date(T - 600_000) } } }]
      : exit.now === 'terminated' ? [{ ...agent, name: exit.container ?? 'agent', restartCount: 0, state: { terminated: { exitCode: 137, finishedAt } } }]
      : [{ ...agent, name: exit.container ?? 'agent', state: exit.now === 'waiting' ? { waiting: { reason: 'CrashLoopBackOff' } } : { running: { startedAt: new Date(T + (exit.at + 1) * 1000) } },
        lastState: { terminated: { exitCode: 137, finishedAt } } }];
    return { ...p, status: { ...p.status, containerStatuses: [...statuses, { name: 'speaker', image: 'plb', imageID: 'sha256:a', restartCount: 0, ready: true, state: { running: { startedAt: new Date(T - 600_000) } } }] } };
  };
  /** The agent's status with a second, older termination in lastState (a restart minutes before this one). */
  const withLastExit = (p: V1Pod, at: number): V1Pod => ({ ...p, status: { ...p.status, containerStatuses: p.status!.containerStatuses!.map((c) =>
    c.name === 'agent' ? { ...c, restartCount: 2, lastState: { terminated: { exitCode: 137, finishedAt: new Date(T + at * 1000) } } } : c) } });
  it.each([
    { name: 'the agent exited 4 s ago and runs again, not Ready yet: ready until 10 s after the exit', e: entry(), p: restarting(-3, { at: -4 }), c: ctx(), want: { until: T + 6000, restarting: 'container agent exited at 2026-12-03T07:59:56Z' } },
    { name: 'the agent exited and waits to be restarted (state terminated): ready', e: entry(), p: restarting(-3, { at: -4, now: 'terminated' }), c: ctx(), want: { until: T + 6000 } },
    { name: 'the agent exited and waits in a back-off: ready until the grace ends', e: entry(), p: restarting(-3, { at: -4, now: 'waiting' }), c: ctx(), want: { until: T + 6000 } },
    { name: 'the exit in the same second as the turn: ready', e: entry(), p: restarting(-3, { at: -3 }), c: ctx(), want: { until: T + 7000 } },
    // A readiness probe can find the agent gone before the kubelet records its exit (the lab's chaos step saw the
    // turn at :04 and finishedAt :05, both whole seconds): the exit still explains the turn.
    { name: 'the exit recorded a second after the turn: ready', e: entry(), p: restarting(-3, { at: -2 }), c: ctx(), want: { until: T + 8000 } },
    { name: 'the exit recorded 2 s after the turn: ready', e: entry(), p: restarting(-3, { at: -1, now: 'terminated' }), c: ctx(), want: { until: T + 9000 } },
    { name: 'the exit recorded after the turn, an older restart in lastState: this exit is the one', e: entry(), p: withLastExit(restarting(-3, { at: -2, now: 'terminated' }), -70), c: ctx(), want: { until: T + 8000 } },
    { name: 'the speaker container restarting: ready as well (the kernel state is the pod\'s)', e: entry(), p: restarting(-3, { container: 'speaker', at: -4 }), c: ctx(), want: { until: T + 6000 } },
    { name: 'the grace is over (exited 11 s ago) and the pod is still not Ready: PodNotReady', e: entry({ lastUpdateTime: at(-30) }), p: restarting(-10, { at: -11 }), c: ctx(), want: { reason: 'PodNotReady' } },
    { name: 'exactly 10 s after the exit: PodNotReady', e: entry({ lastUpdateTime: at(-30) }), p: restarting(-9, { at: -10 }), c: ctx(), want: { reason: 'PodNotReady' } },
    { name: 'a running agent whose probe fails (wedged, never exited): PodNotReady at once', e: entry(), p: restarting(-3), c: ctx(), want: { reason: 'PodNotReady' } },
    { name: 'a wedged agent the liveness probe killed after the pod turned not Ready: PodNotReady', e: entry({ lastUpdateTime: at(-30) }), p: restarting(-8, { at: -3 }), c: ctx(), want: { reason: 'PodNotReady' } },
    { name: 'a restart a minute ago, Ready since, then not Ready again: PodNotReady (not this spell\'s exit)', e: entry(), p: restarting(-3, { at: -60 }), c: ctx(), want: { reason: 'PodNotReady' } },
    { name: 'the heartbeat is due before the grace ends: ready until the heartbeat deadline', e: entry({ lastUpdateTime: at(-88) }), p: restarting(-3, { at: -4 }), c: ctx(), want: { until: T + 2000 } },
    { name: 'the heartbeat expired already: no grace, PodNotReady', e: entry({ lastUpdateTime: at(-95) }), p: restarting(-3, { at: -4 }), c: ctx(), want: { reason: 'PodNotReady' } },
    { name: 'an entry without a heartbeat (lastUpdateTime) gets no grace', e: entry({ lastUpdateTime: undefined }), p: restarting(-3, { at: -4 }), c: ctx(), want: { reason: 'PodNotReady' } },
    { name: 'heartbeats not judged (expiry Infinity): the grace alone bounds it', e: entry({ lastUpdateTime: at(-500) }), p: restarting(-3, { at: -4 }), c: ctx({ expiryMs: Infinity }), want: { until: T + 6000 } },
    { name: 'a pod not Running (Pending) gets no grace', e: entry(), p: restarting(-3, { at: -4 }, 'Pending'), c: ctx(), want: { reason: 'PodNotReady' } },
    { name: 'its node not Ready: NodeNotReady, grace or not', e: entry(), p: restarting(-3, { at: -4 }), c: ctx({ nodes: [node('n1', 'Unknown')] }), want: { reason: 'NodeNotReady' } },
    { name: 'being deleted: dropped, grace or not', e: entry(), p: { ...restarting(-3, { at: -4 }), metadata: { name: 'lb-a', deletionTimestamp: new Date(T) } }, c: ctx(), want: { dropped: true } },
    { name: 'the restarted agent reported after the turn: believed, no grace needed (until its heartbeat deadline)', e: entry({ lastUpdateTime: at(-1) }), p: restarting(-3, { at: -4 }), c: ctx(), want: { until: T - 1000 + HEARTBEAT_EXPIRY_MS } },
  ])('$name', ({ e, p, c, want }) => {
    const v = judgeEntry(e, p, c);
    if ('dropped' in want) return expect(v.keep).toBe(false);
    if (!v.keep) throw new Error(`dropped: ${v.why}`);
    if ('reason' in want) return expect(v.notReady?.reason).toBe(want.reason);
    expect(v.notReady).toBeUndefined();
    expect(v.until).toBe(want.until);
    if ('restarting' in want) expect(v.restarting).toBe(want.restarting);
  });

  it('says, once the grace is over, which container exited and that the grace was spent', () => {
    const v = judgeEntry(entry({ lastUpdateTime: at(-30) }), restarting(-10, { at: -11 }), ctx());
    expect(v.keep && v.notReady?.message).toBe(
      `pod lb-a turned not Ready at 2026-12-03T07:59:50Z, after its agent's last report; its container agent exited at 2026-12-03T07:59:49Z and the pod was not Ready again within the ${RESTART_GRACE_MS / 1000} s restart grace`);
  });

  it('a restart over time: ready through the grace, judged again when it ends, PodNotReady then unless the agent reported or the pod is Ready', () => {
    const exitAt = -4;
    const p = restarting(-3, { at: exitAt });
    const e = entry();
    // Now: kept ready, and the operator is due back when the grace ends.
    expect(judgedEntries([e], [p], ctx()).map((x) => x.ready)).toEqual([true]);
    const due = nextJudgement([e], [p], ctx())!;
    expect(due).toBe(T + exitAt * 1000 + RESTART_GRACE_MS);
    // At that moment, nothing new: marked.
    expect(judgedEntries([e], [p], ctx({ now: due })).map((x) => [x.ready, x.reason])).toEqual([[false, 'PodNotReady']]);
    // The restarted agent's report came meanwhile: believed.
    expect(judgedEntries([entry({ lastUpdateTime: at(2) })], [p], ctx({ now: due })).map((x) => x.ready)).toEqual([true]);
    // The pod was Ready again meanwhile: nothing to judge.
    expect(judgedEntries([e], [pod({ readySince: 3 })], ctx({ now: due })).map((x) => x.ready)).toEqual([true]);
  });
});

describe('nextJudgement', () => {
  const exited = (): V1Pod => {
    const p = pod({ ready: false, readySince: -3 });
    return { ...p, metadata: { name: 'lb-b' }, status: { ...p.status, containerStatuses: [{ name: 'agent', image: 'plb', imageID: 'x', restartCount: 1, ready: false, lastState: { terminated: { exitCode: 137, finishedAt: new Date(T - 4000) } } }] } };
  };
  it.each([
    { name: 'healthy entries: the earliest heartbeat deadline', es: [entry(), entry({ pod: 'lb-b', lastUpdateTime: at(-20) })], healthy: true, want: T - 20_000 + HEARTBEAT_EXPIRY_MS },
    { name: 'a restarting pod\'s grace ends first', es: [entry(), entry({ pod: 'lb-b' })], want: T - 4000 + RESTART_GRACE_MS },
    { name: 'not-ready entries are not due (only a change brings them back)', es: [entry({ ready: false, reason: 'PodNotReady' }), entry({ pod: 'lb-b', ready: false })], want: undefined },
    { name: 'no heartbeats, heartbeats not judged: nothing due', es: [entry({ lastUpdateTime: undefined })], want: undefined },
    { name: 'no entries', es: [], want: undefined },
  ])('$name', ({ es, want, ...o }) => {
    const b = 'healthy' in o ? { ...pod(), metadata: { name: 'lb-b' } } : exited();
    expect(nextJudgement(es, [pod(), b], ctx())).toBe(want);
  });
});

describe('judgedEntries', () => {
  it('drops, marks and keeps, in order; a marked entry keeps its pod, node and podIP', () => {
    const pods = [pod(), { ...pod({ phase: 'Failed' }), metadata: { name: 'lb-b' } }, { ...pod({ node: 'n2' }), metadata: { name: 'lb-c' } }];
    const entries = [entry(), entry({ pod: 'lb-b' }), entry({ pod: 'lb-c', node: 'n2', podIP: '10.0.0.3' }), entry({ pod: 'lb-gone' })];
    const out = judgedEntries(entries, pods, ctx({ nodes: [node('n1', 'True'), node('n2', 'Unknown')] }));
    expect(out.map((e) => [e.pod, e.ready, e.reason])).toEqual([['lb-a', true, undefined], ['lb-c', false, 'NodeNotReady']]);
    expect(out[1]).toMatchObject({ node: 'n2', podIP: '10.0.0.3' });
  });
});

describe('the operator\'s marks are lifted when the pod is Ready again', () => {
  const marked = (reason: string, o: Partial<LoadBalancerEntry> = {}) => entry({ ready: false, reason, message: `marked ${reason}`, podIP: '10.0.0.1', backends: 2, ...o });
  it.each([
    { name: 'PodNotReady, pod Ready again: ready, as the agent said', e: marked('PodNotReady'), p: pod(), c: ctx(), want: [true, undefined] },
    { name: 'PodNotReady, pod still not Ready: stays marked', e: marked('PodNotReady'), p: pod({ ready: false, readySince: -5 }), c: ctx(), want: [false, 'PodNotReady'] },
    { name: 'NodeNotReady, node and pod Ready again: ready', e: marked('NodeNotReady'), p: pod(), c: ctx(), want: [true, undefined] },
    { name: 'NodeNotReady, pod Ready but the node still not: marked again', e: marked('NodeNotReady'), p: pod(), c: ctx({ nodes: [node('n1', 'Unknown')] }), want: [false, 'NodeNotReady'] },
    { name: 'PodNotReady lifted but the heartbeat is stale: HeartbeatExpired', e: marked('PodNotReady', { lastUpdateTime: at(-300) }), p: pod(), c: ctx(), want: [false, 'HeartbeatExpired'] },
    { name: 'HeartbeatExpired is not lifted by a Ready pod (only a report lifts it)', e: marked('HeartbeatExpired', { lastUpdateTime: at(-300) }), p: pod(), c: ctx(), want: [false, 'HeartbeatExpired'] },
    { name: 'an agent\'s own not-ready entry is never lifted', e: marked('ProgrammingFailed'), p: pod(), c: ctx(), want: [false, 'ProgrammingFailed'] },
    { name: 'the pod is gone: dropped, not lifted', e: marked('PodNotReady', { pod: 'lb-gone' }), p: pod(), c: ctx(), want: [] },
  ])('$name', ({ e, p, c, want }) => {
    const out = judgedEntries([e], [p], c);
    expect(out.map((x) => [x.ready, x.reason]).flat()).toEqual(want);
  });

  it('the lifted entry keeps the agent\'s fields and loses the mark\'s reason and message', () => {
    expect(liftedMark(marked('PodNotReady'), pod())).toEqual({ pod: 'lb-a', node: 'n1', ready: true, programmedGeneration: 2, lastUpdateTime: at(-10), podIP: '10.0.0.1', backends: 2 });
    expect(liftedMark(entry(), pod())).toBeUndefined();
  });
});

describe('heartbeatDeadline', () => {
  it.each([
    { name: 'a ready entry: its report plus the expiry', e: entry(), since: 0, want: T - 10_000 + HEARTBEAT_EXPIRY_MS },
    { name: 'counted from since when that is later', e: entry(), since: T, want: T + HEARTBEAT_EXPIRY_MS },
    { name: 'a not-ready entry: none', e: entry({ ready: false }), since: 0, want: undefined },
    { name: 'no heartbeat: none', e: entry({ lastUpdateTime: undefined }), since: 0, want: undefined },
    { name: 'heartbeats not judged (expiry Infinity): none', e: entry(), since: 0, expiry: Infinity, want: undefined },
  ])('$name', ({ e, since, want, ...o }) => {
    expect(heartbeatDeadline(e, { since, expiryMs: ('expiry' in o ? o.expiry : undefined) ?? HEARTBEAT_EXPIRY_MS })).toBe(want);
  });
});

describe('withoutHeartbeats: which PLB events the operator reconciles', () => {
  const entryAt = (t: string, ready = true) => ({ pod: 'web-lb-1', node: 'n1', podIP: '10.244.0.9', ready, backends: 2, lastUpdateTime: t });
  const plbWith = (rv: string, entries: ReturnType<typeof entryAt>[], generation = 1, vip = '192.0.2.10') => ({
    metadata: { name: 'web', namespace: 'shop', resourceVersion: rv, generation, managedFields: [{ manager: rv }] },
    spec: { vip, ports: [{ port: 80 }] },
    status: { vip, loadBalancers: entries },
  });
  const base = plbWith('1', [entryAt('2026-12-03T08:00:00Z')]);
  test.each([
    ['a heartbeat: only lastUpdateTime (and resourceVersion, managedFields) moved', plbWith('2', [entryAt('2026-12-03T08:00:30Z')]), true],
    ['the entry turned not ready', plbWith('2', [entryAt('2026-12-03T08:00:30Z', false)]), false],
    ['an entry came or went', plbWith('2', []), false],
    ['a new generation', plbWith('2', [entryAt('2026-12-03T08:00:00Z')], 2), false],
    ['the status changed otherwise', plbWith('2', [entryAt('2026-12-03T08:00:00Z')], 1, '192.0.2.11'), false],
  ])('%s -> same: %s', (_name, next, same) => {
    expect(withoutHeartbeats(next) === withoutHeartbeats(base)).toBe(same);
  });
  test('a PLB without status', () => {
    expect(withoutHeartbeats({ metadata: { name: 'a' }, spec: {} })).toBe(withoutHeartbeats({ metadata: { name: 'a', resourceVersion: '9' }, spec: {} }));
  });
  test('is a digest of the same size for any PLB, not its content (the operator keeps one per PLB)', () => {
    const many = plbWith('1', Array.from({ length: 50 }, (_, i) => ({ ...entryAt('2026-12-03T08:00:00Z'), pod: `web-lb-${i}` })));
    expect(withoutHeartbeats(base)).toHaveLength(43);
    expect(withoutHeartbeats(many)).toHaveLength(43);
    expect(withoutHeartbeats(many)).not.toBe(withoutHeartbeats(base));
  });
});
