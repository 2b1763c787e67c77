// The node's routing table, for the routes this component owns (protocol NODE_ROUTE_PROTO), through iproute2.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NODE_ROUTE_PROTO, type NodeRoute } from './routes.js';

const exec = promisify(execFile);

async function ip(args: string[], prefix: readonly string[]): Promise<string> {
  const [cmd = 'ip', ...pre] = [...prefix, 'ip'];
  const { stdout } = await exec(cmd, [...pre, ...args], { timeout: 10_000 });
  return stdout;
}

interface JsonRoute { dst: string; gateway?: string; nexthops?: Array<{ gateway?: string }> }

/** `command`: what runs `ip` (tests put `ip netns exec <ns>` in front). */
export class KernelRoutes {
  constructor(private readonly command: readonly string[] = []) {}

  async list(): Promise<NodeRoute[]> {
    const out: NodeRoute[] = [];
    for (const family of ['-4', '-6']) {
      const routes = JSON.parse((await ip([family, '-j', 'route', 'show', 'proto', String(NODE_ROUTE_PROTO)], this.command)) || '[]') as JsonRoute[];
      for (const r of routes) {
        const via = (r.nexthops ? r.nexthops.map((n) => n.gateway) : [r.gateway]).filter((g): g is string => Boolean(g)).sort();
        const dst = r.dst.includes('/') ? r.dst : `${r.dst}/${family === '-4' ? 32 : 128}`;
        out.push({ dst, via });
      }
    }
    return out;
  }

  async install(r: NodeRoute): Promise<void> {
    const hops = r.via.length === 1 ? ['via', r.via[0]!] : r.via.flatMap((v) => ['nexthop', 'via', v]);
    await ip(['route', 'replace', r.dst, 'proto', String(NODE_ROUTE_PROTO), ...hops], this.command);
  }

  async remove(dst: string): Promise<void> {
    await ip(['route', 'del', dst, 'proto', String(NODE_ROUTE_PROTO)], this.command).catch(() => undefined);
  }
}
