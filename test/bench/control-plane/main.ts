// Control-plane numbers -> one JSON file (ControlPlaneResults). Wiring only.
//   node main.js --out cp.json --operator <the operator bundle, operator/main.mjs> [--quick]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlPlaneResults, FlowGcNumbers, OperatorNumbers, PeerNumbers, Skip, Timing } from '../report/types.js';
import { installCrds, repoRoot, startControlPlane } from '../../integration/harness/index.js';
import { maglevBuildTimes } from './maglev.js';
import { MAGLEV_RING_SIZE } from '../../../src/dataplane/maglev.js';
import { throughputRatio } from './converged.js';
import { createUnrelatedPods, operatorThroughput } from './operator.js';
import { deploymentControllerThroughput, type PeerLimits } from './peer.js';

const here = dirname(fileURLToPath(import.meta.url));
/** kube-controller-manager's default client limits, and limits its 1000 Deployments never reach. */
const PEER_LIMITS: PeerLimits[] = [{ qps: 20, burst: 30 }, { qps: 5000, burst: 5000 }];
/** The flow table of issue 13's goal: 1 000 000 concurrent flows, filled, in both modes (one run takes ~6 s). */
const GC_MAX_FLOWS = 1_000_000;

function flag(argv: readonly string[], k: string): string | undefined {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : undefined;
}
const log = (m: string) => process.stderr.write(`bench: ${m}\n`);

async function main(argv: readonly string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const out = flag(argv, '--out');
  const operatorMain = flag(argv, '--operator');
  if (!out || !operatorMain) throw new Error('--out and --operator are required');
  const skipped: Skip[] = [];

  const maglev = maglevBuildTimes([10, 100, 1000, 10000], quick ? 3 : 11);
  log(`maglev build: ${maglev.map((t) => `${t.backends}: ${t.median_ms} ms`).join(', ')}`);

  let xdp: Timing[] = [];
  let flowGc: FlowGcNumbers | undefined;
  if (process.getuid?.() !== 0) {
    skipped.push({ test: 'xdp-apply', reason: 'needs root (network namespace, bpffs, BPF programs)' });
    skipped.push({ test: 'flow GC', reason: 'needs root (bpffs, BPF maps)' });
  } else {
    const script = join(repoRoot, 'test/bench/control-plane/xdp-apply.sh');
    const sizes = quick ? '10 1000' : '10 1000 10000';
    const res = JSON.parse(execFileSync('bash', [script, join(here, 'xdp-apply.js'), sizes, quick ? '3' : '9'], { encoding: 'utf8' })) as {
      timings: Timing[]; skipped: Skip[];
    };
    xdp = res.timings;
    skipped.push(...res.skipped);
    log(`xdp apply: ${xdp.map((t) => `${t.backends}: ${t.median_ms} ms`).join(', ')}${res.skipped.length ? `; ${res.skipped.map((s) => s.reason).join('; ')}` : ''}`);
    const gcArgs = ['--max-flows', `${GC_MAX_FLOWS}`, '--flows', `${GC_MAX_FLOWS}`, '--runs', quick ? '1' : '5'];
    flowGc = JSON.parse(execFileSync('node', [join(here, 'flow-gc.js'), ...gcArgs], { encoding: 'utf8' })) as FlowGcNumbers;
    log(`flow GC at ${flowGc.flows} flows: table memory ${(flowGc.memory_bytes / 2 ** 20).toFixed(0)} MiB; pass with nothing expired ` +
      `${flowGc.none_expired.cpu_s.join('/')} s CPU, with half expired ${flowGc.half_expired.cpu_s.join('/')} s CPU`);
  }

  const plbs = quick ? 100 : 1000;
  // The rest of the cluster: the operator watches every pod (backend selectors may name any namespace), so its
  // memory is measured beside 10 000 pods that are none of its business (issue 14's goal: under 150 MiB RSS).
  const unrelatedPods = quick ? 500 : 10_000;
  const cp = await startControlPlane();
  let operator: OperatorNumbers;
  const peer: PeerNumbers[] = [];
  try {
    await installCrds(cp.kubeConfig);
    await createUnrelatedPods(cp, unrelatedPods);
    // The peer first, on the same API server and beside the same pods: kube-controller-manager's Deployment
    // controller with its default client limits, and with limits high enough that only the work itself counts
    // (the operator's client has none). After the operator it would also work the operator's LB Deployments.
    // Quick mode: only the unthrottled peer (the default limits make 100 Deployments take ~23 s here).
    for (const limits of quick ? PEER_LIMITS.slice(1) : PEER_LIMITS) {
      const p = await deploymentControllerThroughput(cp, plbs, limits, quick ? 60_000 : 900_000);
      log(`peer: kube-controller-manager (deployment, --kube-api-qps ${limits.qps} --kube-api-burst ${limits.burst}): ${p.deployments} Deployments in ${p.seconds} s (${p.per_second}/s), RSS ${p.rss_mib} MiB`);
      peer.push(p);
    }
    operator = await operatorThroughput(cp, operatorMain, plbs, quick ? 120_000 : 900_000, unrelatedPods);
  } finally {
    await cp.stop();
  }
  log(`operator: ${plbs} PLBs beside ${unrelatedPods} unrelated pods in ${operator.seconds} s (${operator.reconciles_per_second}/s), RSS ${operator.rss_mib} MiB, peak ${operator.peak_rss_mib} MiB`);
  for (const p of peer) log(`operator / peer (qps ${p.kube_api_qps}): ${throughputRatio(operator, p).toFixed(2)}`);

  const results: ControlPlaneResults = {
    maglev_ring_size: MAGLEV_RING_SIZE, maglev_build: maglev, xdp_apply: xdp, operator, peer, ...(flowGc ? { flow_gc: flowGc } : {}), skipped,
  };
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`control-plane bench: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
