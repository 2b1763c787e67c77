// A stand-in for the kubelet, kept small: it binds every pod to the lab's one node (no scheduler runs), runs
// each pod as processes in its own network namespace, and writes back what a kubelet would: phase, pod IP,
// readiness (from the container's readiness probe), and the final delete once the processes are gone.
// Container images are not run: a container whose command is `plb-agent` runs this checkout's agent with the
// pod's environment; any other container runs a small HTTP/UDP backend on its first container port.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { watchResource } from '../../src/runtime/informer.js';
import type { PodNetwork } from './pod-network.js';
import { spawnInNs } from './sh.js';

export const NODE_NAME = 'lab-node';

interface Running {
  ns: string;
  ip: string;
  procs: ChildProcess[];
  ready: boolean;
  probe: { port: number; path: string } | undefined;
  stopping: boolean;
}

export interface KubeletOptions {
  kc: KubeConfig;
  net: PodNetwork;
  repoRoot: string;
  logDir: string;
  /** A kubeconfig for a pod's service account, reachable from inside the pod. */
  podKubeconfig(pod: V1Pod): Promise<string>;
  log(message: string): void;
}

export class Kubelet {
  readonly #o: KubeletOptions;
  readonly #core: CoreV1Api;
  readonly #pods = new Map<string, Running>();
  readonly #busy = new Set<string>();
  /** The newest event per key that arrived while that key was being handled; handled right after. */
  readonly #next = new Map<string, { pod: V1Pod; deleted: boolean }>();
  #timer: NodeJS.Timeout | undefined;
  #stop: (() => Promise<void>) | undefined;

  constructor(o: KubeletOptions) {
    this.#o = o;
    this.#core = o.kc.makeApiClient(CoreV1Api);
  }

  async start(): Promise<void> {
    await this.#core.createNode({ body: { metadata: { name: NODE_NAME, labels: { 'kubernetes.io/hostname': NODE_NAME } } } });
    await this.#heartbeat();
    const watch = watchResource<V1Pod>(
      this.#o.kc,
      { path: '/api/v1/pods', list: () => this.#core.listPodForAllNamespaces() },
      (e) => void this.#handle(e.object, e.type === 'DELETED'),
    );
    this.#stop = () => watch.stop();
    // Readiness probes and the node heartbeat that keeps the node controller from evicting our pods.
    let tick = 0;
    this.#timer = setInterval(() => {
      void this.#probeAll();
      if (++tick % 10 === 0) void this.#heartbeat();
    }, 500);
  }

  async #heartbeat(): Promise<void> {
    const now = new Date();
    await this.#core
      .patchNodeStatus(
        {
          name: NODE_NAME,
          body: {
            status: {
              conditions: [{ type: 'Ready', status: 'True', reason: 'LabKubelet', message: 'lab stand-in', lastHeartbeatTime: now, lastTransitionTime: now }],
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      )
      .catch(() => undefined);
  }

  async #handle(pod: V1Pod, deleted: boolean): Promise<void> {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    if (this.#busy.has(key)) {
      this.#next.set(key, { pod, deleted });
      return;
    }
    this.#busy.add(key);
    try {
      if (!pod.spec?.nodeName && !deleted) {
        await this.#bind(pod);
        return;
      }
      if (pod.spec?.nodeName !== NODE_NAME) return;
      const running = this.#pods.get(key);
      if (deleted || pod.metadata?.deletionTimestamp) return await this.#terminate(key, pod, running, deleted);
      if (!running) await this.#run(key, pod);
    } catch (error) {
      this.#o.log(`kubelet: ${key}: ${(error as Error).message}`);
    } finally {
      this.#busy.delete(key);
      const next = this.#next.get(key);
      this.#next.delete(key);
      if (next) void this.#handle(next.pod, next.deleted);
    }
  }

  #bind(pod: V1Pod): Promise<unknown> {
    const { name = '', namespace = '' } = pod.metadata ?? {};
    return this.#core.createNamespacedPodBinding({
      name,
      namespace,
      body: { metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: NODE_NAME } },
    });
  }

  async #run(key: string, pod: V1Pod): Promise<void> {
    const container = pod.spec!.containers[0]!;
    const { ns, ip } = await this.#o.net.addPod(key);
    const running: Running = { ns, ip, procs: [], ready: false, probe: undefined, stopping: false };
    this.#pods.set(key, running);
    const log = join(this.#o.logDir, `${key.replace('/', '_')}.log`);
    if (container.command?.[0] === 'plb-agent') {
      const env = await this.#env(pod, container, ip);
      env['KUBECONFIG'] = await this.#o.podKubeconfig(pod);
      // The pod's /sys/fs/bpf is the host's bpffs (the Deployment mounts it by hostPath); here: the lab's bpffs.
      const bpffs = process.env['PLB_LAB_BPFFS'];
      const agent = [process.execPath, join(this.#o.repoRoot, 'dist/src/agent/main.js'), ...(container.args ?? [])];
      const args = bpffs ? ['sh', '-c', `mount --bind ${bpffs} /sys/fs/bpf && exec "$@"`, 'sh', ...agent] : agent;
      running.procs.push(spawnInNs(ns, args, env, log));
      const probe = container.readinessProbe?.httpGet;
      const port = container.ports?.find((p) => p.name === probe?.port)?.containerPort ?? Number(probe?.port);
      running.probe = { port, path: probe?.path ?? '/readyz' };
    } else {
      const port = container.ports?.[0]?.containerPort ?? 8080;
      const server = join(this.#o.repoRoot, 'test/dataplane/support/backend-server.mjs');
      running.procs.push(spawnInNs(ns, [process.execPath, server, pod.metadata!.name!, String(port), String(port)], {}, log));
      running.probe = { port, path: '/' };
    }
    await this.#writeStatus(pod, running);
    this.#o.log(`kubelet: started ${key} (${ip})`);
  }

  /** The pod's environment as the kubelet resolves it: values and downward-API fields. */
  async #env(pod: V1Pod, c: V1Container, ip: string): Promise<NodeJS.ProcessEnv> {
    const fields: Record<string, string> = {
      'metadata.name': pod.metadata?.name ?? '',
      'metadata.namespace': pod.metadata?.namespace ?? '',
      'status.podIP': ip,
      'spec.nodeName': NODE_NAME,
    };
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    for (const e of c.env ?? []) env[e.name] = e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath ?? ''] ?? '';
    return env;
  }

  async #probeAll(): Promise<void> {
    for (const [key, r] of this.#pods) {
      if (r.stopping || !r.probe) continue;
      const ok = await fetch(`http://${r.ip}:${r.probe.port}${r.probe.path}`, { signal: AbortSignal.timeout(1000) })
        .then((res) => res.ok)
        .catch(() => false);
      if (ok === r.ready) continue;
      r.ready = ok;
      const [namespace = '', name = ''] = key.split('/');
      const pod = await this.#core.readNamespacedPod({ namespace, name }).catch(() => undefined);
      if (pod) await this.#writeStatus(pod, r).catch(() => undefined);
    }
  }

  #writeStatus(pod: V1Pod, r: Running): Promise<unknown> {
    const now = new Date();
    const ready = r.ready ? 'True' : 'False';
    return this.#core.replaceNamespacedPodStatus({
      namespace: pod.metadata!.namespace!,
      name: pod.metadata!.name!,
      body: {
        ...pod,
        status: {
          phase: 'Running',
          podIP: r.ip,
          podIPs: [{ ip: r.ip }],
          hostIP: '10.243.255.1',
          startTime: pod.status?.startTime ?? now,
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
            { type: 'Initialized', status: 'True', lastTransitionTime: now },
            { type: 'ContainersReady', status: ready, lastTransitionTime: now },
            { type: 'Ready', status: ready, lastTransitionTime: now },
          ],
        },
      },
    });
  }

  async #terminate(key: string, pod: V1Pod, r: Running | undefined, deleted: boolean): Promise<void> {
    if (r && !r.stopping) {
      r.stopping = true;
      const graceMs = 1000 * (pod.spec?.terminationGracePeriodSeconds ?? 30);
      await Promise.all(r.procs.map((p) => stopProcess(p, graceMs)));
      await this.#o.net.removePod(r.ns);
      this.#pods.delete(key);
      this.#o.log(`kubelet: stopped ${key}`);
    }
    if (!deleted) {
      await this.#core
        .deleteNamespacedPod({ namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, gracePeriodSeconds: 0 })
        .catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#stop?.();
    await Promise.all([...this.#pods.values()].flatMap((r) => r.procs.map((p) => stopProcess(p))));
    this.#pods.clear();
  }
}

/** SIGTERM, then SIGKILL after the pod's grace period, as a kubelet does. */
function stopProcess(p: ChildProcess, graceMs = 30_000): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const kill = setTimeout(() => p.kill('SIGKILL'), graceMs);
    p.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    p.kill('SIGTERM');
  });
}
