// The e2e provider for hack/cluster: real nodes in namespaces on this machine. The suite runs in the control
// plane's network namespace (`make e2e` starts jest there), so kubectl and helm reach the apiserver directly;
// the client, the router and the nodes are reached with nsenter, the nodes' processes by the PIDs in the
// cluster's state file.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { daemonProcsFile } from '../../../hack/cluster/cgroups.js';
import { readState, type ClusterState } from '../../../hack/cluster/cluster.js';
import { defaultDir, LAN_CIDR } from '../../../hack/cluster/plan.js';
import { nodePaths } from '../../../hack/cluster/render.js';
import { FrrRouter, routeNextHops } from '../../support/frr-router.js';
import type { Provider } from '../provider.js';

const exec = promisify(execFile);
const run = async (cmd: string, args: string[]) => (await exec(cmd, args, { maxBuffer: 16 << 20 })).stdout;
const net = (ns: string) => `--net=/run/netns/${ns}`;

export function loadClusterState(): ClusterState {
  const dir = process.env['PLB_CLUSTER_DIR'] || defaultDir(process.env['PLB_CLUSTER_PREFIX'] || 'plbc-');
  const state = readState(dir);
  if (!state) throw new Error(`no hack/cluster state in ${dir}: bring the cluster up first (make e2e does)`);
  return state;
}

export function clusterProvider(image: string): Provider {
  const state = loadClusterState();
  const { plan } = state;
  const node = (name: string) => {
    const n = plan.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`${name} is not a node of ${plan.prefix}`);
    return n;
  };
  const hops = (ips: string[]) => ips.flatMap((ip) => ['nexthop', 'via', ip]);
  const replace = async (ns: string, vip: string, via: string[]) => {
    if (via.length > 0) await run('ip', ['-n', ns, 'route', 'replace', `${vip}/32`, ...hops(via)]);
    else await run('ip', ['-n', ns, 'route', 'del', `${vip}/32`]).catch(() => undefined);
  };
  return {
    name: 'cluster',
    image,
    nodeIps: async () => Object.fromEntries(plan.nodes.map((n) => [n.name, n.ip])),
    routeOnNode: async (name, vip, podIps) => {
      await replace(node(name).name, vip, podIps);
      // Without an LB pod here the VIP must fail on this node, not bounce back out of its default route.
      await run('ip', ['-n', name, 'route', 'replace', 'unreachable', `${vip}/32`, 'metric', '1000']);
    },
    routeUpstream: (vip, nodeIps) => replace(plan.router.ns, vip, nodeIps),
    vipHops: (where, vip) => routeNextHops(where === 'upstream' ? plan.router.ns : node(where.node).name, `${vip}/32`),
    // This machine's node binary, in the client's namespace.
    clientNode: (args) => ['nsenter', net(plan.client.ns), process.execPath, ...args],
    pins: async (name) => {
      const out = await run('nsenter', [`--mount=${nodePaths(node(name)).mountNs}`, 'find', '/sys/fs/bpf', '-path', '*/portable-lb/*']);
      return out.split('\n').filter(Boolean).sort();
    },
    ipvsMissing: async () => {
      // /proc/net/ip_vs is per network namespace and exists once IPVS is in the kernel (built in or loaded).
      const has = await run('nsenter', [net(plan.nodes[0]!.name), 'test', '-e', '/proc/net/ip_vs']).then(() => true, () => false);
      if (has) return undefined;
      const release = (await run('uname', ['-r'])).trim();
      return `the nodes' kernel ${release} has no IPVS (no /proc/net/ip_vs${existsSync('/proc/config.gz') ? '; see CONFIG_IP_VS in /proc/config.gz' : ''})`;
    },
    killContainer: async (name, containerId) => {
      await run('ctr', ['--address', nodePaths(node(name)).containerdSocket, '--namespace', 'k8s.io', 'tasks', 'kill', '--signal', 'SIGKILL', containerId]);
    },
    killNode: async (name) => {
      for (const d of state.daemons.filter((x) => x.host === name && (x.name === 'kubelet' || x.name === 'containerd'))) {
        try {
          process.kill(d.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await run('ip', ['-n', plan.router.ns, 'link', 'set', node(name).routerPort, 'down']);
    },
    bgpMissing: async () => (existsSync('/usr/lib/frr/bgpd') ? undefined : 'FRR is not installed (bash hack/install-bgp-deps.sh)'),
    startBgp: async ({ asn, lbAsn, bfd }) => {
      const router = await FrrRouter.start({
        netns: plan.router.ns, name: `${plan.prefix}frr`, asn, routerId: plan.router.lanIp,
        // NodeIP peers are the nodes' own speakers (node-routes), on the router's lan: single hop, single-hop BFD.
        listenRanges: [LAN_CIDR], remoteAs: lbAsn, bfd, logDir: plan.dir,
        // In the control plane's cgroup: hack/cluster/down.sh kills it with the cluster if a run dies.
        launch: ['/bin/sh', '-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', daemonProcsFile(plan.controlPlane.ns)],
      });
      return { peerAddress: plan.router.lanIp, router };
    },
    cleanup: async (vip) => {
      await replace(plan.router.ns, vip, []);
      for (const n of plan.nodes) {
        await replace(n.name, vip, []);
        await run('ip', ['-n', n.name, 'route', 'del', 'unreachable', `${vip}/32`, 'metric', '1000']).catch(() => undefined);
      }
    },
  };
}
