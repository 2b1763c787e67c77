// `plb-agent node-routes`: the node-level part of nextHopMode NodeIP, run as a DaemonSet (hostNetwork; NET_ADMIN
// for the routes, NET_BIND_SERVICE and NET_RAW for BIRD's BGP and BFD sockets; reads Pods on its node, its Node,
// PortableLoadBalancers, BGPPeers and the password Secrets those name; writes only its sessions into the PLBs'
// status.nodeSessions, status.ts). It keeps the node's `VIP via <LB pod IP>` routes (routes.ts), its speaker's
// announcements (announce.ts, speaker.ts) and its status entries equal to what the cluster says, after every
// change, every session change and every 30 s; nothing is removed before every cache has synced,
// so a restart never drops a route that should stay.
import type { RequestListener } from 'node:http';
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { APP_NAME, LABEL_NAME, PLB } from '../api/constants.js';
import { BGPPeerGVK, type BGPPeer, type PortableLoadBalancer } from '../api/generated.js';
import type { PasswordLookup } from '../operator/bgp-peers.js';
import { describeApiError } from '../runtime/kube.js';
import { watchResource } from '../runtime/informer.js';
import { healthAddresses, listenAll, type HttpServers } from '../agent/http.js';
import { KernelRoutes } from './kernel-routes.js';
import { renderNodeMetrics } from './metrics.js';
import { desiredNodeRoutes, nextDrainEnd, routeChanges, type NodeRoute } from './routes.js';
import { NodeSpeaker } from './speaker.js';
import { nodeSessionReports, ownEntries } from './status.js';
import { NodeStatusWriter } from './status-writer.js';
import { shareConnections } from '../runtime/connections.js';

export const isNodeRoutesMode = (argv: readonly string[]): boolean => argv[0] === 'node-routes';

export async function runNodeRoutes(env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<void> {
  const node = env['NODE_NAME'];
  if (!node) throw new Error('NODE_NAME is not set: the DaemonSet sets it from spec.nodeName');
  const kc = new KubeConfig();
  kc.loadFromDefault();
  shareConnections(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const kernel = new KernelRoutes();
  let timer: NodeJS.Timeout | undefined;
  /** The next end of a deleted LB pod's drain, when its next hop goes without an API event. */
  let drainTimer: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void sync(), 100);
  };
  const labelSelector = `${LABEL_NAME}=${APP_NAME}`;
  const fieldSelector = `spec.nodeName=${node}`;
  const onLifecycle = (what: string) => (event: string, error?: unknown) => {
    if (event === 'error') log(`watch of ${what} failed, restarting: ${describeApiError(error)}`);
  };
  const pods = watchResource<V1Pod>(kc, {
    path: '/api/v1/pods', labelSelector, fieldSelector, onLifecycle: onLifecycle('Pod'),
    list: () => core.listPodForAllNamespaces({ labelSelector, fieldSelector }),
  }, schedule);
  const nodes = watchResource<V1Node>(kc, {
    path: '/api/v1/nodes', fieldSelector: `metadata.name=${node}`, onLifecycle: onLifecycle('Node'),
    list: () => core.listNode({ fieldSelector: `metadata.name=${node}` }),
  }, schedule);
  const peers = watchResource<BGPPeer>(kc, {
    path: `/apis/${BGPPeerGVK.group}/${BGPPeerGVK.version}/${BGPPeerGVK.plural}`, onLifecycle: onLifecycle('BGPPeer'),
    list: () => custom.listClusterCustomObject({ group: BGPPeerGVK.group, version: BGPPeerGVK.version, plural: BGPPeerGVK.plural }) as never,
  }, schedule);
  const nodeIPs = (env['HOST_IPS'] ?? env['HOST_IP'] ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  // A session or BFD change is reported at once (a sync, which ends with the status report), not at the next repair.
  const speaker = nodeIPs.length > 0 ? new NodeSpeaker({ nodeIPs, dir: env['PLB_NODE_SPEAKER_DIR'] ?? '/run/plb-node-speaker', log, onChange: () => schedule() }) : undefined;
  const statusWriter = speaker ? new NodeStatusWriter({ kubeConfig: kc, node, log }) : undefined;
  if (!speaker) log('HOST_IP is not set: no BGP speaker on this node (NodeIP peers get no session from it)');
  /** The passwords NodeIP peers name, read for this pass (the API is asked only for those). */
  const passwords = async (wanted: readonly BGPPeer[]): Promise<PasswordLookup> => {
    const got = new Map<string, { value: string } | { problem: string }>();
    for (const p of wanted) {
      const ref = p.spec.passwordSecretRef;
      if (p.spec.nextHopMode !== 'NodeIP' || !ref) continue;
      const key = `${ref.namespace}/${ref.name}/${ref.key ?? 'password'}`;
      if (got.has(key)) continue;
      try {
        const secret = await core.readNamespacedSecret({ namespace: ref.namespace, name: ref.name });
        const data = secret.data?.[ref.key ?? 'password'];
        got.set(key, data ? { value: Buffer.from(data, 'base64').toString('utf8') } : { problem: `no key ${ref.key ?? 'password'}` });
      } catch (error) {
        got.set(key, { problem: describeApiError(error) });
      }
    }
    return (ref) => got.get(`${ref.namespace}/${ref.name}/${ref.key ?? 'password'}`) ?? { problem: 'not read' };
  };
  const plbs = watchResource<PortableLoadBalancer>(kc, {
    path: `/apis/${PLB.group}/${PLB.version}/${PLB.plural}`, onLifecycle: onLifecycle('PortableLoadBalancer'),
    list: () => custom.listClusterCustomObject({ group: PLB.group, version: PLB.version, plural: PLB.plural }) as never,
  }, schedule);

  let running = false;
  let again = false;
  let routes: readonly NodeRoute[] = [];
  let syncs = 0;
  let syncErrors = 0;
  const sync = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    if (!pods.synced || !plbs.synced || !nodes.synced || !peers.synced) return;
    running = true;
    try {
      if (speaker) {
        const self = nodes.list()[0];
        await speaker.sync({ name: node, ...(self?.metadata?.labels ? { labels: self.metadata.labels } : {}) }, pods.list(), plbs.list(), peers.list(), await passwords(peers.list()))
          .catch((error: Error) => log(`bgp: ${error.message}`));
      }
      const now = Date.now();
      const want = desiredNodeRoutes(node, pods.list(), plbs.list(), now);
      const drainEnd = nextDrainEnd(node, pods.list(), plbs.list(), now);
      clearTimeout(drainTimer);
      if (drainEnd !== undefined) drainTimer = setTimeout(schedule, drainEnd - now + 50);
      const { install, remove } = routeChanges(want, await kernel.list());
      for (const r of install) {
        await kernel.install(r);
        log(`route ${r.dst} via ${r.via.join(', ')}`);
      }
      for (const dst of remove) {
        await kernel.remove(dst);
        log(`route ${dst} removed (no LB pod of it on ${node} any more)`);
      }
      routes = want;
      if (speaker && statusWriter) {
        const held = ownEntries(node, plbs.list());
        await statusWriter.report(held, nodeSessionReports({
          node, pods: pods.list(), plbs: plbs.list(), peers: peers.list(), configured: speaker.configured,
          sessions: speaker.sessions, previous: held, now: new Date(),
        }));
      }
      syncs++;
    } catch (error) {
      syncErrors++;
      log(`sync failed (retried in 30 s or on the next change): ${(error as Error).message}`);
    } finally {
      running = false;
      // A change that arrived while this pass ran (a session that came up) gets its own pass.
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const repair = setInterval(() => void sync(), 30_000);
  const servers = await serveNodeMetrics(nodeIPs, Number(env['PLB_NODE_METRICS_PORT'] ?? 9096), () => renderNodeMetrics({
    sessions: speaker?.sessions ?? [], vipsByPeer: speaker?.vipsByPeer ?? new Map(), routes, syncs, syncErrors,
  }), log);
  log(`node routes for ${node}: VIP via LB pod for the LB pods on this node (protocol 233)`);
  const stop = () => {
    clearInterval(repair);
    clearTimeout(timer);
    clearTimeout(drainTimer);
    // The routes stay: the LB pods keep forwarding while this component restarts. BIRD's Cease withdraws this
    // node's VIPs at once (a restart announces them again in about a second).
    for (const s of servers) s.close();
    // The sessions end with BIRD: this node's entries leave the PLBs (bounded, a gone API server must not hold the exit).
    const held = ownEntries(node, plbs.list());
    void Promise.all([pods.stop(), plbs.stop(), nodes.stop(), peers.stop(), speaker?.stop(), statusWriter?.removeAll(held)]).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * /metrics on the node's addresses and loopback (healthAddresses: never a wildcard), where Prometheus scrapes a
 * hostNetwork pod. Port 0 turns it off. An address that cannot be bound is logged, not fatal: the routes and the
 * speaker matter more.
 */
async function serveNodeMetrics(nodeIPs: readonly string[], port: number, render: () => string, log: (m: string) => void): Promise<HttpServers[]> {
  if (!Number.isInteger(port) || port <= 0) return [];
  const handler: RequestListener = (req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(render());
  };
  const addresses = healthAddresses(nodeIPs);
  const served: HttpServers[] = [];
  for (const host of addresses) {
    await listenAll(handler, [host], port).then(
      (s) => void served.push(s),
      (error: Error) => log(`metrics: cannot listen on ${host}:${port}: ${error.message}`),
    );
  }
  if (served.length > 0) log(`metrics on port ${port} (${addresses.join(', ')})`);
  return served;
}
