// What the operator keeps of a pod (src/operator/cache-shapes.ts), and that every decision made from a pod is the
// same on the slim copy as on the whole pod.
import { describe, expect, it } from '@jest/globals';
import type { KubernetesListObject, KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { countBackends, isLive, isPodReady } from '../../../src/api/selector.js';
import { judgeEntry } from '../../../src/operator/liveness.js';
import { pagedList, slimNode, slimPod, withForeignFieldsOnly, withoutManagedFields } from '../../../src/operator/cache-shapes.js';
import { resolvePeers } from '../../../src/operator/bgp-peers.js';

/** A pod as a kubelet writes it (abridged, but with the bulk that matters: spec, managed fields, statuses). */
function kubeletPod(name: string, o: { ready?: boolean; phase?: string; deleting?: boolean; node?: string } = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      resourceVersion: '42',
      labels: { app: 'web', 'pod-template-hash': 'abc' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-12-01T00:00:00Z' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'rs', controller: true }],
      managedFields: [{ manager: 'kubelet', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } }],
      ...(o.deleting ? { deletionTimestamp: new Date('2026-12-03T08:00:00Z') } : {}),
    },
    spec: {
      nodeName: o.node ?? 'n1',
      containers: [{ name: 'web', image: 'nginx:1', env: [{ name: 'A', value: 'x'.repeat(500) }], ports: [{ containerPort: 80, name: 'http' }] }],
      volumes: [{ name: 'kube-api-access', projected: { sources: [] } }],
    },
    status: {
      phase: o.phase ?? 'Running',
      podIP: '10.244.1.5',
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: new Date('2026-12-03T07:00:00Z') },
        { type: 'ContainersReady', status: 'True' },
      ],
      containerStatuses: [{ name: 'web', ready: true, restartCount: 0, image: 'nginx:1', imageID: 'sha256:abc', state: { running: { startedAt: new Date() } } }],
    },
  };
}

/** An LB pod whose agent exited at 07:59:56 (SIGKILL) and turned the pod not Ready at 07:59:57. */
function restartingLbPod(name: string, where: 'state' | 'lastState'): V1Pod {
  const p = kubeletPod(name, { ready: false });
  const exited = { terminated: { exitCode: 137, reason: 'Error', startedAt: new Date('2026-12-03T07:00:00Z'), finishedAt: new Date('2026-12-03T07:59:56Z'), containerID: 'containerd://abc' } };
  const agent = { name: 'agent', image: 'plb', imageID: 'sha256:a', ready: false, restartCount: where === 'state' ? 0 : 1, containerID: 'containerd://def', started: true };
  return {
    ...p,
    metadata: { ...p.metadata, labels: { 'portablelb.io/name': 'web', 'app.kubernetes.io/name': 'portable-lb' } },
    status: {
      ...p.status,
      conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: new Date('2026-12-03T07:59:57Z') }],
      containerStatuses: [
        where === 'state' ? { ...agent, state: exited } : { ...agent, state: { running: { startedAt: new Date('2026-12-03T07:59:58Z') } }, lastState: exited },
        { name: 'speaker', image: 'plb', imageID: 'sha256:a', ready: true, restartCount: 0, state: { running: { startedAt: new Date('2026-12-03T07:00:00Z') } } },
      ],
    },
  };
}

describe('slimPod', () => {
  const cases = [
    kubeletPod('a'),
    kubeletPod('b', { ready: false }),
    kubeletPod('c', { phase: 'Failed' }),
    kubeletPod('d', { deleting: true }),
    kubeletPod('e', { node: 'n2' }),
    { metadata: { name: 'pending', namespace: 'shop', labels: { app: 'web' } }, spec: { containers: [] }, status: { phase: 'Pending' } } as V1Pod,
    restartingLbPod('f', 'lastState'),
    restartingLbPod('g', 'state'),
  ];

  it.each(cases.map((p) => [p.metadata!.name!, p] as const))('%s: every decision the operator makes from it is the same', (_, pod) => {
    const slim = slimPod(pod);
    expect([isLive(slim), isPodReady(slim)]).toEqual([isLive(pod), isPodReady(pod)]);
    expect(countBackends({ matchLabels: { app: 'web' } }, [slim], () => false)).toEqual(countBackends({ matchLabels: { app: 'web' } }, [pod], () => false));
    const ctx = { now: Date.parse('2026-12-03T08:00:00Z'), since: 0, expiryMs: 90_000, node: () => ({ status: { conditions: [{ type: 'Ready', status: 'True' }] } }) };
    for (const lastUpdateTime of ['2026-12-03T06:00:00Z', '2026-12-03T07:59:50Z']) {
      const entry = { pod: pod.metadata!.name!, ready: true, lastUpdateTime };
      expect(judgeEntry(entry, slim, ctx)).toEqual(judgeEntry(entry, pod, ctx));
    }
    expect([slim.metadata?.labels, slim.metadata?.deletionTimestamp, slim.spec?.nodeName, slim.status?.phase])
      .toEqual([pod.metadata?.labels, pod.metadata?.deletionTimestamp, pod.spec?.nodeName, pod.status?.phase]);
  });

  it('keeps of an LB pod each container\'s exits only (liveness.ts\'s restart grace), of other pods none', () => {
    expect(slimPod(restartingLbPod('f', 'lastState')).status?.containerStatuses).toEqual([
      { name: 'agent', ready: false, restartCount: 1, lastState: { terminated: { exitCode: 137, finishedAt: new Date('2026-12-03T07:59:56Z') } } },
    ]);
    expect(slimPod(restartingLbPod('g', 'state')).status?.containerStatuses).toEqual([
      { name: 'agent', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, finishedAt: new Date('2026-12-03T07:59:56Z') } } },
    ]);
    const backend = restartingLbPod('h', 'lastState');
    expect(slimPod({ ...backend, metadata: { ...backend.metadata, labels: { app: 'web' } } }).status?.containerStatuses).toBeUndefined();
  });

  it('keeps a small fraction of a kubelet-written pod', () => {
    const pod = kubeletPod('a');
    const slim = slimPod(pod);
    expect(slim).toEqual({
      metadata: { name: 'a', namespace: 'shop', uid: 'uid-a', resourceVersion: '42', labels: pod.metadata!.labels },
      spec: { nodeName: 'n1' },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date('2026-12-03T07:00:00Z') }] },
    });
    expect(JSON.stringify(slim).length * 4).toBeLessThan(JSON.stringify(pod).length);
  });
});

describe('slimNode', () => {
  const node = (name: string, ready: string, labels: Record<string, string>) => ({
    metadata: { name, uid: `u-${name}`, resourceVersion: '9', labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { podCIDR: '10.244.1.0/24', taints: [] },
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        { type: 'Ready', status: ready, reason: 'KubeletReady', lastTransitionTime: new Date('2026-12-03T07:00:00Z') },
      ],
      images: Array.from({ length: 50 }, (_, i) => ({ names: [`registry.invalid/image-${i}@sha256:${'0'.repeat(64)}`], sizeBytes: 1e8 })),
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
    },
  });

  it('keeps name, labels and the Ready condition: BGPPeer node selection and liveness decide the same', () => {
    const nodes = [node('n1', 'True', { rack: 'a' }), node('n2', 'Unknown', { rack: 'b' })];
    const slim = nodes.map(slimNode);
    expect(slim[1]).toEqual({
      metadata: { name: 'n2', uid: 'u-n2', resourceVersion: '9', labels: { rack: 'b' } },
      status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'KubeletReady', lastTransitionTime: new Date('2026-12-03T07:00:00Z') }] },
    });
    const plb = { metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 80 }], backends: {} } } as never;
    const peers = [{ metadata: { name: 'tor' }, spec: { peerAddress: '10.0.0.254', peerASN: 64500, myASN: 64512, nodeSelector: { rack: 'a' } } }] as never;
    const resolve = (ns: typeof slim) => resolvePeers(plb, peers, ns, () => ({ problem: 'none' }));
    expect(resolve(slim).config.peers[0]?.nodes).toEqual(['n1']);
    expect(resolve(slim)).toEqual(resolve(nodes));
    const e = { pod: 'lb', ready: true };
    const p = { metadata: { name: 'lb' }, spec: { containers: [], nodeName: 'n2' }, status: { phase: 'Running' } };
    const ctx = (ns: typeof slim) => ({ now: 0, since: 0, expiryMs: 1, node: (n: string) => ns.find((x) => x.metadata?.name === n) });
    expect(judgeEntry(e, p, ctx(slim))).toEqual(judgeEntry(e, p, ctx(nodes)));
    expect(JSON.stringify(slim).length * 10).toBeLessThan(JSON.stringify(nodes).length);
  });
});

describe('pagedList', () => {
  it('reads every page, slims each item, keeps the snapshot resourceVersion and no continue token', async () => {
    const pages: KubernetesListObject<V1Pod>[] = [
      { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '7', _continue: 't1' }, items: [kubeletPod('a'), kubeletPod('b')] },
      { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '7', _continue: 't2' }, items: [kubeletPod('c')] },
      { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '7' }, items: [kubeletPod('d')] },
    ];
    const asked: (string | undefined)[] = [];
    const list = await pagedList(async (cont) => {
      asked.push(cont);
      return pages[asked.length - 1]!;
    }, slimPod);
    expect(asked).toEqual([undefined, 't1', 't2']);
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(list.items[0]).toEqual(slimPod(kubeletPod('a')));
    expect(list.metadata?.resourceVersion).toBe('7');
    expect(list.metadata?._continue).toBeUndefined();
  });

  it('follows the raw JSON\'s metadata.continue too (CustomObjectsApi does not rename it to _continue)', async () => {
    const raw = (cont: string | undefined, names: string[]) =>
      ({ apiVersion: 'portablelb.io/v1alpha1', kind: 'PortableLoadBalancerList', metadata: { resourceVersion: '9', ...(cont ? { continue: cont } : {}) },
        items: names.map((name) => ({ metadata: { name } })) }) as unknown as KubernetesListObject<KubernetesObject>;
    const pages = [raw('t1', ['a', 'b']), raw('t2', ['c', 'd']), raw(undefined, ['e'])];
    const asked: (string | undefined)[] = [];
    const list = await pagedList(async (cont) => {
      asked.push(cont);
      return pages[asked.length - 1]!;
    }, (o) => o);
    expect(asked).toEqual([undefined, 't1', 't2']);
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(list.metadata).toEqual({ resourceVersion: '9', _continue: undefined });
  });
});

describe('managedFields in the caches', () => {
  const entry = (manager: string, subresource?: string) => ({ manager, operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {}, ...(subresource ? { subresource } : {}) });
  it.each([
    { name: 'ours and status updates go, other managers stay', have: [entry('portable-lb-operator'), entry('kube-controller-manager', 'status'), entry('kubectl-edit')], keep: ['kubectl-edit'] },
    { name: 'only ours: none left', have: [entry('portable-lb-operator')], keep: undefined },
    { name: 'none: unchanged', have: undefined, keep: undefined },
  ])('$name', ({ have, keep }) => {
    const obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web-lb', resourceVersion: '3', ...(have ? { managedFields: have } : {}) } };
    const out = withForeignFieldsOnly(obj);
    expect(out.metadata?.managedFields?.map((e) => e.manager)).toEqual(keep);
    expect(out.metadata?.resourceVersion).toBe('3');
  });
  it('a PLB keeps no managedFields at all', () => {
    const obj = { metadata: { name: 'web', resourceVersion: '3', managedFields: [entry('plb-agent/web-lb-a')] }, spec: { vip: '192.0.2.1' } };
    expect(withoutManagedFields(obj)).toEqual({ metadata: { name: 'web', resourceVersion: '3' }, spec: { vip: '192.0.2.1' } });
  });
});
