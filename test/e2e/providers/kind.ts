// The e2e provider for kind (hack/e2e-kind.sh): nodes are Docker containers on the `kind` network, and the
// client outside the nodes is one more container there, from the project's image (it has node), whose route for
// the VIP plays the upstream router.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Provider } from '../provider.js';

const exec = promisify(execFile);
export const docker = async (args: string[]): Promise<string> => (await exec('docker', args, { maxBuffer: 16 << 20 })).stdout.trim();

/** A container's IPv4 address on the kind docker network. */
const kindIp = (container: string) => docker(['inspect', '-f', '{{(index .NetworkSettings.Networks "kind").IPAddress}}', container]);

function gateways(json: string): string[] {
  const routes = JSON.parse(json || '[]') as Array<{ gateway?: string; nexthops?: Array<{ gateway?: string }> }>;
  return routes.flatMap((r) => (r.nexthops ? r.nexthops.map((n) => n.gateway) : [r.gateway])).filter((g): g is string => Boolean(g)).sort();
}

export async function kindProvider(image: string): Promise<Provider> {
  const cluster = process.env['E2E_CLUSTER'];
  if (!cluster) throw new Error('E2E_CLUSTER is not set: run the kind e2e tier through hack/e2e-kind.sh');
  const client = `plb-e2e-client-${cluster}`;
  await docker(['rm', '-f', client]).catch(() => undefined);
  // NET_ADMIN to add the VIP route; L4 multipath hashing so that different connections use different nodes.
  await docker(['run', '-d', '--name', client, '--network', 'kind', '--cap-add', 'NET_ADMIN',
    '--sysctl', 'net.ipv4.fib_multipath_hash_policy=1', '--entrypoint', 'sleep', image, 'infinity']);
  const nodes = async () => (await docker(['ps', '--filter', `label=io.x-k8s.kind.cluster=${cluster}`, '--format', '{{.Names}}'])).split('\n').filter(Boolean);
  return {
    name: 'kind',
    image,
    nodeIps: async () => Object.fromEntries(await Promise.all((await nodes()).map(async (n) => [n, await kindIp(n)] as const))),
    routeOnNode: async (node, vip, podIps) => {
      // kindnet routes each pod IP to its veth with scope host, so the next hop needs its device and `onlink`.
      const hops: string[] = [];
      for (const pod of podIps) {
        const dev = /dev (\S+)/.exec(await docker(['exec', node, 'ip', 'route', 'get', pod]))?.[1];
        if (!dev) throw new Error(`node ${node} has no route to LB pod ${pod}`);
        hops.push('nexthop', 'via', pod, 'dev', dev, 'onlink');
      }
      if (hops.length > 0) await docker(['exec', node, 'ip', 'route', 'replace', `${vip}/32`, ...hops]);
      else await docker(['exec', node, 'ip', 'route', 'del', `${vip}/32`]).catch(() => undefined);
      // Without an LB pod the VIP must fail here, not leak out of the node's default route towards the Docker host.
      await docker(['exec', node, 'ip', 'route', 'replace', 'unreachable', `${vip}/32`, 'metric', '1000']);
    },
    routeUpstream: async (vip, nodeIps) => {
      if (nodeIps.length > 0) await docker(['exec', client, 'ip', 'route', 'replace', `${vip}/32`, ...nodeIps.flatMap((h) => ['nexthop', 'via', h])]);
      else await docker(['exec', client, 'ip', 'route', 'del', `${vip}/32`]).catch(() => undefined);
    },
    vipHops: async (where, vip) => gateways(await docker(['exec', where === 'upstream' ? client : where.node, 'ip', '-j', 'route', 'show', `${vip}/32`])),
    // The image's node, in the client container (-i: the load scripts are stopped through stdin).
    clientNode: (args) => ['docker', 'exec', '-i', client, 'node', ...args],
    pins: async (node) => (await docker(['exec', node, 'find', '/sys/fs/bpf', '-path', '*/portable-lb/*']).catch(() => '')).split('\n').filter(Boolean).sort(),
    ipvsMissing: async () => {
      const [node] = await nodes();
      const has = await docker(['exec', node!, 'sh', '-c', 'test -e /proc/net/ip_vs || test -d /sys/module/ip_vs']).then(() => true, () => false);
      return has ? undefined : 'the Docker host kernel has no IPVS loaded (modprobe ip_vs on the host to test the ipvs data plane)';
    },
    killContainer: async (node, containerId) => {
      await docker(['exec', node, 'ctr', '--namespace', 'k8s.io', 'tasks', 'kill', '--signal', 'SIGKILL', containerId]);
    },
    killNode: async (node) => {
      // Its processes stop at once (kubelet, containerd, the pods), and its network goes: a node that died.
      await docker(['pause', node]);
      await docker(['network', 'disconnect', 'kind', node]);
    },
    // The client container plays the upstream router with static routes; an FRR container is not part of it yet.
    bgpMissing: async () => 'the kind provider has no BGP router in front of the nodes (its client container routes statically)',
    startBgp: () => Promise.reject(new Error('the kind provider has no BGP router')),
    cleanup: async () => {
      await docker(['rm', '-f', client]).catch(() => undefined);
    },
  };
}
