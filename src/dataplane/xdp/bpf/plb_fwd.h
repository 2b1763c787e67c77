/* Sending a translated packet on: route lookup for the new destination, MACs, redirect.
 * In a pod with one eth0 the egress device is the ingress device, so this is a hairpin back to the node. */
#ifndef PLB_FWD_COMMON_H
#define PLB_FWD_COMMON_H
#include <linux/bpf.h>
#include "plb_stats.h"

/* plb_forward_check's "go on": not a hook verdict (those are >= 0 in both builds; TC_ACT_OK is PLB_CONTINUE's 0). */
#define PLB_ROUTED -1
#endif

/* Looks the route up before the packet is modified, so a packet we cannot route is dropped untouched. */
static __always_inline int plb_route(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *to,
				     struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = PLB_AF;
	fib->l4_protocol = pkt->proto;
	fib->sport = to->sport;
	fib->dport = to->dport;
	/* tot_len 0: let the kernel check the MTU against the skb itself, which understands GSO super-packets. */
	fib->tot_len = 0;
#if PLB_FAMILY == 4
	fib->ipv4_src = to->saddr;
	fib->ipv4_dst = to->daddr;
#else
	__builtin_memcpy(fib->ipv6_src, &to->saddr, sizeof(to->saddr));
	__builtin_memcpy(fib->ipv6_dst, &to->daddr, sizeof(to->daddr));
#endif
	fib->ifindex = plb_ctx_ifindex(ctx);
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/* Where the bytes the rewrite writes end: the L4 header's fixed part (TCP 20: ports .. checksum; UDP 8), or for
 * an ICMP error its header and the quoted IP header (at most 60; IPv6: 40) and ports. TCP options (MSS clamp) are left
 * to store_bytes, which pulls them itself in the rare SYN that needs it. */
static __always_inline __u32 plb_rewrite_end(const struct plb_packet *pkt, int icmp)
{
	if (icmp)
		return pkt->l4_off + 8 + (PLB_FAMILY == 4 ? 60 : 40) + 8;
	return pkt->l4_off + (pkt->proto == PLB_IPPROTO_TCP ? 20 : 8);
}

/* The checks before a translated packet is touched, the TTL and the route: PLB_ROUTED, or the hook verdict. */
static __always_inline int plb_forward_check(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *to,
					     struct bpf_fib_lookup *fib, int *rc)
{
	if (pkt->ttl <= 1) {
		/* Let the kernel send the ICMP time-exceeded for the untranslated packet. */
		PLB_COUNT_GLOBAL(ttl_expired);
		return PLB_VERDICT_PASS;
	}
	*rc = plb_route(ctx, pkt, to, fib);
	if (*rc != BPF_FIB_LKUP_RET_SUCCESS && *rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
		PLB_COUNT_SERVICE(to->service_id, fib_fail);
		return PLB_VERDICT_DROP;
	}
#ifdef PLB_HOOK_XDP
	/* XDP cannot ask the kernel to resolve a neighbour; passing the rewritten frame up would let the stack
	 * finish a CHECKSUM_PARTIAL checksum over our incremental update. Drop and count instead. */
	if (*rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		PLB_COUNT_GLOBAL(no_neigh);
		return PLB_VERDICT_DROP;
	}
#endif
	return PLB_ROUTED;
}

/* Sends the rewritten packet on by the route plb_forward_check found (`rc` its result). */
static __always_inline int plb_send(PLB_CTX *ctx, const struct bpf_fib_lookup *fib, int rc)
{
#ifndef PLB_HOOK_XDP
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh = {};

		PLB_COUNT_GLOBAL(no_neigh);
		nh.nh_family = PLB_AF;
#if PLB_FAMILY == 4
		nh.ipv4_nh = fib->ipv4_dst;
#else
		__builtin_memcpy(nh.ipv6_nh, fib->ipv6_dst, sizeof(nh.ipv6_nh));
#endif
		return bpf_redirect_neigh(fib->ifindex, &nh, sizeof(nh), 0);
	}
#endif
	/* Both MACs in one store (the route lookup returns them the other way round). */
	__u8 macs[12];

	__builtin_memcpy(macs, fib->dmac, 6);
	__builtin_memcpy(macs + 6, fib->smac, 6);
	if (plb_store(ctx, 0, macs, sizeof(macs)) < 0)
		return PLB_VERDICT_DROP;
	/* bpf_redirect also for the hairpin case: XDP_TX out of a veth needs an XDP program on the host-side peer. */
	return bpf_redirect(fib->ifindex, 0);
}

/* Returns the hook verdict. `icmp` is set when `pkt` is an ICMP error about the flow `to` belongs to. */
static PLB_STAGE int plb_forward(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *to,
				       const struct plb_icmp_error *icmp)
{
	struct bpf_fib_lookup fib;
	int rc = 0, verdict;

	verdict = plb_forward_check(ctx, pkt, to, &fib, &rc);
	if (verdict != PLB_ROUTED)
		return verdict;
	plb_linearise(ctx, pkt->len, plb_rewrite_end(pkt, icmp != 0));
	if (icmp) {
		if (plb_icmp_rewrite(ctx, pkt, icmp, to) < 0)
			return PLB_VERDICT_DROP;
	} else if (plb_rewrite(ctx, pkt, to) < 0 || plb_clamp_mss(ctx, pkt, to) < 0) {
		return PLB_VERDICT_DROP;
	}
	return plb_send(ctx, &fib, rc);
}

#if PLB_FAMILY == 4
/* A later fragment of a datagram whose first fragment was translated to `to`: the same addresses (the IP header
 * and its checksum), nothing else. It has no L4 header; the L4 checksum in the first fragment covers the whole
 * datagram, and the first fragment's rewrite updated it for the new addresses and ports (RFC 1624 differences
 * need only the fields that change), so the backend's (or client's) reassembly finds it right. */
static __always_inline int plb_forward_fragment(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *to)
{
	struct bpf_fib_lookup fib;
	int rc = 0, verdict;

	verdict = plb_forward_check(ctx, pkt, to, &fib, &rc);
	if (verdict != PLB_ROUTED)
		return verdict;
	plb_linearise(ctx, pkt->len, pkt->l4_off);
	if (plb_rewrite_ip(ctx, pkt, to) < 0)
		return PLB_VERDICT_DROP;
	return plb_send(ctx, &fib, rc);
}
#endif
