// One kept-alive HTTPS connection pool per API server credentials, for every API client made from a KubeConfig.
// @kubernetes/client-node 1.4 builds a new https.Agent for every request (KubeConfig.applySecurityAuthentication),
// so every request opened a new TCP connection, parsed the client key into a new TLS context and did a full TLS
// handshake: measured on the operator reconciling 1000 PLBs, ~40 of its 77 s of CPU were TLS context creation
// and handshakes (SecureContext/setKey/getPeerCertificate), and the backlog drained at 7 PLBs/s.
//
// Connections are given up with an RST, never a FIN. A request written while the network is partitioned sits
// unacked in the kernel's send buffer; a FIN close (an aborted request, or process.exit) leaves it there to be
// retransmitted, and it reaches the API server when the partition heals: an operator that lost its Lease wrote
// after the standby took over (leader-partition.test.ts). An RST discards what was not acked.
import { Agent, type RequestOptions } from 'node:https';
import { createHash } from 'node:crypto';
import { connect as tcpConnect, type NetConnectOpts, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';

/** Enough for a reconcile's parallel writes plus the status patches; more would only load the API server. */
const MAX_SOCKETS = 16;
/** Credentials rotate (exec plugins, token files): the pool of older credentials is closed after this many. */
const MAX_POOLS = 4;

type AgentOptions = Agent['options'];

/** The TCP socket under every pooled TLS connection of this process (what resetConnections() resets). */
const open = new Set<Socket>();

/**
 * An https.Agent whose TLS connections run over a TCP socket of its own (a TLSSocket cannot reset; the TCP
 * socket under it can) and whose every destroy (an aborted request, a closed pool) resets that socket first.
 */
class ResettingAgent extends Agent {
  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const tcp = tcpConnect({ ...options, host: options.host ?? 'localhost', port: Number(options.port ?? 443) } as NetConnectOpts);
    open.add(tcp);
    tcp.once('close', () => open.delete(tcp));
    const tls = super.createConnection({ ...options, socket: tcp } as RequestOptions, callback);
    if (tls) {
      const destroy = tls.destroy.bind(tls);
      tls.destroy = (error?: Error) => {
        // Still connecting (in this process's view): nothing was written yet, so the plain close that follows
        // delivers nothing either; resetAndDestroy() would only wait for a connect that no longer comes.
        if (!tcp.destroyed && !tcp.connecting) tcp.resetAndDestroy();
        return destroy(error);
      };
    }
    return tls;
  }
}

/**
 * Resets every pooled API connection of this process: what a partitioned write still holds in the kernel is
 * discarded rather than delivered later. For a replica that lost its leadership, just before it exits.
 * Returns how many were reset.
 */
export function resetConnections(): number {
  const n = open.size;
  for (const tcp of [...open]) if (!tcp.destroyed) (tcp.connecting ? tcp.destroy() : tcp.resetAndDestroy());
  return n;
}

/** What identifies a TLS client: the server it trusts and the identity it presents (not per-request headers). */
function credentialsKey(o: AgentOptions): string {
  const h = createHash('sha256');
  for (const v of [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, String(o.rejectUnauthorized)]) {
    h.update(v === undefined ? '-' : Array.isArray(v) ? v.map(String).join('\n') : String(v)).update('\0');
  }
  return h.digest('hex');
}

/**
 * Makes every API client of `kc` (made before or after) reuse kept-alive connections instead of a fresh TLS
 * connection per request. Proxy agents (cluster.proxyUrl) and plain HTTP are left as client-node makes them.
 * Returns `kc` for chaining.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const pools = new Map<string, Agent>();
  const apply = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (context) => {
    await apply(context);
    const made = context.getAgent();
    // Exactly https.Agent: the proxy agents subclass other agents and must stay as they are.
    if (!(made instanceof Agent) || made.constructor !== Agent) return;
    const key = credentialsKey(made.options);
    let pool = pools.get(key);
    if (!pool) {
      pool = new ResettingAgent({ ...made.options, keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS });
      pools.set(key, pool);
      for (const [old, agent] of pools) {
        if (pools.size <= MAX_POOLS) break;
        agent.destroy();
        pools.delete(old);
      }
    }
    made.destroy();
    context.setAgent(pool);
  };
  return kc;
}
