// The overlay half of the lab: a second PLB whose LB pods sit behind their nodes (pod-network.ts overlay: the
// router reaches node addresses only), announced by each node's `plb-agent node-routes` speaker over a NodeIP
// BGPPeer, next hop = the node, and routed on the node to its LB pods. Shown next to the PodIP PLB: both
// next-hop modes on one router. Traffic through the overlay VIP is spread by the router's ECMP over the nodes
// (each connection's source as the backend sees it is the node that forwarded it: the node masquerades its pods'
// egress), then a node's link is cut silently and BFD on the node's session withdraws it.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../src/api/constants.js';
import { findCondition } from '../../src/api/conditions.js';
import { eventually, repoRoot } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import { routeNextHops } from '../support/frr-router.js';
import { balanceVerdict } from './balance.js';
import { NAMESPACE, NETWORK_LABEL, OVERLAY_PLB, OVERLAY_VIP, VIP, overlayPlbSpec } from './objects.js';
import { NODE_IP } from './pod-network.js';
import { inNs, spawnInNs } from './sh.js';
import type { Lab, Step } from './under-load.js';

/** `plb-agent node-routes` in every node's namespace, as the chart's DaemonSet runs it (hostNetwork). */
export function startNodeRoutes(lab: Pick<Lab, 'cp' | 'net' | 'say' | 'logDir'>): ChildProcess[] {
  // The admin's credentials, dialling the API server on node 1's address (reachable from node 2).
  const kc = new KubeConfig();
  kc.loadFromString(lab.cp.kubeConfig.exportConfig());
  const server = `https://${NODE_IP}:${new URL(lab.cp.apiServerUrl).port}`;
  const file = join(lab.logDir, 'node-routes.kubeconfig');
  const cfg = JSON.parse(JSON.stringify({ ...JSON.parse(kc.exportConfig()) })) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of cfg.clusters) c.cluster.server = server;
  writeFileSync(file, JSON.stringify(cfg));
  return lab.net.nodes.map((n) => spawnInNs(n.ns, [process.execPath, join(repoRoot, 'dist/src/agent/main.js'), 'node-routes'], {
    PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', KUBECONFIG: file, NODE_NAME: n.name, HOST_IP: n.ip,
    PLB_NODE_SPEAKER_DIR: join(lab.logDir, `node-speaker-${n.name}`),
  }, join(lab.logDir, `node-routes-${n.name}.log`)));
}

const hopsOf = (lab: Lab, prefix: string) => routeNextHops(lab.net.router, prefix);

async function waitHops(lab: Lab, prefix: string, ok: (h: string[]) => boolean, timeoutMs: number): Promise<{ at: number; hops: string[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hops = await hopsOf(lab, prefix);
    if (ok(hops)) return { at: Date.now(), hops };
    if (Date.now() > deadline) throw new Error(`${prefix}: next hops ${hops.join(' ') || 'none'} after ${timeoutMs} ms`);
    // 50 ms: `ip route show` is cheap; the PodIP steps use the router's event stream instead.
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Requests through the overlay VIP; per backend, and per forwarding node (the source the backend saw). */
function overlayTraffic(lab: Lab, requests: number): { perBackend: Record<string, number>; perNode: Record<string, number>; failed: number } {
  const load = join(repoRoot, 'test/dataplane/support/load.mjs');
  const out = execFileSync('ip', ['netns', 'exec', lab.net.client, process.execPath, load, 'http', `http://${OVERLAY_VIP}/peer`, String(requests), '20', 'close'], { encoding: 'utf8' });
  const t = JSON.parse(out.trim().split('\n').pop()!) as { counts: Record<string, number>; failed: number };
  const perBackend: Record<string, number> = {};
  const perNode: Record<string, number> = {};
  for (const [key, n] of Object.entries(t.counts)) {
    const [backend = key, source = '?'] = key.split(' ');
    perBackend[backend] = (perBackend[backend] ?? 0) + n;
    perNode[source] = (perNode[source] ?? 0) + n;
  }
  return { perBackend, perNode, failed: t.failed };
}

export async function overlay(lab: Lab, step: Step): Promise<boolean> {
  const name = `overlay PLB ${NAMESPACE}/${OVERLAY_PLB} (LB pods behind their nodes, NodeIP): the router's next hops are the nodes, announced by their node-routes speakers; traffic spread over both nodes; a node's link cut is withdrawn by BFD and announced again once the link returns`;
  const plbs = plbClient(lab.cp.kubeConfig);
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  const nodeIps = lab.net.nodes.map((n) => n.ip).sort();
  let detail: Record<string, unknown> = {};
  try {
    const created = Date.now();
    await plbs.create(NAMESPACE, OVERLAY_PLB, overlayPlbSpec, { [NETWORK_LABEL]: 'overlay' });
    const full = await waitHops(lab, `${OVERLAY_VIP}/32`, (h) => h.join() === nodeIps.join(), 120_000);
    // The LB pods leave the NodeIP peer to their nodes, whose speakers report their sessions into
    // status.nodeSessions; Announced counts every LB pod whose node announces.
    const plb = await eventually(async () => {
      const p = await plbs.get(NAMESPACE, OVERLAY_PLB);
      const c = findCondition(p.status?.conditions, 'Announced');
      const reported = (p.status?.nodeSessions ?? []).filter((e) => e.state === 'Established' && e.bfdState === 'Up' && e.announced).map((e) => e.node).sort();
      if (c?.status !== 'True' || c.reason !== 'AllReplicasAnnounced' || reported.join() !== lab.net.nodes.map((n) => n.name).sort().join()) {
        throw new Error(`Announced ${c?.status} ${c?.reason}: ${c?.message}; nodeSessions announced by ${reported.join(', ') || 'none'}`);
      }
      return p;
    }, 30_000, 200);
    lab.say(`overlay: Announced ${findCondition(plb.status?.conditions, 'Announced')?.message}; status.nodeSessions ${JSON.stringify(plb.status?.nodeSessions?.map((e) => `${e.node} ${e.peer} ${e.state}/BFD ${e.bfdState} announced=${e.announced}`))}`);
    const announced = findCondition(plb.status?.conditions, 'Announced');
    const entries = plb.status?.loadBalancers ?? [];
    // The route can come before the stand-in kubelet's next probe sees an LB pod ready (both follow the agent's
    // own "programmed"): wait for that probe, or the latency below is unknown (it was in CI: "readiness unknown").
    const readyAt = await eventually(async () => {
      const at = entries.map((e) => lab.kubelet.readyAt.get(`${NAMESPACE}/${e.pod}`));
      if (entries.length === 0 || at.some((t) => t === undefined)) throw new Error(`the kubelet has not yet seen every LB pod ready: ${JSON.stringify(entries.map((e, i) => [e.pod, at[i] ?? null]))}`);
      return Math.max(...(at as number[]));
    }, 10_000, 100).catch(() => NaN);
    // The operator tells each node session's Established as an Event on the PLB (events.ts sessionEvents), so
    // `kubectl describe plb` shows the nodes' speakers as it shows the LB pods' own sessions.
    const nodeNames = lab.net.nodes.map((n) => n.name).sort();
    const sessionUp = await eventually(async () => {
      const events = (await core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${OVERLAY_PLB}` })).items
        .filter((e) => e.reason === 'BGPSessionUp');
      const named = nodeNames.filter((n) => events.some((e) => e.message?.startsWith(`node ${n}: BGP session to lab-router-nodes `)));
      if (named.join() !== nodeNames.join()) throw new Error(`BGPSessionUp Events name nodes ${named.join(', ') || 'none'} of ${nodeNames.join(', ')}: ${JSON.stringify(events.map((e) => e.message))}`);
      return events.map((e) => e.message);
    }, 15_000, 250).catch((e: Error) => e);
    lab.say(`overlay: ${sessionUp instanceof Error ? `NO BGPSessionUp Event for every node: ${sessionUp.message}` : `Events BGPSessionUp ${JSON.stringify(sessionUp)}`}`);
    const pod = execFileSync('ip', ['-n', lab.net.router, 'route', 'show', OVERLAY_VIP], { encoding: 'utf8' });
    const podIp = execFileSync('ip', ['-n', lab.net.router, 'route', 'show', VIP], { encoding: 'utf8' });
    process.stdout.write(`\n$ ip -n ${lab.net.router} route show ${VIP}          # PodIP: next hop = each LB pod\n${podIp}` +
      `$ ip -n ${lab.net.router} route show ${OVERLAY_VIP}          # NodeIP: next hop = each node, announced by the node\n${pod}`);
    const neighbors = await lab.router.neighbors();
    const nodeSessions = Object.fromEntries(nodeIps.map((ip) => [ip, neighbors[ip] ?? null]));
    // Each node's own /metrics (the chart's nodeRoutes.metricsPort) says the same as the router: its session is
    // Established with BFD Up and announces the overlay VIP.
    const nodeMetrics = Object.fromEntries(await Promise.all(lab.net.nodes.map(async (n) => {
      const text = await inNs(n.ns, ['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:9096/metrics']).catch((e: Error) => e.message);
      const sample = (family: string) => new RegExp(`^${family}\\{[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1];
      return [n.name, { established: sample('plb_bgp_session_established'), bfdUp: sample('plb_bgp_bfd_up'), prefixes: sample('plb_bgp_announced_prefixes') }] as const;
    })));
    const nodeMetricsOk = Object.values(nodeMetrics).every((m) => m.established === '1' && m.bfdUp === '1' && Number(m.prefixes) >= 1);
    lab.say(`overlay: node /metrics ${JSON.stringify(nodeMetrics)}`);
    const lbPodsOnOverlay = entries.map((e) => `${e.pod} ${e.podIP} on ${e.node}`);
    const t = overlayTraffic(lab, 1500);
    const byNode = balanceVerdict(t.perNode, 2, t.failed);
    const byBackend = balanceVerdict(t.perBackend, 2, t.failed);
    lab.say(`overlay: ${OVERLAY_VIP} via ${full.hops.join(', ')} ${full.at - created} ms after the PLB was created (${Number.isFinite(readyAt) ? `${full.at - readyAt} ms after its last LB pod was ready` : 'readiness unknown'}); per node ${JSON.stringify(t.perNode)}, per backend ${JSON.stringify(t.perBackend)}, ${t.failed} failed`);
    detail = { announced: `${announced?.status} ${announced?.reason}`, statusNodeSessions: plb.status?.nodeSessions, sessionUpEvents: sessionUp instanceof Error ? sessionUp.message : sessionUp, hops: full.hops, msAfterCreate: full.at - created, msAfterLastReady: full.at - readyAt, lbPods: lbPodsOnOverlay, nodeSessions, nodeMetrics, perNode: t.perNode, perBackend: t.perBackend, failed: t.failed };
    // A node's link cut (silent): its session's BFD withdraws it. Only the node's own port (its overlay pods are
    // behind it): the PodIP PLB's pods on the segment keep theirs, so the steps after this one are undisturbed.
    const node = lab.net.nodes[1]!;
    const cutAt = Date.now();
    await lab.net.setNodeLink(node, false, true);
    let withdrawnMs: number | undefined;
    try {
      const gone = await waitHops(lab, `${OVERLAY_VIP}/32`, (h) => !h.includes(node.ip), 10_000);
      withdrawnMs = gone.at - cutAt;
    } finally {
      await lab.net.setNodeLink(node, true, true);
    }
    const restored = Date.now();
    // Back once the link returns: judged since 137ca64 explained the one run (2026-12-03) whose node never
    // re-announced in 60 s: the operator's PodNotReady mark on its overlay LB pod stayed until the agent's next
    // heartbeat; now the mark is lifted when the pod is Ready again. 18 lab runs since: back in 1.75-2.11 s.
    const back = await waitHops(lab, `${OVERLAY_VIP}/32`, (h) => h.join() === nodeIps.join(), 20_000).catch(() => undefined);
    const backMs = back ? back.at - restored : undefined;
    lab.say(`overlay: ${node.name}'s link cut: BFD withdrew it from ${OVERLAY_VIP} in ${withdrawnMs} ms; ${backMs !== undefined ? `back ${backMs} ms after the link returned` : 'NOT back within 20 s of the link returning'}`);
    detail = { ...detail, linkCutWithdrawnMs: withdrawnMs, backAfterRestoreMs: backMs ?? 'not within 20 s' };
    const bfdUp = Object.values(nodeSessions).every((s) => s?.state === 'Established' && s.bfd === 'Up');
    const ok = byNode.ok && byBackend.ok && bfdUp && nodeMetricsOk && !(sessionUp instanceof Error) && withdrawnMs !== undefined && withdrawnMs <= 1_500 && backMs !== undefined;
    if (!byNode.ok || !byBackend.ok) lab.say(`overlay: not balanced: ${[...byNode.problems, ...byBackend.problems].join('; ')}`);
    return step(name, ok, detail);
  } catch (error) {
    return step(name, false, { ...detail, error: (error as Error).message });
  } finally {
    await plbs.delete(NAMESPACE, OVERLAY_PLB).catch(() => undefined);
    await eventually(async () => {
      const left = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${LABEL_PLB}=${OVERLAY_PLB}` })).items;
      if (left.length > 0) throw new Error(`${left.length} overlay LB pods left`);
    }, 90_000, 500).catch((e: Error) => lab.say(`overlay: ${e.message}`));
  }
}

export const overlaySteps = { overlay };
