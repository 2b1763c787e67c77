// The operator's bundle (hack/bundle-operator.mjs), the plb-operator the image and the bench run: what it loads
// at start. Unbundled, importing @kubernetes/client-node loads every API group and model it has (+65 MiB of
// resident memory); the bundle must keep only what the operator calls, load the traces SDK only when traces are
// on, and never reach the agent's native netlink addon. Built from src/ (esbuild reads TypeScript), in a second.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';

const repoRoot = process.cwd();
const out = mkdtempSync(join(tmpdir(), 'plb-operator-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Metafile {
  outputs: Record<string, { bytes: number; entryPoint?: string; inputs: Record<string, unknown>; imports: { path: string; kind: string }[] }>;
}

function bundle(): { meta: Metafile; status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['hack/bundle-operator.mjs', '--entry', 'src/operator/main.ts', '--outdir', join(out, 'operator'), '--metafile', join(out, 'meta.json')],
    { cwd: repoRoot, encoding: 'utf8' });
  return { meta: r.status === 0 ? (JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as Metafile) : { outputs: {} }, status: r.status, stderr: r.stderr };
}

/** The outputs node loads when the bundle starts: the entry and the chunks it imports statically, transitively. */
function loadedAtStart(meta: Metafile): string[] {
  const entry = Object.keys(meta.outputs).find((f) => meta.outputs[f]!.entryPoint === 'src/operator/main.ts');
  const seen = new Set<string>(entry ? [entry] : []);
  for (const f of seen) for (const i of meta.outputs[f]!.imports) if (i.kind === 'import-statement' && meta.outputs[i.path]) seen.add(i.path);
  return [...seen];
}

describe('the operator bundle', () => {
  const { meta, status, stderr } = bundle();
  const start = loadedAtStart(meta);
  const inputs = start.flatMap((f) => Object.keys(meta.outputs[f]!.inputs));
  const clientNode = 'node_modules/@kubernetes/client-node/dist/';

  test('builds', () => {
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect(start.map((f) => relative(out, f))).toContain('operator/main.mjs');
  });

  test('loads only the client-node API groups the operator calls, not every one the package has', () => {
    const all = readdirSync(join(repoRoot, clientNode, 'gen/apis')).filter((f) => f.endsWith('Api.js'));
    const kept = inputs.filter((p) => p.startsWith(`${clientNode}gen/apis/`)).map((p) => p.slice(`${clientNode}gen/apis/`.length));
    expect(all.length).toBeGreaterThan(50);
    expect(kept).toEqual(expect.arrayContaining(['CoreV1Api.js', 'AppsV1Api.js', 'RbacAuthorizationV1Api.js', 'CustomObjectsApi.js', 'CoordinationV1Api.js']));
    expect(kept.length).toBeLessThan(12);
    expect(kept).not.toContain('BatchV1Api.js');
  });

  test('leaves out what no code path of the operator runs at start: the traces SDK, URL and charset polyfills, netlink', () => {
    for (const p of ['node_modules/@opentelemetry/sdk-node/', 'node_modules/@grpc/', 'node_modules/tr46/', 'node_modules/iconv-lite/', 'node_modules/netlink/']) {
      expect({ p, loaded: inputs.some((i) => i.startsWith(p)) }).toEqual({ p, loaded: false });
    }
    // Traces still work: the SDK is a chunk of its own, imported when OTEL_TRACES_EXPORTER asks for it.
    const lazy = Object.keys(meta.outputs).filter((f) => !start.includes(f));
    expect(lazy.some((f) => Object.keys(meta.outputs[f]!.inputs).some((i) => i.startsWith('node_modules/@opentelemetry/sdk-node/')))).toBe(true);
  });

  test('is minified: the source text kept in the heap at start is under 2.5 MiB', () => {
    const bytes = start.reduce((n, f) => n + meta.outputs[f]!.bytes, 0);
    expect(bytes).toBeLessThan(2.5 * 1024 * 1024);
  });
});
