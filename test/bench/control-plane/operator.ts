// Operator reconcile throughput and memory against a real kube-apiserver + etcd (the integration harness).
// N PLBs are created while no operator runs; then the built operator starts and works the backlog. Throughput =
// N / (time from its start until every PLB's status.observedGeneration is its generation). RSS is read from /proc
// after convergence, peak from VmHWM. The caller owns the control plane (main.ts: the rest of a real cluster, M
// unrelated pods, and the operator's peer share it).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { createTestNamespace, repoRoot, type ControlPlane } from '../../integration/harness/index.js';
import { freePort } from '../../integration/harness/ports.js';
import { PLB, plbClient } from '../../integration/support/plb-api.js';
import type { PortableLoadBalancer } from '../../../src/api/generated.js';
import type { OperatorNumbers } from '../report/types.js';
import { chartNodeOptions } from './chart-values.js';
import { plbConverged } from './converged.js';
import { ScalePods } from './pods.js';
import { cpuSeconds, memory } from './proc-stats.js';

/** Creates in flight at once while a bench makes its backlog (here and peer.ts). */
export const CREATE_CONCURRENCY = 20;

/** The i-th PLB's VIP: distinct for up to 65 000 PLBs, never ending in .0 or .255 (the CRD refuses those). */
export function benchVip(i: number): string {
  return `10.200.${Math.floor(i / 254)}.${(i % 254) + 1}`;
}

/** M pods no PLB selects (kubelet-shaped, Running and Ready): the rest of a cluster, which the operator still watches. */
export async function createUnrelatedPods(cp: ControlPlane, n: number): Promise<void> {
  const made = performance.now();
  const pods = new ScalePods(cp.kubeConfig, await createTestNamespace(cp.kubeConfig, 'unrelated'), { app: 'unrelated' });
  await pods.createNode();
  await pods.createReady(n, (done) => process.stderr.write(`bench: ${done}/${n} unrelated pods\n`));
  process.stderr.write(`bench: ${n} unrelated pods in ${((performance.now() - made) / 1000).toFixed(0)} s\n`);
}

/** `cp` has the CRDs installed; `unrelatedPods` is what the caller created beside (for the report). */
export async function operatorThroughput(cp: ControlPlane, operatorMain: string, plbs: number, timeoutMs: number, unrelatedPods = 0): Promise<OperatorNumbers> {
  const client = plbClient(cp.kubeConfig);
  const ns = await createTestNamespace(cp.kubeConfig, 'bench');
  const names = Array.from({ length: plbs }, (_, i) => `lb-${i}`);
  for (let i = 0; i < names.length; i += CREATE_CONCURRENCY) {
    await Promise.all(names.slice(i, i + CREATE_CONCURRENCY).map((name, j) => client.create(ns, name, {
      // One holder per VIP: every PLB its own address (10.200.0.1 ... 10.200.3.238 for 1000).
      vip: benchVip(i + j),
      ports: [{ port: 80 }],
      backends: { addresses: [{ ip: '10.0.5.7' }, { ip: '10.0.5.8' }] },
      replicas: 1,
    })));
  }
  const port = await freePort();
  // As the chart runs it: its NODE_OPTIONS bound V8's heap (values.yaml nodeOptions), and memory is what is measured.
  const nodeOptions = chartNodeOptions(readFileSync(join(repoRoot, 'charts/portable-lb/values.yaml'), 'utf8'));
  const started = performance.now();
  // --single-tenant: the bench's VIPs lie in no VIPPool (multi-tenant mode would refuse every one).
  const child = spawn(process.execPath, [operatorMain, `--kubeconfig=${cp.kubeconfigPath}`, `--metrics-bind-address=127.0.0.1:${port}`, '--single-tenant'],
    { env: { ...process.env, POD_NAME: 'bench-operator', LOG_LEVEL: 'warn', NODE_OPTIONS: nodeOptions }, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  try {
    const api = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    for (;;) {
      const list = (await api.listNamespacedCustomObject({ ...PLB, namespace: ns })) as { items: PortableLoadBalancer[] };
      const done = list.items.filter(plbConverged).length;
      if (done === plbs) break;
      if (child.exitCode !== null) throw new Error(`operator exited ${child.exitCode}: ${stderr.join('').slice(-500)}`);
      if (performance.now() - started > timeoutMs) throw new Error(`only ${done}/${plbs} PLBs observed after ${timeoutMs} ms`);
      await sleep(200);
    }
    const seconds = (performance.now() - started) / 1000;
    const mem = memory(child.pid!);
    const cpu = cpuSeconds(child.pid!);
    return {
      plbs,
      unrelated_pods: unrelatedPods,
      seconds: Number(seconds.toFixed(2)),
      reconciles_per_second: Number((plbs / seconds).toFixed(1)),
      rss_mib: Number(mem.rss.toFixed(1)),
      peak_rss_mib: Number(mem.peak.toFixed(1)),
      cpu_seconds: Number(cpu.toFixed(2)),
      node_options: nodeOptions,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}
