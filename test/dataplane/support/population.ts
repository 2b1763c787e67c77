// What the conformance suite's client-population cases (issue 13) need beyond the lab: many client addresses,
// a UDP client on a fixed port, packets no service takes, an idle connection, and each plane's view of its flows.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLOW_KEY_SIZE, FLOW_VALUE_SIZE, decodeFlowKey, encodeFlowKey, partnerKey } from '../../../src/dataplane/xdp/layout.js';
import { inNs, sh } from './netns.js';
import type { Topology } from './topology.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const UDP_FIXED = join(HERE, 'udp-fixed.mjs');
export const RAW_SEND = join(HERE, 'raw-send.py');
export const IDLE_TCP = join(HERE, 'idle-tcp.mjs');

export interface IdleTcpEvent { localPort?: number; data?: string; error?: string; end?: boolean }

/** What idle-tcp.mjs printed: its JSON lines ({"localPort"} first, then {"data"}, {"error"} or {"end"}). */
export function idleTcpEvents(output: string): IdleTcpEvent[] {
  return output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as IdleTcpEvent);
}

/** Everything idle-tcp.mjs's connection received, in order. */
export const idleTcpReceived = (output: string): string => idleTcpEvents(output).map((e) => e.data ?? '').join('');

/** The client addresses are 10.240.2.1..n on the client pod's eth0 (a NAT gateway's pool, or many pods). */
export async function addClientAddresses(topo: Topology, n: number): Promise<string[]> {
  const addresses = Array.from({ length: n }, (_, i) => `10.240.2.${i + 1}`);
  for (const a of addresses) await inNs(topo.ns('cli'), ['ip', 'addr', 'replace', `${a}/32`, 'dev', 'eth0']);
  await inNs(topo.node, ['ip', 'route', 'replace', '10.240.2.0/24', 'dev', 'h-cli']);
  return addresses;
}

/** A reply UDP_FIXED printed. */
export interface FixedReply { t: number; backend: string }
/** The replies UDP_FIXED printed in `text`, in order. */
export const fixedReplies = (text: string): FixedReply[] =>
  text.split('\n').filter((l) => l.startsWith('{"t"')).map((l) => JSON.parse(l) as FixedReply);

/** conntrack-tools prints "N flow entries have been shown." on stderr; `-o` nothing on stdout is wanted. */
async function conntrackCount(ns: string, args: string[]): Promise<number> {
  const out = await inNs(ns, ['sh', '-c', `conntrack -L ${args.join(' ')} 2>&1 >/dev/null`], 60_000);
  const m = /(\d+) flow entries have been shown/.exec(out);
  if (!m) throw new Error(`conntrack -L ${args.join(' ')}: ${out}`);
  return Number(m[1]);
}

/**
 * TCP flows to `vip`:`port` the plane still holds as open (not closing or closed: those expire on their own, in
 * at most the TIME_WAIT timeout), by data plane. A plane without an entry here skips the cases that need it.
 */
export const OPEN_FLOWS: Partial<Record<string, (lbNs: string, vip: string, port: number) => Promise<number>>> = {
  // The agent's flow garbage collection counts them on every pass (every 10 s): /metrics of the standalone agent,
  // from a pass that ran after this call (a count up to 10 s old missed a connection opened just before it, and
  // the manyClients case then saw one more open flow after its burst than before it). A pass is told by its
  // duration, plb_flow_gc_seconds, which changes from pass to pass (microseconds).
  xdp: async (ns, vip, port) => {
    const scrape = () => inNs(ns, ['node', '-e',
      'fetch("http://127.0.0.1:9470/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))']);
    const expired = (m: string) => /^plb_flow_expired_total (\d+)$/m.exec(m)?.[1];
    const pass = (m: string) => /^plb_flow_gc_seconds (\S+)$/m.exec(m)?.[1];
    const first = pass(await scrape());
    let m = await scrape();
    for (let i = 0; i < 50 && (pass(m) === first || pass(m) === '0'); i++) m = await new Promise((r) => setTimeout(r, 500)).then(scrape);
    const open = new RegExp(`^plb_service_open_flows\\{vip="${vip.replace(/\./g, '\\.')}",port="${port}",protocol="TCP"\\} (\\d+)$`, 'm').exec(m);
    if (!open) throw new Error(`no plb_service_open_flows for ${vip}:${port} in /metrics (expired ${expired(m)})`);
    return Number(open[1]);
  },
  nftables: (ns, vip, port) => conntrackCount(ns, ['-p', 'tcp', '--orig-dst', vip, '--dport', String(port), '--state', 'ESTABLISHED']),
  ipvs: async (ns, vip, port) => {
    // ipvsadm -Lnc: "TCP 14:59  ESTABLISHED 10.240.0.2:40000 10.240.200.10:80 10.240.1.1:8080"
    const out = await inNs(ns, ['ipvsadm', '-L', '-n', '-c'], 60_000);
    return out.split('\n').filter((l) => / ESTABLISHED /.test(l) && l.includes(` ${vip}:${port} `)).length;
  },
};

export interface Tuple { saddr: string; daddr: string; sport: number; dport: number; proto: 'tcp' | 'udp' }

/**
 * The xdp plane's pinned flow table (plb_flows under the agent's pin directory), read and written with bpftool
 * from outside, as an operator would. Keys and values are struct plb_flow_key / plb_flow (layout.ts).
 */
export class XdpFlows {
  private readonly pin: string;

  constructor(pinDir: string) {
    this.pin = join(pinDir, 'plb_flows');
  }

  static key(t: Tuple): Buffer {
    return encodeFlowKey({ ...t, proto: t.proto === 'tcp' ? 6 : 17 });
  }

  static tuple(k: Buffer): Tuple {
    const { proto, ...rest } = decodeFlowKey(k);
    return { ...rest, proto: proto === 6 ? 'tcp' : 'udp' };
  }

  /** The entry's value, null when there is none (bpftool prints null and exits 254). */
  async lookup(key: Buffer): Promise<Buffer | null> {
    const out = await sh('bpftool', ['-j', 'map', 'lookup', 'pinned', this.pin, 'key', 'hex', ...hex(key)]).catch((e: { stdout?: string }) => e.stdout ?? '');
    const doc = JSON.parse(out || 'null') as { value: string[] } | null;
    if (!doc) return null;
    const value = Buffer.from(doc.value.map((b) => Number(b)));
    if (value.length !== FLOW_VALUE_SIZE) throw new Error(`plb_flows value of ${value.length} bytes, layout.ts says ${FLOW_VALUE_SIZE}`);
    return value;
  }

  /** The key of the other entry of the flow whose entry is `key` (the agent's GC pairs them the same way). */
  async partnerOf(key: Buffer): Promise<Buffer> {
    const value = await this.lookup(key);
    if (!value) throw new Error(`no flow entry ${JSON.stringify(XdpFlows.tuple(key))}`);
    const partner = Buffer.alloc(FLOW_KEY_SIZE);
    partnerKey(key, 0, value, 0, partner, 0);
    return partner;
  }

  async delete(key: Buffer): Promise<void> {
    await sh('bpftool', ['map', 'delete', 'pinned', this.pin, 'key', 'hex', ...hex(key)]);
  }
}

const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0'));
