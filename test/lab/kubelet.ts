// A stand-in for the kubelet of the lab's two nodes, kept small: it binds every pod to a node (no scheduler
// runs: the LB pods of one PLB are spread over the nodes, as their anti-affinity asks), runs each pod as processes
// in its own network namespace, restarts a container whose process died (restartPolicy Always), materialises
// Secret volumes, and writes back what a kubelet would: phase, pod IP, readiness (from the container's readiness
// probe), and the final delete once the processes are gone.
// Container images are not run: a container whose command is `plb-agent` runs this checkout's agent with the
// pod's environment; any other container runs a small HTTP/UDP backend on its first container port.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../src/api/constants.js';
import { watchResource } from '../../src/runtime/informer.js';
import type { LabNode, PodNetwork } from './pod-network.js';
import { PodVolumes } from './pod-volumes.js';
import { spawnInNs } from './sh.js';

interface Running {
  ns: string;
  ip: string;
  node: LabNode;
  procs: ChildProcess[];
  /** The running process of each container, by container name. */
  containers: Map<string, ChildProcess>;
  ready: boolean;
  probe: { port: number; path: string } | undefined;
  stopping: boolean;
  restarts: number;
  volumes: PodVolumes;
}

export interface KubeletOptions {
  kc: KubeConfig;
  net: PodNetwork;
  repoRoot: string;
  logDir: string;
  /** A kubeconfig for a pod's service account, reachable from inside the pod. */
  podKubeconfig(pod: V1Pod): Promise<string>;
  log(message: string): void;
  /** Pods that go on the overlay network behind their node (pod-network.ts) instead of the router's segment. */
  overlay?(pod: V1Pod): boolean;
}

export class Kubelet {
  readonly #o: KubeletOptions;
  readonly #core: CoreV1Api;
  readonly #pods = new Map<string, Running>();
  readonly #busy = new Set<string>();
  /** The newest event per key that arrived while that key was being handled; handled right after. */
  readonly #next = new Map<string, { pod: V1Pod; deleted: boolean }>();
  /** Pods bound so far, per node name: spreading for the stand-in scheduler. */
  readonly #bound = new Map<string, V1Pod[]>();
  /** When each pod's readiness last turned true (epoch ms), by namespace/name. */
  readonly readyAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #stop: (() => Promise<void>) | undefined;

  constructor(o: KubeletOptions) {
    this.#o = o;
    this.#core = o.kc.makeApiClient(CoreV1Api);
  }

  async start(): Promise<void> {
    for (const n of this.#o.net.nodes) {
      await this.#core.createNode({ body: { metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name } } } });
    }
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
      void this.#refreshSecrets();
      if (++tick % 10 === 0) void this.#heartbeat();
    }, 500);
  }

  async #heartbeat(): Promise<void> {
    const now = new Date();
    for (const n of this.#o.net.nodes) {
      await this.#core
        .patchNodeStatus(
          {
            name: n.name,
            body: {
              status: {
                addresses: [{ type: 'InternalIP', address: n.ip }],
                conditions: [{ type: 'Ready', status: 'True', reason: 'LabKubelet', message: 'lab stand-in', lastHeartbeatTime: now, lastTransitionTime: now }],
              },
            },
          },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        )
        .catch(() => undefined);
    }
  }

  /** The stand-in scheduler: the node with the fewest pods of the same PLB (LB pods) or of any kind. */
  #chooseNode(pod: V1Pod): LabNode {
    const plb = pod.metadata?.labels?.[LABEL_PLB];
    const count = (n: LabNode) => (this.#bound.get(n.name) ?? []).filter((p) => !p.metadata?.deletionTimestamp && (!plb || p.metadata?.labels?.[LABEL_PLB] === plb)).length;
    const nodes = this.#o.net.nodes.filter((n) => Object.entries(pod.spec?.nodeSelector ?? {}).every(([k, v]) => k === 'kubernetes.io/hostname' ? v === n.name : false));
    const candidates = nodes.length > 0 ? nodes : this.#o.net.nodes;
    return [...candidates].sort((a, b) => count(a) - count(b))[0]!;
  }

  node(name: string): LabNode | undefined {
    return this.#o.net.nodes.find((n) => n.name === name);
  }

  /** A running pod's namespace, IP and node (for scenario steps that act on one). */
  pod(namespace: string, name: string): { ns: string; ip: string; node: LabNode } | undefined {
    const r = this.#pods.get(`${namespace}/${name}`);
    return r && { ns: r.ns, ip: r.ip, node: r.node };
  }

  /** SIGKILLs every process of a pod (the agent and the speaker's BIRD); the kubelet restarts the containers. */
  async killProcesses(namespace: string, name: string): Promise<void> {
    const r = this.#pods.get(`${namespace}/${name}`);
    if (!r) throw new Error(`no running pod ${namespace}/${name}`);
    for (const p of [...r.procs]) p.kill('SIGKILL');
  }

  /** A container restart (not a pod deletion): SIGTERM, wait, start again. The pod's namespace stays. */
  async restartContainer(namespace: string, name: string, container = 'agent'): Promise<void> {
    const p = this.#pods.get(`${namespace}/${name}`)?.containers.get(container);
    if (!p) throw new Error(`no running container ${container} in ${namespace}/${name}`);
    await stopProcess(p);
  }

  /** The PID of a container's running process (undefined while it is not running). */
  containerPid(namespace: string, name: string, container = 'agent'): number | undefined {
    const p = this.#pods.get(`${namespace}/${name}`)?.containers.get(container);
    return p && p.exitCode === null && p.signalCode === null ? p.pid : undefined;
  }

  /**
   * SIGKILLs one container's process (a crash, the OOM killer) and waits for it to end; the kubelet then starts
   * the container again in the same pod, as restartPolicy Always does. The pod's other containers keep running.
   */
  async killContainer(namespace: string, name: string, container = 'agent'): Promise<void> {
    const p = this.#pods.get(`${namespace}/${name}`)?.containers.get(container);
    if (!p || p.exitCode !== null || p.signalCode !== null) throw new Error(`no running container ${container} in ${namespace}/${name}`);
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }

  async #refreshSecrets(): Promise<void> {
    for (const r of this.#pods.values()) await r.volumes.refresh();
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
      if (!this.node(pod.spec?.nodeName ?? '')) return;
      const running = this.#pods.get(key);
      if (deleted || pod.metadata?.deletionTimestamp) {
        const list = this.#bound.get(pod.spec?.nodeName ?? '') ?? [];
        this.#bound.set(pod.spec?.nodeName ?? '', list.filter((p) => p.metadata?.name !== pod.metadata?.name || p.metadata?.namespace !== pod.metadata?.namespace));
        return await this.#terminate(key, pod, running, deleted);
      }
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
    const node = this.#chooseNode(pod);
    const list = this.#bound.get(node.name) ?? [];
    this.#bound.set(node.name, [...list.filter((p) => p.metadata?.name !== name), pod]);
    return this.#core.createNamespacedPodBinding({
      name,
      namespace,
      body: { metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node.name } },
    });
  }

  async #run(key: string, pod: V1Pod): Promise<void> {
    const node = this.node(pod.spec!.nodeName!)!;
    const { ns, ip } = await this.#o.net.addPod(key, node, this.#o.overlay?.(pod) ?? false);
    const volumes = new PodVolumes(this.#core, pod, join(this.#o.logDir, 'volumes', key.replace('/', '_')));
    const running: Running = { ns, ip, node, procs: [], containers: new Map(), ready: false, probe: undefined, stopping: false, restarts: 0, volumes };
    this.#pods.set(key, running);
    const log = join(this.#o.logDir, `${key.replace('/', '_')}.log`);
    for (const container of pod.spec!.containers) {
      const env = await this.#env(pod, container, ip, node);
      volumes.mapEnv(container, env);
      let args: string[];
      if (container.command?.[0] === 'plb-agent') {
        env['KUBECONFIG'] = await this.#o.podKubeconfig(pod);
        await volumes.refresh();
        // The pod's /sys/fs/bpf is the host's bpffs (the Deployment mounts it by hostPath); here: the lab's bpffs.
        const bpffs = process.env['PLB_LAB_BPFFS'];
        const agent = [process.execPath, join(this.#o.repoRoot, 'dist/src/agent/main.js'), ...(container.args ?? [])];
        args = bpffs ? ['sh', '-c', `mount --bind ${bpffs} /sys/fs/bpf && exec "$@"`, 'sh', ...agent] : agent;
        const probe = container.readinessProbe?.httpGet;
        const port = container.ports?.find((p) => p.name === probe?.port)?.containerPort ?? Number(probe?.port);
        running.probe = { port, path: probe?.path ?? '/readyz' };
      } else if (container.name === 'speaker') {
        // The LB pod's BIRD: the image's command runs as it is (bird is installed on lab machines).
        args = [...(container.command ?? []), ...(container.args ?? [])];
      } else {
        const port = container.ports?.[0]?.containerPort ?? 8080;
        args = [process.execPath, join(this.#o.repoRoot, 'test/dataplane/support/backend-server.mjs'), pod.metadata!.name!, String(port), String(port)];
        running.probe = { port, path: '/' };
      }
      const start = (): ChildProcess => {
        const child = spawnInNs(ns, args, env, log);
        running.containers.set(container.name, child);
        running.procs.push(child);
        // restartPolicy Always: a container whose process ends is started again (the pod and its kernel state stay).
        child.once('exit', () => {
          running.procs = running.procs.filter((p) => p !== child);
          if (running.stopping || this.#pods.get(key) !== running) return;
          running.restarts++;
          this.#o.log(`kubelet: ${key}: container ${container.name} exited, restarting it (restart ${running.restarts})`);
          start();
        });
        return child;
      };
      start();
    }
    await this.#writeStatus(pod, running);
    this.#o.log(`kubelet: started ${key} (${ip})`);
  }

  /** The pod's environment as the kubelet resolves it: values and downward-API fields. */
  async #env(pod: V1Pod, c: V1Container, ip: string, node: LabNode): Promise<NodeJS.ProcessEnv> {
    const fields: Record<string, string> = {
      'metadata.name': pod.metadata?.name ?? '',
      'metadata.namespace': pod.metadata?.namespace ?? '',
      // The agent pins its maps per pod UID and sweeps its gone siblings' pins by it (src/agent/kubernetes/pins.ts).
      'metadata.uid': pod.metadata?.uid ?? '',
      'status.podIP': ip,
      'status.hostIP': node.ip,
      'spec.nodeName': node.name,
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
      if (ok) this.readyAt.set(key, Date.now());
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
          hostIP: r.node.ip,
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
      await this.#o.net.removePod(key);
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
    for (const r of this.#pods.values()) r.stopping = true;
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
