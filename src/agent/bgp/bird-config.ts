// The BIRD 2 configuration of one LB pod's speaker. Pure: same input, same text, so a change of the text is what
// triggers `birdc configure` (which keeps sessions up: BIRD diffs the protocols), and golden files pin it.
//
// What it holds: one static protocol with the VIP as a blackhole route while the pod announces (an empty one when
// it does not: reconfiguring then withdraws the prefix over every session), one BGP protocol per peer exporting
// only that route with an explicit next hop, importing nothing (BIRD touches no kernel table: no kernel protocol),
// graceful restart off (a dead LB pod's route must go at once, not linger for a restart time), short connect
// retry and error wait so a recovered pod is back in seconds, and BFD per session when the peer asks for it.
import type { PeerConfig } from '../../api/bgp-peer.js';
import { ipFamily } from '../../api/defaults.js';

export interface SpeakerInput {
  vip: string;
  /** The announce decision (announce.ts): false renders the VIP's static route away. */
  announce: boolean;
  /** The LB pod's address: router id, session source, and next hop in PodIP mode. */
  podIP: string;
  /** The node's address (HOST_IP). NodeIP peers are the node's own speaker's (renderNodeBirdConfig), not the pod's. */
  nodeIP?: string;
  peers: readonly PeerConfig[];
}

export interface RenderedConfig {
  text: string;
  /** What it announces, for the log ("announcing 192.0.2.10"). */
  summary: string;
  /** BIRD protocol name -> peer name, for mapping `show protocols` back to BGPPeers. */
  protocols: Record<string, string>;
  /** Peers left out, and why (reported in the session's lastError). */
  skipped: Record<string, string>;
}

export const VIP_PROTOCOL = 'plb_vip';

/** BIRD symbols are letters, digits and underscores; a short hash keeps "a-b" and "a.b" apart. */
export function protocolName(peer: string): string {
  let h = 0x811c9dc5;
  for (const c of peer) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return `peer_${peer.replace(/[^a-zA-Z0-9]/g, '_')}_${(h & 0xffff).toString(16).padStart(4, '0')}`;
}

/** BIRD needs an IPv4-shaped router id; an IPv6 pod gets one derived from its address. */
function routerId(podIP: string): string {
  if (ipFamily(podIP) === 4) return podIP;
  let h = 0x811c9dc5;
  for (const c of podIP) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return [h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255].join('.');
}

/** TCP MD5 keys are at most 80 bytes (RFC 2385); BIRD strings cannot carry quotes or backslashes. */
function passwordProblem(password: string): string | undefined {
  if (Buffer.byteLength(password) > 80) return 'the password is longer than 80 bytes (the TCP MD5 limit)';
  if (/["\\\n\r]/.test(password)) return 'the password contains a quote, a backslash or a line break, which BIRD cannot take';
  return undefined;
}

function peerProblem(p: PeerConfig, input: SpeakerInput): string | undefined {
  if (ipFamily(p.peerAddress) !== ipFamily(input.vip)) {
    return `peerAddress ${p.peerAddress} is not of the VIP's address family (IPv${ipFamily(input.vip)}); this release announces a VIP over a session of its own family`;
  }
  if (ipFamily(input.podIP) !== ipFamily(input.vip)) return `the LB pod has no IPv${ipFamily(input.vip)} address to speak from`;
  // The LB pod behind its node's NAT could neither run BFD (the router's packets go to the node) nor share the
  // node's one session per router with the node's other LB pods: the node speaks for it (src/node/announce.ts).
  if (p.nextHopMode === 'NodeIP') return NODE_SPEAKS;
  if (p.password !== undefined) return passwordProblem(p.password);
  return undefined;
}

export const NODE_SPEAKS = 'nextHopMode NodeIP: announced by the node (plb-agent node-routes), not by the LB pod';

interface Session {
  /** The session's source address (and BFD's). */
  local: string;
  nextHop: string;
  /** The BIRD export filter. */
  exportFilter: string;
}

function peerBlock(p: PeerConfig, session: Session, channel: 'ipv4' | 'ipv6'): string[] {
  const ibgp = p.peerASN === p.myASN;
  const lines = [
    `# BGPPeer ${p.name}`,
    `protocol bgp ${protocolName(p.name)} {`,
    `  local ${session.local} as ${p.myASN};`,
    `  neighbor ${p.peerAddress} port ${p.peerPort} as ${p.peerASN};`,
    // iBGP is multihop in BIRD already; eBGP only when the peer says the router is further than one hop.
    ...(p.ebgpMultihop && !ibgp ? ['  multihop 64;'] : []),
    `  hold time ${p.holdTime};`,
    `  keepalive time ${p.keepaliveTime};`,
    `  connect delay time 1;`,
    `  connect retry time ${p.connectTime};`,
    // After an error (BFD down, a reset) BIRD waits `error wait time` before it retries: 60-300 s by default,
    // doubling for every error within `error forget time` (300 s by default) of the previous one. 1 s, at most
    // 16 s while errors keep coming, and forgotten after 30 s: a pod that recovers from one failure is back in
    // about a second even if it failed a minute earlier too (the lab's failure steps follow each other).
    `  error wait time 1, 16;`,
    `  error forget time 30;`,
    `  graceful restart off;`,
    `  long lived graceful restart off;`,
    ...(p.password !== undefined ? [`  password "${p.password}";`] : []),
    ...(p.bfd
      ? [`  bfd { min rx interval ${p.bfd.receiveInterval} ms; min tx interval ${p.bfd.transmitInterval} ms; multiplier ${p.bfd.detectMultiplier}; };`]
      : []),
    `  ${channel} {`,
    `    import none;`,
    `    export ${session.exportFilter};`,
    `    next hop address ${session.nextHop};`,
    `  };`,
    `}`,
  ];
  return lines;
}

export function renderBirdConfig(input: SpeakerInput): RenderedConfig {
  const family = ipFamily(input.vip);
  const channel = family === 4 ? 'ipv4' : 'ipv6';
  const protocols: Record<string, string> = {};
  const skipped: Record<string, string> = {};
  const blocks: string[][] = [];
  let bfd = false;
  for (const p of [...input.peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const problem = peerProblem(p, input);
    if (problem) {
      skipped[p.name] = problem;
      continue;
    }
    protocols[protocolName(p.name)] = p.name;
    bfd ||= p.bfd !== undefined;
    blocks.push(peerBlock(p, { local: input.podIP, nextHop: input.podIP, exportFilter: `where proto = "${VIP_PROTOCOL}"` }, channel));
  }
  const lines = [
    '# Generated by plb-agent (src/agent/bgp/bird-config.ts). DO NOT EDIT: rewritten on every change.',
    `router id ${routerId(input.podIP)};`,
    'log stderr { info, remote, warning, error, auth, fatal, bug };',
    // Interfaces and their addresses, which BGP needs to pick the session's source; nothing goes to the kernel.
    'protocol device { scan time 10; }',
    ...(bfd ? ['protocol bfd plb_bfd { }'] : []),
    `protocol static ${VIP_PROTOCOL} {`,
    `  ${channel};`,
    ...(input.announce ? [`  route ${input.vip}/${family === 4 ? 32 : 128} blackhole;`] : []),
    '}',
    ...blocks.flatMap((b) => ['', ...b]),
  ];
  return { text: `${lines.join('\n')}\n`, summary: `${input.announce ? 'announcing' : 'not announcing'} ${input.vip}`, protocols, skipped };
}

/** The node's speaker (nextHopMode NodeIP): one session per router from the node's address for all its LB pods. */
export interface NodeSpeakerInput {
  /** The node's addresses (one per family): router id, session source and next hop. */
  nodeIPs: readonly string[];
  /** Each peer with the VIPs this node announces to it now (empty: the session stays, announcing nothing). */
  peers: ReadonlyArray<PeerConfig & { vips: readonly string[] }>;
}

export const NODE_VIP_PROTOCOL = { 4: 'plb_vips4', 6: 'plb_vips6' } as const;

export function renderNodeBirdConfig(input: NodeSpeakerInput): RenderedConfig {
  const protocols: Record<string, string> = {};
  const skipped: Record<string, string> = {};
  const blocks: string[][] = [];
  const vips = { 4: new Set<string>(), 6: new Set<string>() };
  let bfd = false;
  for (const p of [...input.peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const family = ipFamily(p.peerAddress);
    const local = input.nodeIPs.find((ip) => ipFamily(ip) === family);
    const problem = !local ? `the node has no IPv${family} address to speak to ${p.peerAddress} from` : p.password !== undefined ? passwordProblem(p.password) : undefined;
    if (problem || !local) {
      skipped[p.name] = problem ?? '';
      continue;
    }
    const mine = [...new Set(p.vips)].filter((v) => ipFamily(v) === family).map((v) => `${v}/${family === 4 ? 32 : 128}`).sort();
    for (const v of mine) vips[family].add(v);
    protocols[protocolName(p.name)] = p.name;
    bfd ||= p.bfd !== undefined;
    // Each router gets only the VIPs of the PLBs its BGPPeer serves.
    const exportFilter = mine.length > 0 ? `where proto = "${NODE_VIP_PROTOCOL[family]}" && net ~ [ ${mine.join(', ')} ]` : 'none';
    blocks.push(peerBlock(p, { local, nextHop: local, exportFilter }, family === 4 ? 'ipv4' : 'ipv6'));
  }
  const v4 = input.nodeIPs.find((ip) => ipFamily(ip) === 4);
  const lines = [
    '# Generated by plb-agent node-routes (src/agent/bgp/bird-config.ts). DO NOT EDIT: rewritten on every change.',
    `router id ${routerId(v4 ?? input.nodeIPs[0] ?? '0.0.0.0')};`,
    'log stderr { info, remote, warning, error, auth, fatal, bug };',
    'protocol device { scan time 10; }',
    ...(bfd ? ['protocol bfd plb_bfd { }'] : []),
    ...([4, 6] as const).flatMap((f) => [
      `protocol static ${NODE_VIP_PROTOCOL[f]} {`,
      `  ipv${f};`,
      ...[...vips[f]].sort().map((v) => `  route ${v} blackhole;`),
      '}',
    ]),
    ...blocks.flatMap((b) => ['', ...b]),
  ];
  const all = [...vips[4], ...vips[6]].sort();
  return { text: `${lines.join('\n')}\n`, summary: all.length > 0 ? `announcing ${all.join(', ')}` : 'announcing nothing', protocols, skipped };
}
