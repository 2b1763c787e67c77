#!/usr/bin/env node
// plb-agent: wiring only. See cli.ts for the options and agent.ts for the loop.
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ipFamily } from '../api/defaults.js';
import { defaultRouteInterface, primaryAddress } from '../dataplane/xdp/device.js';
import { Agent } from './agent.js';
import { Announcer } from './bgp/announcer.js';
import { USAGE, UsageError, listenProblem, parseArgs, type AgentOptions } from './cli.js';
import { parseStandaloneFile } from './config.js';
import { fileSource } from './file-source.js';
import { serveHttp } from './http.js';
import { isClusterMode, makeDataPlane, runCluster } from './kubernetes/main.js';
import { isNodeRoutesMode, runNodeRoutes } from '../node/main.js';

const RESYNC_MS = 30_000;
const DEBOUNCE_MS = 200;

const log = (message: string): void => {
  process.stderr.write(`${new Date().toISOString()} plb-agent ${message}\n`);
};

async function main(opts: AgentOptions): Promise<void> {
  const file = resolve(opts.file);
  // The pin directory is fixed at start from the file's metadata.name (a rename needs a restart).
  const first = parseStandaloneFile(await readFile(file, 'utf8'), file);
  const listen = listenProblem(opts.listenHost, first.vip, first.dataPlane);
  if (listen.error) throw new UsageError(listen.error);
  if (listen.warning) log(`warning: ${listen.warning}`);
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
  // The file's BGPPeers: the agent runs BIRD itself and announces from this namespace, next hop = its address.
  let announcer: Announcer | undefined;
  let draining = false;
  const syncAndAnnounce = async (): Promise<void> => {
    await agent.sync();
    const desired = agent.lastDesired;
    let peers = first.peers;
    try {
      peers = parseStandaloneFile(await readFile(file, 'utf8'), file).peers;
    } catch {
      // The agent logged the file's problem; keep announcing to the peers it last had.
    }
    if (!announcer && peers.length > 0 && desired) {
      announcer = new Announcer({ podIP: desired.snatIp, node: '', log, onChange: () => undefined, peers, dir: join(tmpdir(), 'portable-lb', 'bird', first.name) });
    }
    if (!announcer || !desired) return;
    announcer.setPeers(peers);
    await announcer.decide({
      vip: desired.vip, draining, programmed: agent.lastError === null, heldGeneration: undefined, wantedGeneration: undefined,
      backends: desired.backends.length,
    }).catch((err: Error) => log(`bgp: ${err.message}`));
  };
  await syncAndAnnounce();
  const server = await serveHttp(agent, dataPlane, opts.listenHost, opts.listenPort, {
    get sessions() { return announcer?.sessions ?? []; },
    get decision() { return announcer?.decision; },
  });
  log(`listening on ${opts.listenHost}:${server.port} (pin dir ${pinDir})`);

  // Watch the directory, not the file: editors and ConfigMap updates replace the file by renaming.
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dirname(file), (_event, name) => {
    if (name !== null && name !== basename(file) && !name.startsWith('..')) return;
    clearTimeout(timer);
    timer = setTimeout(() => void syncAndAnnounce(), DEBOUNCE_MS);
  });
  const resync = setInterval(() => void syncAndAnnounce(), RESYNC_MS);

  const cut = new AbortController();
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      log(`${signal}: second signal, cutting the drain short`);
      cut.abort();
      return;
    }
    stopping = true;
    watcher.close();
    clearInterval(resync);
    clearTimeout(timer);
    if (announcer) {
      // Withdraw first, keep forwarding while the routers remove this agent, then stop.
      draining = true;
      const drainSeconds = parseStandaloneFile(await readFile(file, 'utf8').catch(() => ''), file).drainSeconds;
      await syncAndAnnounce().catch(() => undefined);
      log(`${signal}: withdrew ${agent.lastDesired?.vip} from ${announcer.peers.length} BGP peer(s); forwarding for ${drainSeconds} s`);
      await sleep(drainSeconds * 1000, undefined, { signal: cut.signal }).catch(() => undefined);
      await announcer.stop();
      log('drain ended');
    }
    log(`${signal}: ${opts.detachOnExit ? 'detaching the program' : 'leaving the program and pinned maps in place'}`);
    server.close();
    dataPlane.close({ detach: opts.detachOnExit })
      .then(() => process.exit(0))
      .catch((err: Error) => { log(`close failed: ${err.message}`); process.exit(1); });
  };
  const onSignal = (signal: string) => void stop(signal).catch((err: Error) => { log(`stop failed: ${err.message}`); process.exit(1); });
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
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
if (isNodeRoutesMode(argv)) {
  runNodeRoutes(process.env, log).catch((err: Error) => {
    log(`fatal: ${err.message}`);
    process.exit(1);
  });
} else if (isClusterMode(argv)) {
  runCluster(argv, process.env, log).catch((err: Error) => {
    log(`fatal: ${err.message}`);
    process.exit(1);
  });
} else {
  startFileAgent(argv);
}
