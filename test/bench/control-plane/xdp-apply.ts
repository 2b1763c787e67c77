// Desired-state change -> programmed, for the xdp data plane. Runs inside a network namespace prepared by
// xdp-apply.sh (eth0 = a veth with an address), prints one JSON object: {"timings": [...], "skipped": [...]}.
//   node xdp-apply.js --pin-root DIR --sizes "10 1000 10000" --runs N
// The change measured is the common one: one backend replaced among N (a pod rescheduled), i.e. plan diff,
// backend map writes, a Maglev rebuild and the ring flip. The first apply of each size (attach, load) is
// the cold path and is not timed.
import { XdpDataPlane } from '../../../src/dataplane/xdp/xdp-dataplane.js';
import type { DesiredState } from '../../../src/dataplane/types.js';
import { timing } from '../report/aggregate.js';
import type { Skip, Timing } from '../report/types.js';

function desired(n: number, generation: number): DesiredState {
  // N - 1 steady backends in 10.200.0.0/14, and one whose address changes with every generation.
  const backends = Array.from({ length: n - 1 }, (_, i) => ({ ip: `10.${200 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, weight: 1 }));
  backends.push({ ip: `10.250.${(generation >> 8) & 255}.${(generation & 255) + 1}`, weight: 1 });
  return {
    vip: '10.249.0.10',
    ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
    backends,
    scheduler: 'maglev',
    attach: 'tc',
    interface: 'eth0',
    snatIp: '10.249.0.3',
  };
}

async function measure(pinDir: string, n: number, runs: number): Promise<Timing> {
  const dp = new XdpDataPlane({ pinDir, log: () => undefined });
  try {
    await dp.apply(desired(n, 0));
    const ms: number[] = [];
    for (let g = 1; g <= runs; g++) {
      const next = desired(n, g);
      const t0 = performance.now();
      const result = await dp.apply(next);
      ms.push(performance.now() - t0);
      if (!result.changed) throw new Error(`apply of generation ${g} with ${n} backends changed nothing`);
    }
    return timing(n, ms);
  } finally {
    await dp.close({ detach: true, purge: true });
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const flag = (k: string): string => {
    const i = argv.indexOf(k);
    if (i < 0 || argv[i + 1] === undefined) throw new Error(`${k} is required`);
    return argv[i + 1]!;
  };
  const sizes = flag('--sizes').split(/\s+/).filter(Boolean).map(Number);
  const runs = Number(flag('--runs'));
  const timings: Timing[] = [];
  const skipped: Skip[] = [];
  for (const n of sizes) {
    try {
      timings.push(await measure(`${flag('--pin-root')}/n${n}`, n, runs));
    } catch (err) {
      // e.g. more backends than the BPF backend map holds: reported, with the data plane's own words
      skipped.push({ test: `xdp-apply ${n} backends`, reason: `apply refused: ${(err as Error).message.split('\n')[0]!}` });
    }
  }
  process.stdout.write(`${JSON.stringify({ timings, skipped })}\n`);
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`xdp-apply bench: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
