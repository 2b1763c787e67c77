// One kept-alive HTTPS connection pool per API server credentials, for every API client made from a KubeConfig.
// @kubernetes/client-node 1.4 builds a new https.Agent for every request (KubeConfig.applySecurityAuthentication),
// so every request opened a new TCP connection, parsed the client key into a new TLS context and did a full TLS
// handshake: measured on the operator reconciling 1000 PLBs, ~40 of its 77 s of CPU were TLS context creation
// and handshakes (SecureContext/setKey/getPeerCertificate), and the backlog drained at 7 PLBs/s.
import { Agent } from 'node:https';
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';

/** Enough for a reconcile's parallel writes plus the status patches; more would only load the API server. */
const MAX_SOCKETS = 16;
/** Credentials rotate (exec plugins, token files): the pool of older credentials is closed after this many. */
const MAX_POOLS = 4;

type AgentOptions = Agent['options'];

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
      pool = new Agent({ ...made.options, keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS });
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
