// SPDX-License-Identifier: GPL-2.0
/* portable-lb full-NAT load balancer. One source, two builds:
 *   clang ... -o plb_tc.bpf.o            section "tc"  (cls_bpf direct-action, the default on veth)
 *   clang ... -DPLB_HOOK_XDP -o plb_xdp.bpf.o section "xdp" (native or generic XDP, opt-in)
 * Stages: parse -> flow lookup (or create) -> forward (route, rewrite, redirect); a later IP fragment follows
 * its first fragment's translation (plb_frag.h). IPv4 and IPv6 run the same pipeline (plb_family.h). */
#include "plb_hook.h"
#include "plb_maps.h"
/* Before the passes: its IPv6 names are the ones plb_family.h renames to. */
#include "plb_addr.h"

/* The pipeline once per address family (plb_family.h): IPv6 first, so that the IPv4 one's names are the plain
 * ones and the entry below can call both. */
#define PLB_FAMILY 6
#include "plb_pipeline.h"
#undef PLB_FAMILY
#define PLB_FAMILY 4
#include "plb_pipeline.h"
#undef PLB_FAMILY

/* Whether the frame is addressed to another host's MAC: a bridge floods unicast frames to every port while it
 * has not learnt the destination (after a pod moved, or an FDB entry aged out), so an LB pod sees frames meant
 * for another LB replica's VIP traffic or another pod's. The kernel drops them (ip_rcv ignores PACKET_OTHERHOST);
 * translated, each would reach a backend a second time, from this pod's SNAT address, and its flow would take a
 * SNAT port here. They are left to the kernel untouched. TC reads the kernel's verdict; XDP runs before the
 * kernel has one and compares the destination MAC with the interface's (plb_config.mac), leaving broadcast and
 * multicast alone. */
static __always_inline int plb_other_host(PLB_CTX *ctx)
{
#ifdef PLB_HOOK_XDP
	__u32 zero = 0;
	struct plb_config *cfg = bpf_map_lookup_elem(&plb_config, &zero);
	__u8 dst[6];

	if (!cfg || (cfg->mac[0] | cfg->mac[1] | cfg->mac[2] | cfg->mac[3] | cfg->mac[4] | cfg->mac[5]) == 0)
		return 0;
	if (plb_load(ctx, 0, dst, sizeof(dst)) < 0 || (dst[0] & 1))
		return 0;
	return dst[0] != cfg->mac[0] || dst[1] != cfg->mac[1] || dst[2] != cfg->mac[2] || dst[3] != cfg->mac[3] ||
	       dst[4] != cfg->mac[4] || dst[5] != cfg->mac[5];
#else
	return ctx->pkt_type == PLB_PACKET_OTHERHOST;
#endif
}

/* Frames to another host's MAC are left alone whatever their family; then the IPv4 pipeline, which hands an
 * IPv6 frame on: its parse tells one apart only once the frame is not IPv4, so IPv4 pays nothing for it. */
static __always_inline int plb_main(PLB_CTX *ctx)
{
	int rc;

	if (plb_other_host(ctx)) {
		PLB_COUNT_GLOBAL(other_host);
		return PLB_VERDICT_PASS;
	}
	rc = plb_process(ctx);
	return rc == PLB_TO_IPV6 ? plb_process6(ctx) : rc;
}

#ifdef PLB_HOOK_XDP
SEC("xdp")
int plb_xdp(struct xdp_md *ctx)
{
	return plb_main(ctx);
}
#else
SEC("tc")
int plb_tc(struct __sk_buff *ctx)
{
	return plb_main(ctx);
}
#endif

char LICENSE[] SEC("license") = "GPL";
