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
  /** The node's address: next hop in NodeIP mode. */
  nodeIP?: string;
  peers: readonly PeerConfig[];
}

export interface RenderedConfig {
  text: string;
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
  if (p.nextHopMode === 'NodeIP' && !input.nodeIP) return 'nextHopMode NodeIP, but the node address is unknown (HOST_IP is not set)';
  if (p.password !== undefined) return passwordProblem(p.password);
  return undefined;
}

function peerBlock(p: PeerConfig, input: SpeakerInput, channel: 'ipv4' | 'ipv6'): string[] {
  const nextHop = p.nextHopMode === 'NodeIP' ? input.nodeIP! : input.podIP;
  const ibgp = p.peerASN === p.myASN;
  const lines = [
    `# BGPPeer ${p.name}`,
    `protocol bgp ${protocolName(p.name)} {`,
    `  local ${input.podIP} as ${p.myASN};`,
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
    `    export where proto = "${VIP_PROTOCOL}";`,
    `    next hop address ${nextHop};`,
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
    blocks.push(peerBlock(p, input, channel));
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
  return { text: `${lines.join('\n')}\n`, protocols, skipped };
}
