// The ipvs data plane's sysctls, apart from the data plane itself: the operator's pod security (which sysctls an
// LB pod may set) reads them without loading the netlink transport, a native addon the operator never uses.

/** Per-netns IPVS settings (notes §2.5); conn_reuse_mode stays at its default on kernels >= 5.9. */
export const IPVS_SYSCTLS: Record<string, string> = {
  // conntrack entries for IPVS connections: what lets nf_nat masquerade them
  'net/ipv4/vs/conntrack': '1',
  // a packet of a connection whose destination was deleted expires it instead of being black-holed
  'net/ipv4/vs/expire_nodest_conn': '1',
  'net/ipv4/vs/expire_quiescent_template': '1',
};
