// `plb-agent node-routes`: the node-level part of nextHopMode NodeIP, run as a DaemonSet (hostNetwork, only
// NET_ADMIN; reads Pods on its node and PortableLoadBalancers, writes nothing to the API). It keeps the node's
// `VIP via <LB pod IP>` routes (routes.ts) equal to what the cluster says, after every change and every 30 s;
// nothing is removed before both caches have synced, so a restart never drops a route that should stay.
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { APP_NAME, LABEL_NAME, PLB } from '../api/constants.js';
import type { PortableLoadBalancer } from '../api/generated.js';
import { describeApiError } from '../runtime/kube.js';
import { watchResource } from '../runtime/informer.js';
import { KernelRoutes } from './kernel-routes.js';
import { desiredNodeRoutes, routeChanges } from './routes.js';
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
  const plbs = watchResource<PortableLoadBalancer>(kc, {
    path: `/apis/${PLB.group}/${PLB.version}/${PLB.plural}`, onLifecycle: onLifecycle('PortableLoadBalancer'),
    list: () => custom.listClusterCustomObject({ group: PLB.group, version: PLB.version, plural: PLB.plural }) as never,
  }, schedule);

  let running = false;
  const sync = async (): Promise<void> => {
    if (running || !pods.synced || !plbs.synced) return;
    running = true;
    try {
      const want = desiredNodeRoutes(node, pods.list(), plbs.list());
      const { install, remove } = routeChanges(want, await kernel.list());
      for (const r of install) {
        await kernel.install(r);
        log(`route ${r.dst} via ${r.via.join(', ')}`);
      }
      for (const dst of remove) {
        await kernel.remove(dst);
        log(`route ${dst} removed (no LB pod of it on ${node} any more)`);
      }
    } catch (error) {
      log(`sync failed (retried in 30 s or on the next change): ${(error as Error).message}`);
    } finally {
      running = false;
    }
  };
  const repair = setInterval(() => void sync(), 30_000);
  log(`node routes for ${node}: VIP via LB pod for the LB pods on this node (protocol 233)`);
  const stop = () => {
    clearInterval(repair);
    clearTimeout(timer);
    // The routes stay: the LB pods keep forwarding while this component restarts.
    void Promise.all([pods.stop(), plbs.stop()]).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
