// CLI around test/bench/report/ (wiring and file I/O only).
//   report-main.js build  --samples S.jsonl --control-plane C.json --mode full|quick --reps N --seconds N
//                         --configs "..." --tests "..." --out results.json     (exit 1 when a cell has no number)
//                         [--axis-configs "..." --axis-tests "..."]  (the study's axes, with their own tests)
//                         [--vm-configs "ipvs@vm ..." --vm-tests "..."]  (the pairs measured in the VM)
//                         [--scale scale.json]  (control-plane/scale.js's output: backends at scale, per data plane)
//                         [--segment-seconds N --warmup 1|0 --pinned 1|0]  (how the pairs were alternated)
//                         [--date ISO]  (the measurement's date when rebuilding from a kept samples.jsonl)
//   report-main.js render --results results.json --out-dir DIR [--readme README.md]
import { cpus, release, totalmem } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildResults, missing, render, type ControlPlaneResults, type ResultsFile } from './report/index.js';

function args(argv: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    if (!k.startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument ${k}`);
    m.set(k.slice(2), argv[i + 1]!);
  }
  return m;
}
const need = (a: Map<string, string>, k: string): string => {
  const v = a.get(k);
  if (v === undefined) throw new Error(`--${k} is required`);
  return v;
};

const machine = (): string =>
  `${cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, ` +
  `${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}`;

function build(a: Map<string, string>): number {
  const controlPlane = JSON.parse(readFileSync(need(a, 'control-plane'), 'utf8')) as ControlPlaneResults;
  if (a.has('scale')) {
    const scale = JSON.parse(readFileSync(a.get('scale')!, 'utf8')) as Pick<ControlPlaneResults, 'skipped'> & { scale: ControlPlaneResults['scale'] };
    controlPlane.scale = scale.scale ?? [];
    controlPlane.skipped = [...controlPlane.skipped, ...scale.skipped];
  }
  const file = buildResults({
    machine: machine(),
    date: a.get('date') ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    method: {
      mode: need(a, 'mode') === 'quick' ? 'quick' : 'full', reps: Number(need(a, 'reps')), seconds: Number(need(a, 'seconds')),
      ...(a.has('segment-seconds') ? { segment_seconds: Number(a.get('segment-seconds')) } : {}),
      ...(a.has('warmup') ? { warmup: a.get('warmup') === '1' } : {}),
      ...(a.has('pinned') ? { pinned: a.get('pinned') === '1' } : {}),
    },
    samplesJsonl: readFileSync(need(a, 'samples'), 'utf8'),
    controlPlane,
  });
  writeFileSync(need(a, 'out'), `${JSON.stringify(file, null, 2)}\n`);
  const words = (k: string) => (a.get(k) ?? '').split(/\s+/).filter(Boolean);
  const holes = [
    ...missing(file.results, file.skipped, words('configs'), words('tests')),
    ...missing(file.results, file.skipped, words('axis-configs'), words('axis-tests')),
    ...missing(file.results, file.skipped, words('vm-configs'), words('vm-tests')),
  ];
  for (const f of file.failures) console.error(`bench: FAILED ${f.config}/${f.test} #${f.rep}: ${f.error}`);
  for (const h of holes) console.error(`bench: ${h}`);
  return holes.length ? 1 : 0;
}

function renderFiles(a: Map<string, string>): number {
  const file = JSON.parse(readFileSync(need(a, 'results'), 'utf8')) as ResultsFile;
  const dir = need(a, 'out-dir');
  const readmePath = a.get('readme');
  const out = render(file, readmePath ? readFileSync(readmePath, 'utf8') : '<!-- bench:begin --><!-- bench:end -->');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.md'), out.markdown);
  writeFileSync(join(dir, 'ratios.svg'), out.svg);
  if (readmePath) writeFileSync(readmePath, out.readme);
  return 0;
}

const [command, ...rest] = process.argv.slice(2);
try {
  process.exitCode = command === 'build' ? build(args(rest)) : command === 'render' ? renderFiles(args(rest)) : 64;
  if (process.exitCode === 64) console.error('usage: report-main.js build|render --flag value ...');
} catch (err) {
  console.error(`bench report: ${(err as Error).message}`);
  process.exitCode = 1;
}
