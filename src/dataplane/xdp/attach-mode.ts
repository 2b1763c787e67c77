// Which hook to use on a device, and what the user must know about it. Pure.
import type { XdpHook, AttachRequest } from '../types.js';

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
