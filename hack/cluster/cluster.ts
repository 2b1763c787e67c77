// up, down, load and status of a real cluster on this machine. The state file (cluster.json in the cluster's
// directory) records the plan and every daemon's PID; teardown needs neither: it finds what a prefix owns
// (namespaces, cgroups and the processes in them, mounts below the directory) even after a crashed `up`.
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cgroupProblem, cgroupsOf, killCgroup, removeCgroup } from './cgroups.js';
import { startControlPlane } from './control-plane.js';
import { alive, logTail, startDaemon, type Daemon } from './daemons.js';
import { inNs, sleep } from './exec.js';
import { unmountBelow } from './mounts.js';
import { createNetwork, existingNamespaces, removeNamespaces } from './network.js';
import { importImage, startNode, writeNodeConfig, type ImageArchive } from './node.js';
import { clusterPlan, ownsName, type ClusterPlan } from './plan.js';
import { createClusterPki, writeKubeconfigs } from './pki.js';
import { MAX_RESTARTS, restartDecision } from './supervise.js';

export interface ClusterState {
  plan: ClusterPlan;
  binDir: string;
  daemons: Array<Daemon & { host: string }>;
  images: ImageArchive[];
  /** Seconds from `up` to every node Ready. */
  upSeconds: number;
}

const MARKER = '.portable-lb-cluster';
export const stateFile = (dir: string): string => join(dir, 'cluster.json');
type Log = (message: string) => void;

export function readState(dir: string): ClusterState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(dir), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

/** kubectl as the admin, from the control plane's namespace (the only place the apiserver's address exists). */
export function kubectl(state: { plan: ClusterPlan; binDir: string }, args: string[], input?: string): Promise<string> {
  return inNs(state.plan.controlPlane.ns, [join(state.binDir, 'kubectl'), `--kubeconfig=${state.plan.adminKubeconfig}`, ...args], input);
}

/** Why the cluster is not healthy, or undefined: every daemon alive and every node Ready. */
export async function problem(state: ClusterState): Promise<string | undefined> {
  const dead = state.daemons.filter((d) => !alive(d.pid));
  if (dead.length > 0) return `not running: ${dead.map((d) => `${d.host}/${d.name}`).join(', ')}`;
  const out = await kubectl(state, ['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']).catch((e: Error) => e.message);
  const ready = out.split('\n').filter((l) => l.endsWith('=True')).length;
  return ready === state.plan.nodes.length ? undefined : `${ready} of ${state.plan.nodes.length} nodes Ready (${out.trim().replaceAll('\n', ', ')})`;
}

export async function down(prefix: string, dir: string, log: Log): Promise<void> {
  const started = Date.now();
  const owns = (name: string) => ownsName(prefix, name);
  const cgroups = cgroupsOf(prefix);
  // SIGKILL: nothing of a test cluster needs a graceful end, and the pods' netns, veths and mounts all go with
  // their namespaces below. (A graceful stop of every daemon in turn took ~23 s for two nodes.)
  const phase = (what: string) => log(`down: ${what} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  await Promise.all(cgroups.map((c) => killCgroup(c)));
  phase(`killed the processes of ${cgroups.length} cgroups`);
  if (existsSync(dir)) await unmountBelow(dir);
  await removeNamespaces(await existingNamespaces(owns));
  phase('unmounted, namespaces deleted');
  for (const c of cgroups) await removeCgroup(c);
  phase('cgroups removed');
  if (existsSync(join(dir, MARKER))) {
    rmSync(dir, { recursive: true, force: true });
    // The parents up created (/var/lib/portable-lb/clusters by default), when no other cluster is left in them.
    for (const parent of [dirname(dir), dirname(dirname(dir))]) {
      try {
        rmdirSync(parent);
      } catch {
        break;
      }
    }
  } else if (existsSync(dir)) log(`left ${dir}: it has no ${MARKER} file, so it was not made by hack/cluster`);
  const leftovers = [...await existingNamespaces(owns), ...cgroupsOf(prefix)];
  if (leftovers.length > 0) throw new Error(`still there after teardown: ${leftovers.join(', ')}`);
  log(`down in ${((Date.now() - started) / 1000).toFixed(1)}s (${cgroups.length} cgroups)`);
}

export interface UpOptions {
  prefix: string;
  nodes: number;
  dir: string;
  binDir: string;
  images: ImageArchive[];
  log: Log;
}

export async function up(o: UpOptions): Promise<ClusterState> {
  const started = Date.now();
  const since = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const bad = cgroupProblem();
  if (bad) throw new Error(bad);
  const plan = clusterPlan(o.prefix, o.nodes, o.dir);
  // containerd's socket path (+ ".ttrpc") must fit a unix socket address (108 bytes).
  const longest = Math.max(...plan.nodes.map((n) => join(n.dir, 'containerd.sock.ttrpc').length));
  if (longest > 100) throw new Error(`${o.dir} is too long a directory: containerd's socket paths would exceed 100 bytes`);
  const existing = readState(o.dir);
  if (existing && existing.plan.nodes.length === o.nodes && !(await problem(existing))) {
    o.log(`already up (${o.dir}); loading the images`);
    await load(existing, o.images, o.log);
    return existing;
  }
  await down(o.prefix, o.dir, o.log);
  mkdirSync(o.dir, { recursive: true });
  writeFileSync(join(o.dir, MARKER), '');
  o.log(`${since()} certificates`);
  const pki = await createClusterPki(plan);
  for (const d of [plan.controlPlane.dir, ...plan.nodes.map((n) => n.dir)]) mkdirSync(d, { recursive: true });
  const kubeconfigs = writeKubeconfigs(plan, pki);
  o.log(`${since()} network: ${plan.namespaces.join(' ')}`);
  await createNetwork(plan);
  o.log(`${since()} control plane: etcd, kube-apiserver (${plan.apiServerUrl}), kube-controller-manager, kube-scheduler`);
  const daemons: ClusterState['daemons'] = [];
  for (const d of await startControlPlane(plan, pki, o.binDir, kubeconfigs)) daemons.push({ ...d, host: plan.controlPlane.ns });
  o.log(`${since()} nodes: containerd, ${o.images.length} images, kubelet, kube-proxy on ${plan.nodes.map((n) => n.name).join(' ')}`);
  await Promise.all(plan.nodes.map(async (node) => {
    writeNodeConfig(plan, node, pki);
    for (const d of await startNode(node, o.binDir, o.images)) daemons.push({ ...d, host: node.name });
  }));
  const state: ClusterState = { plan, binDir: o.binDir, daemons, images: o.images, upSeconds: 0 };
  writeFileSync(stateFile(o.dir), JSON.stringify(state, null, 2));
  await untilReady(state, 180_000, o.log);
  state.upSeconds = Math.round((Date.now() - started) / 100) / 10;
  writeFileSync(stateFile(o.dir), JSON.stringify(state, null, 2));
  o.log(`${since()} ${plan.nodes.length} nodes Ready; admin kubeconfig ${plan.adminKubeconfig} (kubectl: hack/cluster/kubectl.sh)`);
  return state;
}

const daemonKey = (d: { host: string; name: string }): string => `${d.host}/${d.name}`;

/** Waits for every node Ready, starting again a daemon that exits meanwhile (supervise.ts says why and how often). */
async function untilReady(state: ClusterState, timeoutMs: number, log: Log): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const restarts = new Map<string, number>();
  const exitedLog = (d: Daemon) => `last lines of ${d.log}:\n${logTail(d.log, 15)}`;
  for (;;) {
    const dead = state.daemons.filter((d) => !alive(d.pid));
    const decision = restartDecision(dead.map((d) => ({ key: daemonKey(d), restarts: restarts.get(daemonKey(d)) ?? 0 })));
    const gaveUp = dead.filter((d) => decision.exhausted.includes(daemonKey(d)));
    if (gaveUp.length > 0) {
      throw new Error(gaveUp.map((d) => `${daemonKey(d)} exited again after ${MAX_RESTARTS} restarts; ${exitedLog(d)}`).join('\n'));
    }
    for (const d of dead) {
      const n = (restarts.get(daemonKey(d)) ?? 0) + 1;
      log(`${daemonKey(d)} (pid ${d.pid}) exited; starting it again (${n} of ${MAX_RESTARTS}); ${exitedLog(d)}`);
      restarts.set(daemonKey(d), n);
      state.daemons[state.daemons.indexOf(d)] = { ...startDaemon(d.spec), host: d.host };
    }
    if (dead.length > 0) writeFileSync(stateFile(state.plan.dir), JSON.stringify(state, null, 2));
    const why = await problem(state);
    if (why === undefined) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for every node Ready: ${why}\n(logs in ${state.plan.dir}/*/logs)`);
    }
    await sleep(250);
  }
}

/** Imports OCI archives into every node (what `kind load` does), and records them for a later check. */
export async function load(state: ClusterState, images: ImageArchive[], log: Log): Promise<void> {
  for (const image of images) {
    const t = Date.now();
    await Promise.all(state.plan.nodes.map((n) => importImage(n, image)));
    log(`loaded ${image.tar} into ${state.plan.nodes.length} nodes in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  }
  const known = new Set(state.images.map((i) => i.tar));
  state.images.push(...images.filter((i) => !known.has(i.tar)));
  writeFileSync(stateFile(state.plan.dir), JSON.stringify(state, null, 2));
}

/** Used by `status`: the daemons, their PIDs and liveness, and `kubectl get nodes -o wide`. */
export async function status(state: ClusterState): Promise<string> {
  const lines = state.daemons.map((d) => `${d.host.padEnd(16)} ${d.name.padEnd(24)} pid ${String(d.pid).padEnd(8)} ${alive(d.pid) ? 'running' : 'DEAD'}`);
  const nodes = await kubectl(state, ['get', 'nodes', '-o', 'wide']).catch((e: Error) => e.message);
  return [...lines, '', nodes, (await problem(state)) ?? 'healthy'].join('\n');
}

