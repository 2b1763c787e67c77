// `plb-agent run --kubernetes`: the agent in an LB pod. Wiring only: the operator's Deployment passes who and
// where the pod is through the downward API (see src/operator/desired.ts).
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AGENT_HEALTH_PORT, BGP_PEERS_DIR } from '../../api/constants.js';
import type { DataPlane, DataPlaneName } from '../../dataplane/types.js';
import { IpvsDataPlane } from '../../dataplane/ipvs/ipvs-dataplane.js';
import { NftablesDataPlane } from '../../dataplane/nftables/nftables-dataplane.js';
import { XdpDataPlane } from '../../dataplane/xdp/xdp-dataplane.js';
import { defaultRouteInterface, primaryAddress } from '../../dataplane/xdp/device.js';
import { Announcer } from '../bgp/announcer.js';
import { healthAddresses, serveHttp } from '../http.js';
import { apiClient } from '../../runtime/deadline.js';
import { ClusterAgent } from './cluster-agent.js';
import { Shutdown, deletionFromLookupFailure, drainSecondsFromEnv } from './shutdown.js';
import { shareConnections } from '../../runtime/connections.js';
import { PIN_ROOT, podPinDir } from './pins.js';
import { podLookup, sweepPins } from './sweep.js';

/** How often an agent removes the pin directories of its Deployment's pods that are gone (and once at start). */
const PIN_SWEEP_MS = 5 * 60_000;

export const isClusterMode = (argv: readonly string[]): boolean => argv[0] === 'run' && argv.includes('--kubernetes');

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new Error(`${name} is not set: the operator's Deployment sets it from the downward API`);
  return v;
}

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** The data plane the pod was started for; a change of spec.dataPlane rolls the pods. */
export function makeDataPlane(name: string, pinDir: string, log: (m: string) => void): DataPlane {
  const known: Record<DataPlaneName, () => DataPlane> = {
    xdp: () => new XdpDataPlane({ pinDir, log }),
    ipvs: () => new IpvsDataPlane({ log }),
    nftables: () => new NftablesDataPlane({ log }),
  };
  const make = known[name as DataPlaneName] as (() => DataPlane) | undefined;
  if (!make) throw new Error(`unknown data plane ${name}: expected xdp, ipvs or nftables`);
  return make();
}

export async function runCluster(argv: readonly string[], env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<void> {
  const namespace = required(env, 'POD_NAMESPACE');
  // Where its PortableLoadBalancer (and its backends) live: a class may run the LB pods in another namespace
  // (the chart's default class: the release namespace), so the operator passes the PLB's own in PLB_NAMESPACE.
  const plbNamespace = env['PLB_NAMESPACE'] || namespace;
  const pod = required(env, 'POD_NAME');
  const plbName = required(env, 'PLB_NAME');
  const iface = flag(argv, '--interface') ?? (await defaultRouteInterface());
  const podIP = env['POD_IP'] || (await primaryAddress(iface, 4));
  // status.podIPs through the downward API: comma-separated, both families on a dual-stack cluster.
  const podIPs = (env['POD_IPS'] ?? '').split(',').filter((ip) => ip !== '');
  const kc = new KubeConfig();
  kc.loadFromDefault(); // in a pod: the service account; in the lab: KUBECONFIG
  shareConnections(kc); // kept-alive connections: client-node alone makes a TLS handshake per request
  // Per pod UID (pins.ts): a container restarted in the same pod (SIGKILL, OOM, liveness) adopts its own pinned
  // maps, so flows survive; a gone pod's are removed by a sibling's sweep.
  const uid = env['POD_UID'] || undefined;
  const pinDir = podPinDir(namespace, pod, uid);
  const dataPlane = makeDataPlane(env['PLB_DATA_PLANE'] ?? 'xdp', pinDir, log);
  const node = env['NODE_NAME'] ?? '';
  let agent: ClusterAgent | undefined;
  // The BGPPeers that serve this PLB arrive as the <plb>-lb-bgp Secret volume (the operator resolves them).
  const announcer = new Announcer({
    podIP, podIPs, node, log, onChange: () => agent?.reportSessions(),
    ...(env['HOST_IP'] ? { nodeIP: env['HOST_IP'] } : {}),
    peersFile: env['PLB_BGP_PEERS_FILE'] || join(BGP_PEERS_DIR, 'peers.json'),
    // PLB_BIRD_DIR: the speaker container runs BIRD there (the Deployment); without it the agent runs BIRD itself.
    ...(env['PLB_BIRD_DIR'] ? { dir: env['PLB_BIRD_DIR'], external: true } : { dir: join(tmpdir(), 'portable-lb', 'bird', namespace, pod) }),
  });
  await announcer.start();
  agent = new ClusterAgent({
    kubeConfig: kc, namespace: plbNamespace, plbName, pod, node, podIP, podIPs, interface: iface, dataPlane, cpuCount: cpus().length, announcer, log,
  });
  agent.start();
  const port = Number(env['HEALTH_PORT'] ?? AGENT_HEALTH_PORT);
  const drainSeconds = drainSecondsFromEnv(env['PLB_DRAIN_SECONDS']);
  // Where probes and scrapes come from (the pod's addresses) and loopback, never the VIP (local on a dummy with ipvs).
  const addresses = healthAddresses([podIP, ...podIPs]);
  const server = await serveHttp(agent, dataPlane, addresses, port, announcer);
  log(`cluster agent for ${plbNamespace}/${plbName} in pod ${namespace}/${pod} (${podIP} on ${iface}); /healthz /readyz /metrics on ` +
    `${addresses.map((a) => (a.includes(':') ? `[${a}]` : a)).join(', ')} port ${port}; ` +
    `drains ${drainSeconds} s when its pod is deleted; pins in ${pinDir}`);

  const shutdown = new Shutdown(
    {
      podDeleting: () => podDeleting(kc, namespace, pod),
      markDraining: () => {
        agent!.draining = true;
      },
      withdraw: () => agent!.withdraw(),
      stopAgent: () => agent!.stop(),
      close: async (remove) => {
        server.close();
        await dataPlane.close(remove ? { detach: true, purge: true } : {});
        // The pod's name directory holds only its UID directory: leave nothing behind.
        if (remove && uid) await rmdir(dirname(pinDir)).catch(() => undefined);
      },
      sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
      now: () => Date.now(),
      log,
    },
    drainSeconds,
  );
  if (uid) {
    const lookup = podLookup(kc, namespace);
    const sweep = () => void sweepPins(join(PIN_ROOT, namespace), { name: pod, uid }, { lookup, log })
      .catch((error: Error) => log(`pin sweep failed (retried in ${PIN_SWEEP_MS / 60_000} min): ${error.message}`));
    sweep();
    setInterval(sweep, PIN_SWEEP_MS).unref();
  } else {
    log('POD_UID is not set (a Deployment from an operator before pins by pod UID): pins by pod name, no pin sweep');
  }
  const onSignal = (signal: string) => void shutdown.signal(signal).then(
    () => process.exit(0),
    (error: Error) => {
      log(`shutdown failed: ${error.message}`);
      process.exit(1);
    },
  );
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

/**
 * A deleted pod takes its kernel state with it; a restarted container keeps it, so flows survive. Gone (404) and
 * revoked credentials (401/403) count as deleted (deletionFromLookupFailure); an API server that does not answer in
 * time is 'unknown': shutdown.ts drains (it must not eat the drain) but keeps the pinned state.
 */
async function podDeleting(kc: KubeConfig, namespace: string, name: string): Promise<boolean | 'unknown'> {
  try {
    const self = await apiClient(kc, CoreV1Api, { timeoutMs: 5_000 }).readNamespacedPod({ namespace, name });
    return Boolean(self.metadata?.deletionTimestamp);
  } catch (error) {
    return deletionFromLookupFailure((error as { code?: number })?.code);
  }
}
