// A stand-in for the kubelet of the lab's two nodes, kept small: it binds every pod to a node (no scheduler
// runs: the LB pods of one PLB are spread over the nodes, as their anti-affinity asks), runs each pod as processes
// in its own network namespace, restarts a container whose process died (restartPolicy Always), materialises
// Secret volumes, and writes back what a kubelet would: phase, pod IP, each container's status (running since,
// restart count, the last termination after a restart, readiness: its readiness probe passed since it started, or
// running when it has none), the pod's Ready condition from those (False as soon as a container exits, True again
// once every container is ready; lastTransitionTime moves only on a change), and the final delete once the
// processes are gone.
// Container images are not run: a container whose command is `plb-agent` runs this checkout's agent with the
// pod's environment; any other container runs a small HTTP/UDP backend on its first container port.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException, CoreV1Api, PatchStrategy, setHeaderOptions,
  type KubeConfig, type V1Container, type V1ContainerStateTerminated, type V1Pod,
} from '@kubernetes/client-node';
import { LABEL_PLB } from '../../src/api/constants.js';
import { watchResource } from '../../src/runtime/informer.js';
import { containerStatus, probeReadiness, termination } from './container-status.js';
import type { LabNode, PodNetwork } from './pod-network.js';
import { PodVolumes } from './pod-volumes.js';
import { spawnInNs } from './sh.js';

/** One container as the kubelet reports it (status.containerStatuses). */
interface ContainerRun {
  image: string;
  /** Its readiness probe; without one the container is ready while it runs. */
  probe: { port: number; path: string } | undefined;
  /** Its process, undefined while it is not running (between an exit and the restart). */
  process: ChildProcess | undefined;
  startedAt: Date;
  /** The probe passed since the container last started (or it has none and runs). */
  ready: boolean;
  restartCount: number;
  /** Its terminations, the last one last: state.terminated while it is not running, lastState.terminated after. */
  terminations: V1ContainerStateTerminated[];
}

interface Running {
  ns: string;
  ip: string;
  node: LabNode;
  procs: ChildProcess[];
  /** The running process of each container, by container name. */
  containers: Map<string, ChildProcess>;
  /** What the pod's status says of each container, by container name, in the spec's order. */
  runs: Map<string, ContainerRun>;
  /** The pod's Ready (every container ready), and when it last changed (its condition's lastTransitionTime). */
  ready: boolean;
  readyChanged: Date;
  created: Date;
  /** The pod's status writes, one after the other. */
  writes: Promise<void>;
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
    const now = new Date();
    const running: Running = {
      ns, ip, node, procs: [], containers: new Map(), runs: new Map(), ready: false, readyChanged: now, created: now,
      writes: Promise.resolve(), stopping: false, restarts: 0, volumes,
    };
    this.#pods.set(key, running);
    const log = join(this.#o.logDir, `${key.replace('/', '_')}.log`);
    for (const container of pod.spec!.containers) {
      const env = await this.#env(pod, container, ip, node);
      volumes.mapEnv(container, env);
      let args: string[];
      let probe: ContainerRun['probe'];
      if (container.command?.[0] === 'plb-agent') {
        env['KUBECONFIG'] = await this.#o.podKubeconfig(pod);
        await volumes.refresh();
        // The pod's /sys/fs/bpf is the host's bpffs (the Deployment mounts it by hostPath); here: the lab's bpffs.
        const bpffs = process.env['PLB_LAB_BPFFS'];
        const agent = [process.execPath, join(this.#o.repoRoot, 'dist/src/agent/main.js'), ...(container.args ?? [])];
        args = bpffs ? ['sh', '-c', `mount --bind ${bpffs} /sys/fs/bpf && exec "$@"`, 'sh', ...agent] : agent;
        const http = container.readinessProbe?.httpGet;
        const port = container.ports?.find((p) => p.name === http?.port)?.containerPort ?? Number(http?.port);
        probe = { port, path: http?.path ?? '/readyz' };
      } else if (container.name === 'speaker') {
        // The LB pod's BIRD: the image's command runs as it is (bird is installed on lab machines).
        args = [...(container.command ?? []), ...(container.args ?? [])];
      } else {
        const port = container.ports?.[0]?.containerPort ?? 8080;
        args = [process.execPath, join(this.#o.repoRoot, 'test/dataplane/support/backend-server.mjs'), pod.metadata!.name!, String(port), String(port)];
        probe = { port, path: '/' };
      }
      const run: ContainerRun = { image: container.image ?? '', probe, process: undefined, startedAt: new Date(), ready: false, restartCount: 0, terminations: [] };
      running.runs.set(container.name, run);
      const start = (): ChildProcess => {
        const child = spawnInNs(ns, args, env, log);
        running.containers.set(container.name, child);
        running.procs.push(child);
        Object.assign(run, { process: child, startedAt: new Date(), ready: probe === undefined });
        // restartPolicy Always: a container whose process ends is started again (the pod and its kernel state stay).
        child.once('exit', (code, signal) => {
          const finishedAt = new Date();
          running.procs = running.procs.filter((p) => p !== child);
          if (running.stopping || this.#pods.get(key) !== running) return;
          running.restarts++;
          run.terminations = [...run.terminations.slice(-1), termination(code, signal, run.startedAt, finishedAt)];
          Object.assign(run, { process: undefined, ready: false });
          this.#o.log(`kubelet: ${key}: container ${container.name} exited (${signal ?? `code ${code}`}), restarting it (restart ${running.restarts})`);
          // The pod is not Ready from the exit on: written before the restart (state terminated), then again with
          // the container running (lastState terminated, restartCount up). The first restart is at once (no
          // crash-loop back-off yet); the container is ready again when its probe passes.
          this.#update(key, running);
          run.restartCount++;
          start();
          this.#update(key, running);
        });
        return child;
      };
      start();
    }
    this.#update(key, running);
    await running.writes;
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
      let changed = false;
      for (const run of r.runs.values()) {
        if (r.stopping || !run.probe || !run.process) continue;
        const probed = run.process;
        const ok = await fetch(`http://${r.ip}:${run.probe.port}${run.probe.path}`, { signal: AbortSignal.timeout(1000) })
          .then((res) => res.ok)
          .catch(() => false);
        const next = probeReadiness(ok, run.ready, { same: run.process === probed, dead: !ok && unreaped(probed.pid) });
        if (next === undefined) continue;
        run.ready = next;
        changed = true;
      }
      if (changed) this.#update(key, r);
    }
  }

  /** The pod's Ready from its containers' (a change moves its lastTransitionTime), then its status written. */
  #update(key: string, r: Running): void {
    const ready = [...r.runs.values()].every((c) => c.process !== undefined && c.ready);
    if (ready !== r.ready) {
      r.ready = ready;
      r.readyChanged = new Date();
      if (ready) this.readyAt.set(key, r.readyChanged.getTime());
    }
    const status = this.#status(r);
    r.writes = r.writes.then(() => this.#writeStatus(key, r, status)).catch((e: Error) => this.#o.log(`kubelet: ${key}: status: ${e.message}`));
  }

  /** A status (as it was when taken) over the pod as the API server has it now (read again on a conflict). */
  async #writeStatus(key: string, r: Running, status: NonNullable<V1Pod['status']>): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    for (let attempt = 1; ; attempt++) {
      if (r.stopping) return;
      const pod = await this.#core.readNamespacedPod({ namespace, name });
      if (pod.metadata?.deletionTimestamp) return;
      try {
        await this.#core.replaceNamespacedPodStatus({ namespace, name, body: { ...pod, status: { ...status, startTime: pod.status?.startTime ?? status.startTime } } });
        return;
      } catch (error) {
        if (!(error instanceof ApiException && error.code === 409) || attempt >= 5) throw error;
      }
    }
  }

  /** The pod's status now: its containers in the spec's order. */
  #status(r: Running): NonNullable<V1Pod['status']> {
    const ready = r.ready ? 'True' : 'False';
    const containerStatuses = [...r.runs].map(([name, run]) => containerStatus(name, { ...run, running: run.process !== undefined }));
    return {
      phase: 'Running',
      podIP: r.ip,
      podIPs: [{ ip: r.ip }],
      hostIP: r.node.ip,
      startTime: r.created,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: r.created },
        { type: 'Initialized', status: 'True', lastTransitionTime: r.created },
        { type: 'ContainersReady', status: ready, lastTransitionTime: r.readyChanged },
        { type: 'Ready', status: ready, lastTransitionTime: r.readyChanged },
      ],
      containerStatuses,
    };
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

/** The process has died and waits to be reaped (a zombie), or is gone: /proc/<pid>/stat's state is Z, or no file. */
function unreaped(pid: number | undefined): boolean {
  if (pid === undefined) return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return true;
  }
}
