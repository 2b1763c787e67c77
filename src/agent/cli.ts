// Command line of plb-agent. Pure: argv in, options or a usage error out.

export const USAGE = `usage: plb-agent run --file <plb.yaml> [options]
       plb-agent run --kubernetes [--interface <name>]   (in an LB pod; see src/agent/kubernetes/main.ts)
       plb-agent node-routes                              (per node, for BGPPeers with nextHopMode NodeIP; src/node/)

Programs the current network namespace to balance a PortableLoadBalancer's VIP over spec.backends.addresses,
and re-applies whenever the file changes. BGPPeer documents in the same file (multi-document YAML) make the
agent announce the VIP to those routers with BIRD (next hop: the interface's address); on SIGTERM it then
withdraws, keeps forwarding for spec.drainSeconds, and stops.

options:
  --file <path>          the PortableLoadBalancer YAML, optionally with BGPPeer documents (required)
  --interface <name>     the device VIP traffic arrives on (default: the default route's device)
  --pin-dir <path>       bpffs directory for pinned maps (default: /sys/fs/bpf/portable-lb/<metadata.name or "default">)
  --listen <host:port>   /healthz /readyz /metrics (default: 127.0.0.1:9470; port 0 picks one, printed at start).
                         Never the VIP; a wildcard (0.0.0.0, ::) with dataPlane ipvs also answers on the VIP,
                         where the VIP's clients can reach it (a warning says so)
  --detach-on-exit       on SIGTERM/SIGINT remove the program from the interface (default: leave it attached,
                         so traffic keeps flowing while the agent restarts and the next run adopts the state)
`;

export interface AgentOptions {
  file: string;
  interface?: string;
  pinDir?: string;
  listenHost: string;
  listenPort: number;
  detachOnExit: boolean;
}

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): AgentOptions {
  const [command, ...rest] = argv;
  if (command !== 'run') throw new UsageError(command ? `unknown command ${command}` : 'missing command');
  const opts: Partial<AgentOptions> & { detachOnExit: boolean } = { detachOnExit: false };
  // Loopback by default: a wildcard listener of an ipvs agent answers on the VIP (a local address there).
  let listen = '127.0.0.1:9470';
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--file': opts.file = value(); break;
      case '--interface': opts.interface = value(); break;
      case '--pin-dir': opts.pinDir = value(); break;
      case '--listen': listen = value(); break;
      case '--detach-on-exit': opts.detachOnExit = true; break;
      default: throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (!opts.file) throw new UsageError('--file is required');
  const m = /^(.*):(\d+)$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port > 65535) throw new UsageError(`--listen must be host:port, got ${listen}`);
  return { ...opts, file: opts.file, listenHost: m[1], listenPort: port };
}

/**
 * Where --listen would expose the endpoints to the VIP's clients: on the VIP itself (refused), or on a wildcard
 * when the VIP is a local address (ipvs puts it on a dummy device), which answers on VIP:port too (a warning).
 */
export function listenProblem(host: string, vip: string, dataPlane: string): { error?: string; warning?: string } {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === vip) return { error: `--listen ${host}: that is the VIP; /metrics would be served to the VIP's clients` };
  if ((bare === '0.0.0.0' || bare === '::') && dataPlane === 'ipvs') {
    return { warning: `--listen ${host}: with dataPlane ipvs the VIP ${vip} is a local address, so /healthz, /readyz and /metrics answer on it too` };
  }
  return {};
}
