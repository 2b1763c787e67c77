// How the steady load (steady-load.mjs) counts a failed attempt: `connect` when the TCP handshake never completed
// (the attempt found no LB pod that forwards it), `inFlight` when the connection was up, then broke.
//
// Node reports any error before its 'connect' event as a connect error, but a reset can arrive after the kernel
// completed the handshake and before the event loop saw that. The kernel tells the two apart: a RST answering the
// SYN sets ECONNREFUSED (tcp_reset() in SYN_SENT), ECONNRESET is only set on a connection past it. An ECONNRESET
// is therefore in flight, whenever Node noticed it. The lab sees one when an ECMP rehash falls between the
// SYN-ACK and the client's ACK: the LB pod that gets the ACK holds no NAT state for the flow and resets it
// (src/dataplane/nftables/render.ts, vipChain), as it does for any connection the rehash moves.
export function failureKind(connected, code) {
  return connected || code === 'ECONNRESET' ? 'inFlight' : 'connect';
}
