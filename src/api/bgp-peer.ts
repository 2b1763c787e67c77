// A BGPPeer as the speaker needs it: defaults applied, durations in seconds, the password resolved. Pure; shared
// by the operator (which resolves the peers of each PortableLoadBalancer for its LB pods) and the standalone
// agent (which reads BGPPeer documents from its file). Objects read from the API carry the schema defaults
// already; objects from a file do not, so both paths go through here.
import type { BGPPeerSpec } from './generated.js';

export type NextHopMode = NonNullable<BGPPeerSpec['nextHopMode']>;

export interface BfdSettings {
  /** Milliseconds. */
  receiveInterval: number;
  transmitInterval: number;
  detectMultiplier: number;
}

/** One router an LB pod peers with. */
export interface PeerConfig {
  /** The BGPPeer's name; names the session in BIRD and in status. */
  name: string;
  peerAddress: string;
  peerASN: number;
  myASN: number;
  peerPort: number;
  /** Seconds. */
  holdTime: number;
  keepaliveTime: number;
  connectTime: number;
  ebgpMultihop: boolean;
  password?: string;
  bfd?: BfdSettings;
  nextHopMode: NextHopMode;
}

/** The CRD's defaults (crds/portablelb.io_bgppeers.yaml), for peers that did not come through the API server. */
export const BGP_PEER_DEFAULTS = { peerPort: 179, holdTime: '9s', connectTime: '2s', nextHopMode: 'PodIP' as NextHopMode };
export const BFD_DEFAULTS: BfdSettings = { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 };

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** "1m30s" -> 90; the CRD admits whole seconds only (h, m, s). Throws on anything else. */
export function durationSeconds(text: string, field: string): number {
  const m = DURATION.exec(text);
  if (!m || text === '') throw new Error(`${field} must be a duration in whole seconds such as 9s or 1m30s, got "${text}"`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

export function peerConfig(name: string, spec: BGPPeerSpec, password?: string): PeerConfig {
  const holdTime = durationSeconds(spec.holdTime ?? BGP_PEER_DEFAULTS.holdTime, 'holdTime');
  const keepaliveTime = spec.keepaliveTime ? durationSeconds(spec.keepaliveTime, 'keepaliveTime') : Math.max(1, Math.floor(holdTime / 3));
  return {
    name,
    peerAddress: spec.peerAddress,
    peerASN: spec.peerASN,
    myASN: spec.myASN,
    peerPort: spec.peerPort ?? BGP_PEER_DEFAULTS.peerPort,
    holdTime,
    keepaliveTime,
    connectTime: durationSeconds(spec.connectTime ?? BGP_PEER_DEFAULTS.connectTime, 'connectTime'),
    ebgpMultihop: spec.ebgpMultihop ?? false,
    ...(password !== undefined ? { password } : {}),
    ...(spec.bfd ? { bfd: { ...BFD_DEFAULTS, ...spec.bfd } as BfdSettings } : {}),
    nextHopMode: spec.nextHopMode ?? BGP_PEER_DEFAULTS.nextHopMode,
  };
}
