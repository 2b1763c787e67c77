// /healthz (the process is alive, its sync loop not wedged), /readyz (a desired state is programmed, the sync
// loop not stalled, not draining), /metrics (Prometheus text).
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataPlane } from '../dataplane/types.js';
import { healthVerdicts } from '../runtime/health.js';
import { renderMetrics, type AgentHealth, type BgpMetrics } from './metrics.js';

/**
 * A sync (data-plane apply, status report) runs this long: every command and request in it has a deadline, so
 * it is stuck (readiness fails: routers and the kubelet stop trusting this pod), and this much longer, wedged
 * (liveness fails: the kubelet restarts the container, which keeps its kernel state).
 */
export const SYNC_STALL_MS = 20_000;
export const SYNC_WEDGE_MS = 60_000;

/** What the endpoints report on: the file agent and the cluster agent both have it. */
export interface HealthSource {
  readonly health: AgentHealth;
  readonly lastError: string | null;
  /** Shutting down (the cluster agent's drain): not ready, whatever the kernel holds. */
  readonly draining?: boolean;
  /** How long the sync in progress has been running, ms (0 when none runs). */
  syncRunningMs?(): number;
}

/**
 * Where an LB pod's agent serves: its pod addresses, where the kubelet's probes and Prometheus' scrapes come to,
 * and loopback (kubectl port-forward, exec). Never the wildcard: with ipvs the VIP is a local address of the pod
 * (on a dummy device), and a wildcard listener would answer /metrics on the VIP to anyone who can reach it.
 */
export function healthAddresses(podIPs: readonly string[], vips: readonly string[] = []): string[] {
  const never = new Set(['', '0.0.0.0', '::', ...vips]);
  const ips = podIPs.filter((ip) => !never.has(ip));
  // ::1 only where the pod has IPv6 (binding it fails on a kernel or pod without IPv6)
  const loopback = ['127.0.0.1', ...(ips.some((ip) => ip.includes(':')) ? ['::1'] : [])];
  return [...new Set([...ips, ...loopback])];
}

export interface HttpServers {
  servers: Server[];
  port: number;
  close(): void;
}

export async function serveHttp(
  agent: HealthSource,
  dataPlane: DataPlane,
  hosts: string | readonly string[],
  port: number,
  bgp?: BgpMetrics,
): Promise<HttpServers> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    const running = agent.syncRunningMs?.() ?? 0;
    const { live, ready } = healthVerdicts({
      synced: true,
      passes: running > 0 ? [{ key: 'sync', runningMs: running, abandoned: false }] : [],
      stallMs: SYNC_STALL_MS,
      wedgeMs: SYNC_WEDGE_MS,
    });
    if (path === '/healthz') return live.ok ? reply(200, 'ok\n') : reply(503, `not live: ${live.message}\n`);
    if (path === '/readyz') {
      if (agent.draining) return reply(503, 'not ready: draining\n');
      if (!ready.ok) return reply(503, `not ready: ${ready.message}\n`);
      return agent.health.ready ? reply(200, 'ready\n') : reply(503, `not ready: ${agent.lastError ?? 'not programmed yet'}\n`);
    }
    if (path === '/metrics') {
      dataPlane.observe()
        .then((obs) => reply(200, renderMetrics(obs, agent.health, bgp), 'text/plain; version=0.0.4; charset=utf-8'))
        .catch((err: Error) => reply(500, `observe failed: ${err.message}\n`));
      return;
    }
    reply(404, 'not found\n');
  };
  return listenAll(handler, typeof hosts === 'string' ? [hosts] : hosts, port);
}

/**
 * One server per address, all on one port: the first picks it when asked for any (0), the others take the same.
 * Throws (with every server closed) when an address cannot be bound. Shared by the LB pod's agent and the node's
 * node-routes (src/node/main.ts).
 */
export async function listenAll(handler: RequestListener, hosts: readonly string[], port: number): Promise<HttpServers> {
  if (hosts.length === 0) throw new Error('no address to serve on');
  const servers: Server[] = [];
  const listen = async (host: string, p: number): Promise<number> => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, host, resolve);
    });
    return (server.address() as AddressInfo).port;
  };
  const close = () => servers.forEach((s) => s.close());
  try {
    const bound = await listen(hosts[0]!, port);
    for (const host of hosts.slice(1)) await listen(host, bound);
    return { servers, port: bound, close };
  } catch (error) {
    close();
    throw error;
  }
}
