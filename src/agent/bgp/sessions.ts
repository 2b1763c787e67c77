// `show protocols all` and `show bfd sessions` -> one state per peer. Pure, tested against BIRD's real output.
import type { BirdReply } from './birdc.js';

export interface SessionState {
  /** The BGPPeer's name. */
  peer: string;
  peerAddress: string;
  /** Idle, Connect, Active, OpenSent, OpenConfirm, Established (BIRD's BGP state), or Down when disabled. */
  state: string;
  /** Up, Down, Init, AdminDown; undefined when the peer has no BFD or BIRD has no session for it yet. */
  bfdState?: string;
  /** Established and the VIP exported over it. */
  announced: boolean;
  lastError?: string;
}

interface ProtocolInfo {
  name: string;
  state?: string;
  neighbor?: string;
  lastError?: string;
  exported: number;
}

/** Splits `show protocols all` into protocols: each starts with a 1002 line. */
export function parseProtocols(reply: BirdReply): ProtocolInfo[] {
  const out: ProtocolInfo[] = [];
  let cur: ProtocolInfo | undefined;
  for (const { code, text } of reply.lines) {
    if (code === 1002) {
      const name = text.trim().split(/\s+/)[0] ?? '';
      cur = { name, exported: 0 };
      out.push(cur);
      const info = /\s(up|down|start|stop)\s+\S+\s+(.*)$/.exec(text.trim());
      if (info?.[2]) cur.state = info[2].trim().split(/\s+/)[0];
      continue;
    }
    if (!cur) continue;
    const t = text.trim();
    let m: RegExpExecArray | null;
    if ((m = /^BGP state:\s+(\S+)/.exec(t))) cur.state = m[1];
    else if ((m = /^Neighbor address:\s+(\S+)/.exec(t))) cur.neighbor = m[1];
    else if ((m = /^Last error:\s+(.+)$/.exec(t))) cur.lastError = m[1];
    else if ((m = /^Routes:\s+\d+ imported, (\d+) exported/.exec(t))) cur.exported = Number(m[1]);
  }
  return out;
}

/** `show bfd sessions`: address -> state (Up, Down, Init, AdminDown). */
export function parseBfdSessions(reply: BirdReply): Map<string, string> {
  const states = new Map<string, string>();
  for (const { text } of reply.lines) {
    const m = /^\s*([0-9a-fA-F:.]+)\s+\S+\s+(Up|Down|Init|AdminDown)\b/.exec(text);
    if (m) states.set(m[1]!, m[2]!);
  }
  return states;
}

/**
 * One state per peer the config rendered (protocol name -> peer), plus the skipped ones with their reason.
 * A BGP protocol BIRD reports as "down" (disabled, or failed to start) shows as Down with its last error.
 */
export function sessionStates(
  protocols: Record<string, string>,
  peerAddress: Record<string, string>,
  bfdWanted: Record<string, boolean>,
  shown: readonly ProtocolInfo[],
  bfd: ReadonlyMap<string, string>,
  skipped: Record<string, string> = {},
): SessionState[] {
  const out: SessionState[] = [];
  for (const [proto, peer] of Object.entries(protocols)) {
    const p = shown.find((s) => s.name === proto);
    const address = peerAddress[peer] ?? p?.neighbor ?? '';
    const state = p?.state ?? 'Idle';
    const bfdState = bfdWanted[peer] ? (bfd.get(address) ?? 'Down') : undefined;
    out.push({
      peer,
      peerAddress: address,
      state,
      ...(bfdState ? { bfdState } : {}),
      announced: state === 'Established' && (p?.exported ?? 0) > 0,
      ...(p?.lastError ? { lastError: p.lastError } : {}),
    });
  }
  for (const [peer, why] of Object.entries(skipped)) {
    out.push({ peer, peerAddress: peerAddress[peer] ?? '', state: 'Idle', announced: false, lastError: why });
  }
  return out.sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
}
