// Shared by the lab's scenario steps: the Lab handle, waiting for Ready with the router agreeing, traffic bursts
// and a steady load of short connections around an action, with the router's next-hop changes lined up.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../src/api/constants.js';
import { findCondition } from '../../src/api/conditions.js';
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import { eventually, repoRoot, type ControlPlane } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import type { FrrRouter } from '../support/frr-router.js';
import type { Kubelet } from './kubelet.js';
import { NAMESPACE, VIP } from './objects.js';
import type { PodNetwork } from './pod-network.js';
import { steadyLoad, type SteadyTally } from './steady-load.js';
import { balanceVerdict } from './balance.js';

const exec = promisify(execFile);

export interface Lab {
  cp: ControlPlane;
  net: PodNetwork;
  say: (m: string) => void;
  logDir: string;
  router: FrrRouter;
  kubelet: Kubelet;
  /** SIGKILLs the operator process and waits until it is gone (a crash: its Lease is not given up). */
  killOperator(): Promise<void>;
  /** Starts a new operator process; its PID (its Lease identity ends in `_<pid>`). */
  startOperator(): Promise<number>;
}

export type Step = (name: string, ok: boolean, detail?: unknown) => boolean;

export interface Tally {
  counts: Record<string, number>;
  failed: number;
}

/** The pod IPs of ready, announcing LB pods, sorted: what the router's next hops must be. */
export const announcing = (p: PortableLoadBalancer): string[] =>
  (p.status?.loadBalancers ?? []).filter((e) => e.ready && e.podIP && (e.sessions ?? []).some((s) => s.announced)).map((e) => e.podIP!).sort();

/** Ready at the current generation, `what` holds, every ready LB pod announces, and the router's next hops are theirs. */
export async function waitReady(lab: Lab, what: (p: PortableLoadBalancer) => boolean, timeoutMs = 120_000): Promise<PortableLoadBalancer> {
  const plbs = plbClient(lab.cp.kubeConfig);
  return eventually(async () => {
    const p = await plbs.get(NAMESPACE, 'web');
    const ready = findCondition(p.status?.conditions, 'Ready');
    if (ready?.status !== 'True' || ready.observedGeneration !== p.metadata?.generation || !what(p)) {
      throw new Error(`not there yet: Ready=${ready?.status} ${ready?.reason}: ${ready?.message}`);
    }
    // Every ready LB pod announcing, and the router agreeing: one that joins later moves connections in flight.
    const want = announcing(p);
    const readyPods = (p.status?.loadBalancers ?? []).filter((e) => e.ready && e.podIP).length;
    if (want.length === 0 || want.length < readyPods || lab.router.hops.join() !== want.join()) {
      throw new Error(`router next hops ${lab.router.hops.join(' ') || 'none'}, announcing LB pods ${want.join(' ') || 'none'}`);
    }
    return p;
  }, timeoutMs, 200);
}

export async function traffic(lab: Lab, requests: number): Promise<Tally> {
  const load = join(repoRoot, 'test/dataplane/support/load.mjs');
  const { stdout } = await exec('ip', ['netns', 'exec', lab.net.client, process.execPath, load, 'http', `http://${VIP}/`, String(requests), '20', 'close']);
  return JSON.parse(stdout.trim().split('\n').pop()!) as Tally;
}

export function printTally(lab: Lab, t: Tally): void {
  const total = Object.values(t.counts).reduce((a, b) => a + b, 0);
  lab.say(`traffic: ${total} responses, ${t.failed} failed`);
  for (const [pod, n] of Object.entries(t.counts).sort()) {
    process.stdout.write(`  ${pod.padEnd(24)} ${String(n).padStart(6)}  ${((100 * n) / total).toFixed(1)}%\n`);
  }
}

/** Every backend answered, within 4.5 standard deviations of the binomial share (balance.ts), nothing failed. */
export function balanced(t: Tally, backends: number, say?: (m: string) => void): boolean {
  const v = balanceVerdict(t.counts, backends, t.failed);
  if (!v.ok) say?.(`not balanced over ${backends}: ${v.problems.join('; ')} (allowed: ${v.expected.toFixed(0)} +- ${v.bound.toFixed(0)})`);
  return v.ok;
}

/** Workers of the steady load; each has at most one connection in flight. */
const LOAD_WORKERS = 4;

export interface UnderLoad<T> {
  result: T | undefined;
  error: string | undefined;
  during: SteadyTally;
  /** Epoch ms when the load was asked for (next-hop changes are printed from here; `during`'s times count from its startedAt). */
  loadStarted: number;
  nextHopChanges: Array<{ at: number; hops: string[] }>;
  /** Failures a next-hop change may cause: the connections in flight whose hash moves, one per worker. */
  inFlightAllowed: number;
  /** RSTs the LB pods' nftables planes sent meanwhile for flows they hold no state for (staleResets). */
  staleResets: number;
}

/**
 * How many RSTs an LB pod's nftables plane has sent for TCP segments of flows it holds no state for (vipChain's
 * vip_stale counter in src/dataplane/nftables/render.ts): what a next-hop change moves to a pod that did not see
 * the handshake. Undefined for a pod without that table (xdp) or one already gone.
 */
export async function podStaleResets(lab: Lab, pod: string): Promise<number | undefined> {
  const ns = lab.kubelet.pod(NAMESPACE, pod)?.ns;
  if (!ns) return undefined;
  try {
    const { stdout } = await exec('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'counter', 'ip', 'portable_lb', 'vip_stale']);
    return (JSON.parse(stdout) as { nftables: Array<{ counter?: { packets: number } }> }).nftables.find((o) => o.counter)?.counter?.packets;
  } catch {
    return undefined;
  }
}

/** podStaleResets of every LB pod of the PLB that has the counter. */
async function staleResets(lab: Lab): Promise<Map<string, number>> {
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  const pods = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${LABEL_PLB}=web` })).items;
  const counts = await Promise.all(pods.map(async (p) => [p.metadata?.name ?? '', await podStaleResets(lab, p.metadata?.name ?? '')] as const));
  return new Map(counts.filter((c): c is readonly [string, number] => c[1] !== undefined));
}

/**
 * Runs `action` under a steady load of short connections, the router following BGP alone. What a next-hop
 * change can still break: connections in flight whose ECMP hash moves to another LB pod, which has no state for
 * them (xdp flow table or conntrack): at most one per worker per change. A failed connect means the router sent
 * a new connection to an LB pod that did not forward it: what announcing only what is true prevents.
 */
export async function underLoad<T>(lab: Lab, what: string, action: () => Promise<T>, settleMs = 1_000): Promise<UnderLoad<T>> {
  const resetsBefore = await staleResets(lab);
  const loadStarted = Date.now();
  const load = await steadyLoad(lab.net.client, `http://${VIP}/`, LOAD_WORKERS, 5);
  const from = lab.router.changes.length;
  let result: T | undefined;
  let error: string | undefined;
  try {
    result = await action();
    await new Promise((r) => setTimeout(r, settleMs));
  } catch (e) {
    error = (e as Error).message;
  }
  const during: SteadyTally = await load.stop();
  const changes = lab.router.changes.slice(from);
  const inFlightAllowed = LOAD_WORKERS * changes.length;
  const resets = [...(await staleResets(lab))].map(([pod, n]) => [pod, n - (resetsBefore.get(pod) ?? 0)] as const).filter(([, n]) => n > 0);
  const staleResetCount = resets.reduce((a, [, n]) => a + n, 0);
  // The load's own clock starts when its process does, a little after loadStarted: failures on the same clock as
  // the next-hop changes.
  const shift = (ms: number) => ((ms + during.startedAt - loadStarted) / 1000).toFixed(2);
  lab.say(`${what}: ${during.total} connection attempts in ${(during.durationMs / 1000).toFixed(1)} s, ` +
    `${during.failed.connect} failed to connect, ${during.failed.inFlight} broke in flight ${JSON.stringify(during.errors)}; ` +
    `${changes.length} next-hop changes (${changes.map((c) => `${((c.at - loadStarted) / 1000).toFixed(2)}s: ${c.hops.join(' ') || 'none'}`).join('; ')}); ` +
    `failures at ${during.failureTimesMs.map(shift).join(', ') || '-'} s; ` +
    `${during.slowConnectTimesMs.length} connects needed a SYN retransmission; ` +
    `${staleResetCount} RSTs from LB pods for flows they hold no state for (${resets.map(([pod, n]) => `${pod} ${n}`).join(', ') || '-'})`);
  return { result, error, during, loadStarted, nextHopChanges: changes, inFlightAllowed, staleResets: staleResetCount };
}

export const survived = (u: UnderLoad<unknown>) => u.during.total > 0 && u.during.failed.connect === 0 && u.during.failed.inFlight <= u.inFlightAllowed;
export const loadDetail = (u: UnderLoad<unknown>) => ({
  attempts: u.during.total, ...u.during.failed, slowConnects: u.during.slowConnectTimesMs.length,
  nextHopChanges: u.nextHopChanges.length, inFlightAllowed: u.inFlightAllowed, staleResets: u.staleResets,
});
