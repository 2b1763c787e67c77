// Pods at scale for the backend-scale bench: N pods bound to one node, made Running and Ready the way a kubelet
// reports them (status subresource: phase, pod IPs, the five conditions, a container status), and single pods
// flipped between ready and not ready. Pods are shaped like kubelet-managed ones (labels, a named container port,
// resources, a probe, a container status) so that what a watcher holds per pod is realistic, not a stub.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

export const NODE = 'scale-node';
const CONCURRENCY = 40;

/** The i-th pod's addresses: 10.200.0.0/16 and fd00:200::/64 (documentation-style, never routed anywhere). */
export function podAddresses(i: number): { ip: string; ip6: string } {
  const n = i + 1;
  return { ip: `10.${200 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`, ip6: `fd00:200::${n.toString(16)}` };
}

function pod(i: number, labels: Record<string, string>): V1Pod {
  return {
    metadata: { name: `web-${i}`, labels: { ...labels, 'pod-template-hash': '5d8f7c9b4' }, annotations: { 'scale.bench/index': String(i) } },
    spec: {
      nodeName: NODE,
      automountServiceAccountToken: false,
      containers: [{
        name: 'web',
        image: 'registry.invalid/web:1.0',
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
      }],
    },
  };
}

function readyStatus(i: number, ready: boolean, since: Date): V1Pod['status'] {
  const { ip, ip6 } = podAddresses(i);
  const cond = (type: string, status: boolean) => ({ type, status: status ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: since }) as never;
  return {
    phase: 'Running',
    hostIP: '10.199.0.1',
    podIP: ip,
    podIPs: [{ ip }, { ip: ip6 }],
    startTime: since,
    conditions: [cond('PodReadyToStartContainers', true), cond('Initialized', true), cond('Ready', ready), cond('ContainersReady', ready), cond('PodScheduled', true)],
    containerStatuses: [{
      name: 'web', ready, restartCount: 0, image: 'registry.invalid/web:1.0', imageID: 'registry.invalid/web@sha256:' + '0'.repeat(64),
      containerID: `containerd://${i.toString(16).padStart(64, '0')}`, started: true, state: { running: { startedAt: since } },
    }],
  };
}

async function pool<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

export class ScalePods {
  readonly #core: CoreV1Api;
  readonly #ready = new Map<number, boolean>();

  constructor(kc: KubeConfig, private readonly namespace: string, private readonly labels: Record<string, string>) {
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  /** The node the pods are bound to (Ready, so the node controller leaves them alone). */
  async createNode(): Promise<void> {
    await this.#core.createNode({ body: { metadata: { name: NODE } } });
    await this.heartbeat();
  }

  async heartbeat(): Promise<void> {
    const now = new Date();
    await this.#core.patchNodeStatus({
      name: NODE,
      body: { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'ScaleBench', message: 'bench stand-in', lastHeartbeatTime: now, lastTransitionTime: now }] } },
    }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
  }

  /** Creates pods 0..n-1 and makes each Running and Ready; `progress` is called every 1000 pods. */
  async createReady(n: number, progress: (done: number) => void): Promise<void> {
    const ids = Array.from({ length: n }, (_, i) => i);
    let done = 0;
    await pool(ids, async (i) => {
      await this.#core.createNamespacedPod({ namespace: this.namespace, body: pod(i, this.labels) });
      await this.setReady(i, true);
      if (++done % 1000 === 0) progress(done);
    });
  }

  /** Writes pod i's status as its kubelet would when its readiness probe changes. */
  async setReady(i: number, ready: boolean): Promise<void> {
    // A strategic merge patch of the status, as the kubelet sends (conditions merge by type).
    await this.#core.patchNamespacedPodStatus({
      namespace: this.namespace,
      name: `web-${i}`,
      body: { status: readyStatus(i, ready, new Date()) },
    }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    this.#ready.set(i, ready);
  }

  readyCount(): number {
    return [...this.#ready.values()].filter(Boolean).length;
  }
}
