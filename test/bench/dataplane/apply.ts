// Programs the current network namespace with one of our data planes, built by the cluster agent's own factory
// (makeDataPlane), and exits; the kernel state stays. For data planes the standalone agent does not run yet
// (nftables): the bench then measures the same ruleset an LB pod in a cluster would install.
//   node apply.js --data-plane nftables --scheduler roundRobin --vip V --backends "ip ip" --interface eth0
//                 --snat-ip IP --ports "80:8080/TCP 5001:5001/UDP"
import { makeDataPlane } from '../../../src/agent/kubernetes/main.js';
import type { DesiredPort, DesiredState, L4Protocol, Scheduler } from '../../../src/dataplane/types.js';

function flag(argv: readonly string[], k: string): string {
  const i = argv.indexOf(k);
  if (i < 0 || argv[i + 1] === undefined) throw new Error(`${k} is required`);
  return argv[i + 1]!;
}

function ports(spec: string): DesiredPort[] {
  return spec.split(/\s+/).filter(Boolean).map((p, i) => {
    const m = /^(\d+):(\d+)\/(TCP|UDP)$/.exec(p);
    if (!m) throw new Error(`--ports entry ${p}: expected port:targetPort/TCP|UDP`);
    return { name: `p${i}`, port: Number(m[1]), targetPort: Number(m[2]), protocol: m[3] as L4Protocol };
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const log = (m: string) => process.stderr.write(`apply: ${m}\n`);
  const dataPlane = makeDataPlane(flag(argv, '--data-plane'), '/nonexistent-pin-dir', log);
  const desired: DesiredState = {
    vip: flag(argv, '--vip'),
    ports: ports(flag(argv, '--ports')),
    backends: flag(argv, '--backends').split(/\s+/).filter(Boolean).map((ip) => ({ ip, weight: 1 })),
    scheduler: flag(argv, '--scheduler') as Scheduler,
    attach: 'auto',
    interface: flag(argv, '--interface'),
    snatIp: flag(argv, '--snat-ip'),
  };
  const result = await dataPlane.apply(desired);
  log(`programmed (attach ${result.attach})${result.warnings.length ? `; warnings: ${result.warnings.join('; ')}` : ''}`);
  await dataPlane.close();
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`apply: ${err.message}\n`);
  process.exit(1);
});
