// hack/cluster's command line (run by up.sh, down.sh, load-image.sh, status.sh): wiring only.
//   main.js up [--nodes N] [--image <repository>=<oci archive>]...   main.js down   main.js status
//   main.js load <repository>=<oci archive>...                        main.js env (shell lines for the e2e)
// Settings: PLB_CLUSTER_PREFIX (default plbc-), PLB_CLUSTER_DIR, PLB_CLUSTER_NODES (default 2), PLB_K8S_BIN
// (the directory hack/build-control-plane.sh --with-nodes prints).
import { down, load, readState, status, up } from './cluster.js';
import type { ImageArchive } from './node.js';
import { checkPrefix, defaultDir } from './plan.js';

const started = Date.now();
const log = (m: string) => process.stderr.write(`[cluster ${((Date.now() - started) / 1000).toFixed(1)}s] ${m}\n`);

function images(values: string[]): ImageArchive[] {
  return values.map((v) => {
    const [repository, tar] = v.split('=');
    if (!repository || !tar) throw new Error(`--image ${v}: expected <repository>=<oci archive>`);
    return { repository, tar };
  });
}

async function main(argv: string[]): Promise<number> {
  const prefix = process.env['PLB_CLUSTER_PREFIX'] || 'plbc-';
  const bad = checkPrefix(prefix);
  if (bad) throw new Error(`PLB_CLUSTER_PREFIX: ${bad}`);
  const dir = process.env['PLB_CLUSTER_DIR'] || defaultDir(prefix);
  const [command, ...rest] = argv;
  const flag = (name: string) => rest.flatMap((a, i) => (a === name && rest[i + 1] ? [rest[i + 1]!] : []));
  const state = () => {
    const s = readState(dir);
    if (!s) throw new Error(`no cluster in ${dir} (PLB_CLUSTER_PREFIX=${prefix}): run hack/cluster/up.sh`);
    return s;
  };
  switch (command) {
    case 'up': {
      const binDir = process.env['PLB_K8S_BIN'];
      if (!binDir) throw new Error('PLB_K8S_BIN is not set (hack/cluster/up.sh sets it from hack/build-control-plane.sh --with-nodes)');
      const nodes = Number(flag('--nodes')[0] ?? process.env['PLB_CLUSTER_NODES'] ?? 2);
      await up({ prefix, nodes, dir, binDir, images: images(flag('--image')), log });
      return 0;
    }
    case 'down':
      await down(prefix, dir, log);
      return 0;
    case 'load':
      await load(state(), images(rest), log);
      return 0;
    case 'status':
      process.stdout.write(`${await status(state())}\n`);
      return 0;
    case 'env': {
      const s = state();
      const lines = {
        PLB_CLUSTER_DIR: dir,
        PLB_CLUSTER_CP_NS: s.plan.controlPlane.ns,
        PLB_CLUSTER_CLIENT_NS: s.plan.client.ns,
        PLB_CLUSTER_ROUTER_NS: s.plan.router.ns,
        KUBECONFIG: s.plan.adminKubeconfig,
        PLB_K8S_BIN: s.binDir,
      };
      process.stdout.write(Object.entries(lines).map(([k, v]) => `${k}=${v}\n`).join(''));
      return 0;
    }
    default:
      process.stderr.write('usage: main.js up [--nodes N] [--image repo=tar]... | down | status | load repo=tar... | env\n');
      return 2;
  }
}

// exitCode, not exit(): stderr is a pipe under make, and exit() may cut its last lines.
main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    log(`failed: ${err.message}`);
    process.exitCode = 1;
  },
);
