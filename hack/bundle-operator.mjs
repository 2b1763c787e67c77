#!/usr/bin/env node
// The operator as shipped: dist/src/operator/main.js and its dependencies bundled by esbuild into one minified
// module (plus a chunk loaded only when traces are on), written to dist/operator/ (or the directory given).
//   node hack/bundle-operator.mjs [--entry dist/src/operator/main.js] [--outdir dist/operator] [--metafile <file>]
// Why: an unbundled operator keeps the source text of every module it imports in its heap. Importing
// @kubernetes/client-node alone loads its ~850 generated models and every API group's three client layers
// (gen/types/ObservableAPI.js is 6 MB), +65 MiB of resident memory; the bundle keeps the API groups the operator
// calls (tree-shaken) in about 2 MB of minified text. README's "Operator memory" has the measured numbers.
import { parseArgs } from 'node:util';
import { rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { entry: { type: 'string', default: 'dist/src/operator/main.js' }, outdir: { type: 'string', default: 'dist/operator' }, metafile: { type: 'string' } } });

/** Modules replaced by a one-line stand-in: what the operator's code paths never call. */
const STUBS = {
  // node-fetch v2 uses Node's own URL when there is one (always, on Node >= 10): the whatwg-url polyfill and its
  // 260 KB Unicode table (tr46) are never called.
  'whatwg-url': 'module.exports = { URL: globalThis.URL };',
  // node-fetch v2 tries `require('encoding')` for Body.textConverted() only, which client-node never calls; without
  // it iconv-lite's code pages (480 KB) are loaded at start.
  encoding: 'module.exports = {};',
};

const plugin = {
  name: 'plb-operator',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${Object.keys(STUBS).join('|')})$`) }, (args) => ({ path: args.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({ contents: STUBS[args.path], loader: 'js' }));
    // client-node's package.json has no "sideEffects" field, so esbuild keeps every module its index re-exports;
    // its modules only define classes and functions, so the API groups and models nothing reaches are dropped.
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.resolved) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { resolved: true } });
      if (r.errors.length > 0 || !r.path.includes('/node_modules/@kubernetes/client-node/')) return r.errors.length > 0 ? undefined : r;
      return { ...r, sideEffects: false };
    });
  },
};

rmSync(values.outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { main: values.entry },
  outdir: values.outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  // netlink is a native addon (the agent's); the operator must never load it, and bundling cannot carry it.
  external: ['netlink'],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __plbRequire } from 'node:module'; const require = __plbRequire(import.meta.url);" },
  plugins: [plugin],
  metafile: true,
  logLevel: 'warning',
});
if (values.metafile) writeFileSync(values.metafile, JSON.stringify(result.metafile));
const outputs = Object.entries(result.metafile.outputs);
const [entry, main] = outputs.find(([, o]) => o.entryPoint === values.entry) ?? outputs[0];
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
process.stderr.write(`bundle-operator: ${entry} ${kib(main.bytes)}, ${outputs.length - 1} chunks ${kib(outputs.reduce((n, [f, o]) => n + (f === entry ? 0 : o.bytes), 0))}\n`);
