// Which hook to use on a device, and what the user must know about it. Pure.
import type { AttachRequest, ServiceObservation, XdpHook } from '../types.js';

export interface DeviceFacts {
  name: string;
  /** rtnetlink "kind" (veth, vxlan, ...) or null for a physical NIC. */
  kind: string | null;
}

export interface AttachChoice {
  /** Hooks to try, in order; the first that attaches wins. */
  candidates: XdpHook[];
  warnings: string[];
}

export function chooseAttach(request: AttachRequest, device: DeviceFacts): AttachChoice {
  const veth = device.kind === 'veth';
  switch (request) {
    case 'tc':
      return { candidates: ['tc'], warnings: [] };
    case 'auto':
      // On a veth, XDP needs host-side cooperation the pod cannot arrange and strips GSO from the peer; TC
      // keeps checksums and GSO intact. Elsewhere try native XDP and fall back to TC if the driver lacks it.
      return { candidates: veth ? ['tc'] : ['native', 'tc'], warnings: [] };
    case 'native':
      return {
        candidates: ['native'],
        warnings: veth
          ? [`native XDP on veth ${device.name}: redirected frames are only delivered if the host-side peer has ` +
            `GRO enabled or an XDP program, and packets from senders on this node with tx checksum offload on ` +
            `(the veth default) arrive with partial checksums this hook cannot complete; use attach: tc unless ` +
            `the node is prepared for it`]
          : [],
      };
    case 'generic':
      return {
        candidates: ['generic'],
        warnings: [`generic XDP on ${device.name}: packets from senders on this node keep partial checksums ` +
          `that this hook's incremental update makes wrong; use attach: tc for same-node clients or backends`],
      };
  }
}

/** New flows below this are too few to call a hook stalled (a client may simply not have been answered yet). */
export const STALL_MIN_NEW_FLOWS = 20;

/**
 * The self-test the notes ask for: with XDP on a veth whose host-side peer does not consume redirected frames
 * (no GRO, no XDP program there), requests are translated and sent but nothing ever comes back, and the pod sees
 * no error counter. TCP services with many new flows and zero reply packets are that signature.
 */
export function stalledHookWarnings(hook: XdpHook | null, iface: string | null, services: ServiceObservation[]): string[] {
  if (hook === null || hook === 'tc') return [];
  return services
    .filter((s) => s.protocol === 'TCP' && s.newFlows >= STALL_MIN_NEW_FLOWS && s.replyPackets === 0)
    .map((s) => `${hook} XDP on ${iface ?? '?'}: ${s.newFlows} new flows to ${s.vip}:${s.port} and no reply packets; ` +
      'the host-side peer is probably not taking redirected frames (it needs GRO or an XDP program), use attach: tc');
}
