// One LB pod played by the test, for the liveness tests that have no kubelet and no scheduler: a PLB with one
// replica and static backends, its LB pod bound to a Node the test made (Ready), the pod Running and Ready, and
// one report from its agent; after that only the test writes the pod's and node's status (as a kubelet and the
// node controller would) and the agent never reports again, so whatever moves the entry is the operator.
import { expect } from '@jest/globals';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod, type V1PodStatus } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../../src/api/constants.js';
import type { LoadBalancerEntry } from '../../../src/api/status.js';
import { createTestNamespace, eventually, type ControlPlane } from '../harness/index.js';
import { plbClient } from './plb-api.js';

const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

export interface BoundLbPod {
  ns: string;
  node: string;
  pod: V1Pod;
  /** The agent's one report's lastUpdateTime. */
  reportedAt: string;
  /** The pod's entry in status.loadBalancers, as the API server has it now. */
  entry(): Promise<LoadBalancerEntry | undefined>;
  /** Writes the pod's status (strategic merge) as the kubelet would; phase Running. */
  podStatus(status: V1PodStatus): Promise<void>;
  nodeReady(status: 'True' | 'Unknown'): Promise<void>;
  /** Deletes the Node. */
  stop(): Promise<void>;
}

export async function boundLbPod(cp: ControlPlane, prefix: string): Promise<BoundLbPod> {
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const plbs = plbClient(cp.kubeConfig);
  const ns = await createTestNamespace(cp.kubeConfig, prefix);
  const node = `${ns}-n`;
  const nodeReady = async (status: 'True' | 'Unknown') => {
    const now = new Date();
    const reason = status === 'True' ? 'KubeletReady' : 'NodeStatusUnknown';
    await core.patchNodeStatus({ name: node, body: { status: { conditions: [{ type: 'Ready', status, reason, lastHeartbeatTime: now, lastTransitionTime: now }] } } }, smp);
  };
  await core.createNode({ body: { metadata: { name: node } } });
  await nodeReady('True');
  await plbs.create(ns, 'web', { vip: '192.0.2.10', replicas: 1, ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] } });
  const pod = await eventually(async () => {
    const p = (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_PLB}=web` })).items;
    expect(p).toHaveLength(1);
    return p[0]!;
  }, 60_000);
  const name = pod.metadata!.name!;
  const podStatus = async (status: V1PodStatus) => {
    await core.patchNamespacedPodStatus({ namespace: ns, name, body: { status: { phase: 'Running', ...status } } }, smp);
  };
  const entry = async () => (await plbs.get(ns, 'web')).status?.loadBalancers?.find((e) => e.pod === name);
  await core.createNamespacedPodBinding({ namespace: ns, name, body: { metadata: { name }, target: { kind: 'Node', name: node } } });
  await podStatus({ conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date() }] });
  const reportedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await plbs.report(ns, 'web', { pod: name, node, podIP: '10.244.0.5', vip: '192.0.2.10', attach: 'tc', programmedGeneration: 1, backends: 1, ready: true, lastUpdateTime: reportedAt });
  await eventually(async () => expect((await entry())?.ready).toBe(true), 30_000, 100);
  // Ready=False must come more than REPORT_MARGIN_MS (2 s, second precision) after the report to overrule it.
  await new Promise((r) => setTimeout(r, 3500));
  return { ns, node, pod, reportedAt, entry, podStatus, nodeReady, stop: () => core.deleteNode({ name: node }).then(() => undefined) };
}
