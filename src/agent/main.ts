#!/usr/bin/env node
// plb-agent: wiring only. See cli.ts for the options and agent.ts for the loop.
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { ipFamily } from '../api/defaults.js';
import { defaultRouteInterface, primaryAddress } from '../dataplane/xdp/device.js';
import { Agent } from './agent.js';
import { USAGE, UsageError, parseArgs, type AgentOptions } from './cli.js';
import { parseStandaloneFile } from './config.js';
import { fileSource } from './file-source.js';
import { serveHttp } from './http.js';
import { isClusterMode, makeDataPlane, runCluster } from './kubernetes/main.js';

const RESYNC_MS = 30_000;
const DEBOUNCE_MS = 200;

const log = (message: string): void => {
  process.stderr.write(`${new Date().toISOString()} plb-agent ${message}\n`);
};

async function main(opts: AgentOptions): Promise<void> {
  const file = resolve(opts.file);
  // The pin directory is fixed at start from the file's metadata.name (a rename needs a restart).
  const first = parseStandaloneFile(await readFile(file, 'utf8'), file);
  const pinDir = opts.pinDir ?? `/sys/fs/bpf/portable-lb/${first.name}`;
  // spec.dataPlane is fixed at start too: switching data planes is a restart (a new pod, in a cluster).
  const dataPlane = makeDataPlane(first.dataPlane, pinDir, log);
  const source = fileSource(async () => ({ text: await readFile(file, 'utf8'), source: file }), {
    resolve: async (spec) => {
      const iface = opts.interface ?? (await defaultRouteInterface());
      return { interface: iface, snatIp: await primaryAddress(iface, ipFamily(spec.vip)) };
    },
  });
  const agent = new Agent({ dataPlane, log, source });
  await agent.sync();
  const { server, port } = await serveHttp(agent, dataPlane, opts.listenHost, opts.listenPort);
  log(`listening on ${opts.listenHost}:${port} (pin dir ${pinDir})`);

  // Watch the directory, not the file: editors and ConfigMap updates replace the file by renaming.
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dirname(file), (_event, name) => {
    if (name !== null && name !== basename(file) && !name.startsWith('..')) return;
    clearTimeout(timer);
    timer = setTimeout(() => void agent.sync(), DEBOUNCE_MS);
  });
  const resync = setInterval(() => void agent.sync(), RESYNC_MS);

  const stop = (signal: string) => {
    log(`${signal}: ${opts.detachOnExit ? 'detaching the program' : 'leaving the program and pinned maps in place'}`);
    watcher.close();
    clearInterval(resync);
    clearTimeout(timer);
    server.close();
    dataPlane.close({ detach: opts.detachOnExit })
      .then(() => process.exit(0))
      .catch((err: Error) => { log(`close failed: ${err.message}`); process.exit(1); });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function startFileAgent(argv: string[]): void {
  let opts: AgentOptions;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`plb-agent: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  main(opts).catch((err: Error) => {
    log(`fatal: ${err.message}`);
    process.exit(1);
  });
}

const argv = process.argv.slice(2);
if (isClusterMode(argv)) {
  runCluster(argv, process.env, log).catch((err: Error) => {
    log(`fatal: ${err.message}`);
    process.exit(1);
  });
} else {
  startFileAgent(argv);
}
