// A real upstream router for the lab and the e2e suites: FRR from Debian (zebra + bgpd + bfdd) in a network
// namespace, accepting the LB pods as dynamic neighbours (bgp listen range), BFD on, ECMP over what they
// announce (zebra installs the multipath route into the namespace's kernel). A different BGP implementation from
// the LB pods' BIRD, as in a real network. The route to a VIP is read and watched from the kernel: `ip monitor`
// timestamps every change as it happens (no polling loop that would load a 2-core machine and flap BFD).
//
// FRR daemons run as user frr with their own path space (-N <name>): /var/run/frr/<name>/ for sockets and
// /etc/frr/<name>/ for (empty) per-daemon config, removed on stop. The configuration is pushed with vtysh.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const FRR_LIB = '/usr/lib/frr';

export interface FrrBfd {
  receiveInterval: number;
  transmitInterval: number;
  detectMultiplier: number;
}

export interface FrrRouterOptions {
  /** The namespace the router lives in (its links and addresses are set up by the caller). */
  netns: string;
  /** FRR path space; unique per router on the machine. */
  name: string;
  asn: number;
  routerId: string;
  /** Dynamic-neighbour ranges: the addresses LB pods' sessions come from (pod or node CIDRs). */
  listenRanges: string[];
  /** The LB pods' AS: a number, or 'external' (any eBGP AS). */
  remoteAs: number | 'external' | 'internal';
  /** The LB pods are more than one hop away (a node between them). */
  multihop?: boolean;
  bfd?: FrrBfd;
  holdTime?: number;
  keepaliveTime?: number;
  maximumPaths?: number;
  password?: string;
  logDir: string;
  /**
   * A command the daemons are started through (it must exec the rest of its arguments), e.g. one that first joins
   * a cgroup whose teardown kills whatever a crashed test left running (hack/cluster's e2e provider).
   */
  launch?: string[];
}

export interface RouteChange {
  /** Epoch ms when the kernel reported the change. */
  at: number;
  hops: string[];
}

/** The next hops of `prefix` in the namespace's main table ([] when there is no route). */
export async function routeNextHops(netns: string, prefix: string): Promise<string[]> {
  const { stdout } = await exec('ip', ['-n', netns, '-j', 'route', 'show', prefix]);
  const routes = JSON.parse(stdout || '[]') as Array<{ gateway?: string; nexthops?: Array<{ gateway?: string }> }>;
  return routes
    .flatMap((r) => (r.nexthops ? r.nexthops.map((n) => n.gateway) : [r.gateway]))
    .filter((g): g is string => Boolean(g))
    .sort();
}

export class FrrRouter {
  readonly changes: RouteChange[] = [];
  readonly #o: FrrRouterOptions;
  readonly #daemons: ChildProcess[] = [];
  #monitor: ChildProcess | undefined;
  #watched: string | undefined;
  #last = '';

  private constructor(o: FrrRouterOptions) {
    this.#o = o;
  }

  static async start(o: FrrRouterOptions): Promise<FrrRouter> {
    const r = new FrrRouter(o);
    await r.#start();
    return r;
  }

  get runDir(): string {
    return `/var/run/frr/${this.#o.name}`;
  }

  #config(): string {
    const o = this.#o;
    const lines = [
      `hostname ${o.name}`,
      'log stdout informational',
      ...(o.bfd
        ? ['bfd', ' profile lb', `  receive-interval ${o.bfd.receiveInterval}`, `  transmit-interval ${o.bfd.transmitInterval}`,
          `  detect-multiplier ${o.bfd.detectMultiplier}`, ' exit', 'exit']
        : []),
      `router bgp ${o.asn}`,
      ` bgp router-id ${o.routerId}`,
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      // LB pods of one VIP come from different ASes only in odd setups; multipath over them anyway.
      ' bgp bestpath as-path multipath-relax',
      ' neighbor LB peer-group',
      ` neighbor LB remote-as ${o.remoteAs}`,
      ...(o.multihop ? [' neighbor LB ebgp-multihop 64'] : []),
      ...(o.bfd ? [' neighbor LB bfd profile lb'] : []),
      ...(o.password ? [` neighbor LB password ${o.password}`] : []),
      ` neighbor LB timers ${o.keepaliveTime ?? 3} ${o.holdTime ?? 9}`,
      // FRR's connect-retry is 120 s by default; a passive dynamic neighbour never connects out anyway.
      ' neighbor LB timers connect 1',
      ...o.listenRanges.map((r) => ` bgp listen range ${r} peer-group LB`),
      ' address-family ipv4 unicast',
      '  neighbor LB activate',
      // The router sends nothing back to the LB pods: they import nothing anyway.
      '  neighbor LB route-map LB-OUT out',
      `  maximum-paths ${o.maximumPaths ?? 16}`,
      ' exit-address-family',
      ' address-family ipv6 unicast',
      '  neighbor LB activate',
      '  neighbor LB route-map LB-OUT out',
      `  maximum-paths ${o.maximumPaths ?? 16}`,
      ' exit-address-family',
      'exit',
      'route-map LB-OUT deny 10',
      'exit',
    ];
    return `${lines.join('\n')}\n`;
  }

  async #start(): Promise<void> {
    const o = this.#o;
    const { uid, gid } = await frrIds();
    for (const dir of [this.runDir, `/etc/frr/${o.name}`]) {
      mkdirSync(dir, { recursive: true });
      chownSync(dir, uid, gid);
    }
    writeFileSync(`/etc/frr/${o.name}/vtysh.conf`, '');
    // zebra first (bgpd and bfdd register with it), then bfdd, then bgpd; each waits for the previous socket.
    for (const [daemon, socket] of [['zebra', 'zserv.api'], ['bfdd', 'bfdd.vty'], ['bgpd', 'bgpd.vty']] as const) {
      const log = openSync(join(o.logDir, `frr-${o.name}-${daemon}.log`), 'a');
      const argv = [...(o.launch ?? []), 'ip', 'netns', 'exec', o.netns, join(FRR_LIB, daemon), '-N', o.name, '--log', 'stdout'];
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log, log] });
      this.#daemons.push(child);
      await waitFor(() => existsSync(join(this.runDir, socket)), 10_000, `${daemon} of ${o.name}`);
    }
    const conf = join(o.logDir, `frr-${o.name}.conf`);
    writeFileSync(conf, this.#config());
    await this.vtysh(['-f', conf]);
  }

  /** vtysh against this router (`-c` commands or `-f` a file). */
  async vtysh(args: string[]): Promise<string> {
    const { stdout } = await exec('vtysh', ['-N', this.#o.name, ...args], { timeout: 15_000 });
    return stdout;
  }

  /** BGP neighbours as FRR sees them: address -> state ("Established", ...) and BFD status. */
  async neighbors(): Promise<Record<string, { state: string; bfd?: string }>> {
    const out = JSON.parse(await this.vtysh(['-c', 'show bgp neighbors json'])) as Record<string, { bgpState?: string; peerBfdInfo?: { status?: string } }>;
    return Object.fromEntries(Object.entries(out).map(([addr, n]) => [addr, { state: n.bgpState ?? '', ...(n.peerBfdInfo?.status ? { bfd: n.peerBfdInfo.status } : {}) }]));
  }

  nextHops(prefix: string): Promise<string[]> {
    return routeNextHops(this.#o.netns, prefix);
  }

  /**
   * Records every change of `prefix`'s next hops in `changes`, timestamped when the kernel reported it
   * (`ip monitor route nexthop`: FRR installs routes through nexthop groups, which can change on their own).
   */
  async watch(prefix: string): Promise<void> {
    this.#watched = prefix;
    this.#last = (await this.nextHops(prefix)).join(' ');
    this.changes.push({ at: Date.now(), hops: this.#last ? this.#last.split(' ') : [] });
    const mon = spawn('ip', ['-n', this.#o.netns, 'monitor', 'route', 'nexthop'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.#monitor = mon;
    let pending: Promise<void> = Promise.resolve();
    mon.stdout!.on('data', () => {
      const at = Date.now();
      pending = pending.then(async () => {
        const hops = await this.nextHops(prefix).catch(() => undefined);
        if (!hops || hops.join(' ') === this.#last) return;
        this.#last = hops.join(' ');
        this.changes.push({ at, hops });
      });
    });
  }

  /** The newest recorded next hops of the watched prefix. */
  get hops(): string[] {
    return this.changes[this.changes.length - 1]?.hops ?? [];
  }

  /** Waits until the watched prefix's next hops satisfy `ok`; returns the change that did. */
  async waitForHops(ok: (hops: string[]) => boolean, timeoutMs: number, since = 0): Promise<RouteChange> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.changes.find((c) => c.at >= since && ok(c.hops));
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`router ${this.#o.name}: ${this.#watched} next hops never matched in ${timeoutMs} ms; now ${this.hops.join(' ') || 'none'}`);
      }
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.#monitor?.stdout?.destroy();
    this.#monitor?.kill('SIGKILL');
    for (const d of [...this.#daemons].reverse()) await stopChild(d);
    this.#daemons.length = 0;
    rmSync(this.runDir, { recursive: true, force: true });
    rmSync(`/etc/frr/${this.#o.name}`, { recursive: true, force: true });
  }
}

async function frrIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await exec('id', ['-u', 'frr'])).stdout.trim());
  const gid = Number((await exec('id', ['-g', 'frr'])).stdout.trim());
  return { uid, gid };
}

async function waitFor(ok: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${timeoutMs} ms (is frr installed? hack/install-bgp-deps.sh)`);
    await sleep(50);
  }
}

function stopChild(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    const t = setTimeout(() => c.kill('SIGKILL'), 3_000);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    c.kill('SIGTERM');
  });
}
