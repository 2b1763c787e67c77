// /healthz (the process is alive), /readyz (a desired state is programmed, not draining), /metrics (Prometheus text).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataPlane } from '../dataplane/types.js';
import { renderMetrics, type AgentHealth, type BgpMetrics } from './metrics.js';

/** What the endpoints report on: the file agent and the cluster agent both have it. */
export interface HealthSource {
  readonly health: AgentHealth;
  readonly lastError: string | null;
  /** Shutting down (the cluster agent's drain): not ready, whatever the kernel holds. */
  readonly draining?: boolean;
}

export async function serveHttp(
  agent: HealthSource,
  dataPlane: DataPlane,
  host: string,
  port: number,
  bgp?: BgpMetrics,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return reply(200, 'ok\n');
    if (path === '/readyz') {
      if (agent.draining) return reply(503, 'not ready: draining\n');
      return agent.health.ready ? reply(200, 'ready\n') : reply(503, `not ready: ${agent.lastError ?? 'not programmed yet'}\n`);
    }
    if (path === '/metrics') {
      dataPlane.observe()
        .then((obs) => reply(200, renderMetrics(obs, agent.health, bgp), 'text/plain; version=0.0.4; charset=utf-8'))
        .catch((err: Error) => reply(500, `observe failed: ${err.message}\n`));
      return;
    }
    reply(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}
