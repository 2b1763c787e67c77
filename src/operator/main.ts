#!/usr/bin/env node
// The operator process: wiring only. Flags override environment variables (which the Helm chart sets).
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parseDuration } from '../runtime/duration.js';
import { createLogger } from '../runtime/log.js';
import { startTelemetry } from '../telemetry/metrics.js';
import { Controller } from './controller.js';
import { ServiceController } from './service/controller.js';
import { resetConnections, shareConnections } from '../runtime/connections.js';

const env = process.env;
const { values: flags } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'metrics-bind-address': { type: 'string', default: env['METRICS_BIND_ADDRESS'] ?? ':8080' },
    'leader-elect': { type: 'boolean', default: env['LEADER_ELECT'] !== 'false' },
    'leader-election-namespace': { type: 'string', default: env['POD_NAMESPACE'] ?? 'default' },
    'leader-election-id': { type: 'string', default: 'portable-lb-operator' },
    'agent-image': { type: 'string', default: env['AGENT_IMAGE'] ?? 'portable-lb:0.1.0' },
    'agent-image-pull-policy': { type: 'string', default: env['AGENT_IMAGE_PULL_POLICY'] ?? 'IfNotPresent' },
    'agent-log-level': { type: 'string', default: env['AGENT_LOG_LEVEL'] ?? 'info' },
    'leader-elect-lease-duration': { type: 'string', default: '15s' },
    'leader-elect-renew-deadline': { type: 'string', default: '10s' },
    'leader-elect-retry-period': { type: 'string', default: '2s' },
    'resync-seconds': { type: 'string', default: '300' },
    // Every API request, every reconcile pass: a deadline. A pass running longer than --stall-after fails /readyz.
    'request-timeout': { type: 'string', default: '30s' },
    'reconcile-timeout': { type: 'string', default: '120s' },
    'stall-after': { type: 'string', default: '15s' },
    // One trusted tenant: a VIP outside every VIPPool is accepted (each still has one owner). Off: refused.
    'single-tenant': { type: 'boolean', default: env['SINGLE_TENANT'] === 'true' },
    // Services of type LoadBalancer with loadBalancerClass portablelb.io/plb; class-less ones only when asked.
    'service-controller': { type: 'boolean', default: env['SERVICE_CONTROLLER'] !== 'false' },
    'classless-services': { type: 'boolean', default: env['CLASSLESS_SERVICES'] === 'true' },
  },
});

const log = createLogger(env['LOG_LEVEL'] ?? 'info', { component: 'operator' });
const pullPolicy = flags['agent-image-pull-policy'];
if (pullPolicy !== 'Always' && pullPolicy !== 'IfNotPresent' && pullPolicy !== 'Never') {
  log.error('--agent-image-pull-policy must be Always, IfNotPresent or Never', { value: pullPolicy });
  process.exit(2);
}

const durations = (() => {
  try {
    const d = (name: keyof typeof flags) => parseDuration(name, String(flags[name]));
    return {
      leaseDurationMs: d('leader-elect-lease-duration'),
      renewDeadlineMs: d('leader-elect-renew-deadline'),
      retryPeriodMs: d('leader-elect-retry-period'),
      requestTimeoutMs: d('request-timeout'),
      passTimeoutMs: d('reconcile-timeout'),
      stallMs: d('stall-after'),
    };
  } catch (error) {
    log.error((error as Error).message);
    process.exit(2);
  }
})();
// client-go's rule: a leader must give up before a standby may take over.
if (durations.renewDeadlineMs >= durations.leaseDurationMs || durations.retryPeriodMs >= durations.renewDeadlineMs) {
  log.error('need --leader-elect-retry-period < --leader-elect-renew-deadline < --leader-elect-lease-duration', durations);
  process.exit(2);
}

const kc = new KubeConfig();
if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
else kc.loadFromDefault(); // KUBECONFIG, ~/.kube/config, or the in-cluster service account
shareConnections(kc); // kept-alive connections: client-node alone makes a TLS handshake per request

const telemetry = await startTelemetry('portable-lb-operator');
const identity = `${env['POD_NAME'] ?? hostname()}_${process.pid}`;
const services = flags['service-controller']
  ? new ServiceController({ kubeConfig: kc, log, classless: flags['classless-services'], resyncMs: Number(flags['resync-seconds']) * 1000 })
  : undefined;
const controller = new Controller({
  kubeConfig: kc,
  log,
  settings: { agentImage: flags['agent-image'], imagePullPolicy: pullPolicy, agentLogLevel: flags['agent-log-level'] },
  resyncMs: Number(flags['resync-seconds']) * 1000,
  systemNamespace: env['POD_NAMESPACE'] ?? flags['leader-election-namespace'],
  singleTenant: flags['single-tenant'],
  // One Lease for both controllers: the Service controller writes only while this replica leads.
  onLeadership: (leading) => services?.setLeading(leading),
  requestTimeoutMs: durations.requestTimeoutMs,
  passTimeoutMs: durations.passTimeoutMs,
  stallMs: durations.stallMs,
  userAgent: `portable-lb-operator (${identity})`,
  ...(flags['leader-elect']
    ? {
        leaderElection: {
          namespace: flags['leader-election-namespace'],
          name: flags['leader-election-id'],
          identity,
          leaseDurationMs: durations.leaseDurationMs,
          renewDeadlineMs: durations.renewDeadlineMs,
          retryPeriodMs: durations.retryPeriodMs,
        },
      }
    : {}),
  // As controller-runtime does: a replica that lost its Lease exits, and its restart campaigns again from scratch.
  // Its connections are reset first: a write held by a partition is discarded, not delivered when it heals.
  onLeadershipLost: () => {
    log.error('exiting: leadership lost', { identity, connectionsReset: resetConnections() });
    process.exit(1);
  },
});

const [host, port] = (() => {
  const addr = flags['metrics-bind-address'];
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i) || '0.0.0.0', Number(addr.slice(i + 1))] as const;
})();
const server = createServer((req, res) => {
  const path = req.url?.split('?')[0];
  if (path === '/metrics') return telemetry.metricsHandler(req, res);
  if (path === '/healthz' || path === '/readyz') {
    const { live, ready } = controller.health();
    const v = path === '/healthz' ? live : ready;
    if (path === '/readyz' && v.ok && services && !services.ready) return void res.writeHead(503).end('Service controller caches not synced\n');
    return void res.writeHead(v.ok ? 200 : 503).end(`${v.message}\n`);
  }
  res.writeHead(404).end();
});
server.listen(port, host, () => {
  const a = server.address();
  log.info('serving /healthz /readyz /metrics', { address: typeof a === 'object' && a ? `${a.address}:${a.port}` : String(a) });
});

// A network error must never end the process: the informers restart themselves; log anything else that slips.
process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: String(reason) }));

services?.start();
controller.start();
log.info('operator started', { identity, leaderElection: flags['leader-elect'], agentImage: flags['agent-image'], singleTenant: flags['single-tenant'], services: flags['service-controller'] ? (flags['classless-services'] ? 'class and class-less' : 'class portablelb.io/plb') : 'off' });

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    void (async () => {
      await controller.stop();
      await services?.stop();
      await telemetry.shutdown().catch(() => undefined);
      server.close();
      process.exit(0);
    })();
  });
}
