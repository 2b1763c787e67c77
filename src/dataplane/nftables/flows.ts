// Which conntrack entries an apply must delete: the flows the rules can no longer change. Pure.
//
// nftables' NAT decides once per connection; conntrack then keeps the translation for as long as packets come.
// A UDP client on a fixed source port (DNS forwarders, SIP, games, QUIC behind a NAT) therefore keeps talking
// to a removed backend for ever: every datagram refreshes the entry, and when the pod IP is reused the
// datagrams reach someone else's pod. kube-proxy deletes the UDP entries of removed endpoints for exactly this
// (pkg/proxy/conntrack); so does this plane, for every backend that stops being active (draining counts: a
// UDP "connection" has no end a drain could wait for). The client's next datagram is a new flow and is balanced
// over the active backends.
// TCP flows to a draining backend keep running: that is what draining is for. When its drain ends (drainSeconds
// after its removal, planBackends drops it) its remaining TCP entries are deleted too: the next segment of such
// a flow is no longer translated, the LB answers it with a RST (render.ts: the vip chain), so both ends learn at
// once that the connection is over instead of waiting for a timeout.
import type { DesiredState, L4Protocol } from '../types.js';
import type { BackendState } from './names.js';

/** The conntrack entries of one backend of one service: `conntrack -D` with these as filters. */
export interface FlowFlush {
  protocol: L4Protocol;
  vip: string;
  port: number;
  backend: string;
  targetPort: number;
  why: 'no longer active' | 'drain ended';
}

/**
 * The entries to delete after `next` is committed, given what was committed before (`prev`). A backend that is
 * active again (re-added while draining) keeps its flows; one that was never active here has none.
 */
export function flowsToEnd(prev: ReadonlyMap<string, BackendState>, next: ReadonlyMap<string, BackendState>, desired: DesiredState): FlowFlush[] {
  const out: FlowFlush[] = [];
  for (const [ip, was] of prev) {
    const now = next.get(ip);
    if (now?.state === 'active') continue;
    for (const p of desired.ports) {
      const flush = (why: FlowFlush['why']) =>
        out.push({ protocol: p.protocol, vip: desired.vip, port: p.port, backend: ip, targetPort: p.targetPort, why });
      // Also when a draining backend leaves: a flush lost to a crash between commit and delete is done then.
      if (p.protocol === 'UDP' && (was.state === 'active' || now === undefined)) flush('no longer active');
      else if (p.protocol === 'TCP' && now === undefined) flush('drain ended');
    }
  }
  return out;
}
