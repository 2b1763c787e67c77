/* Rewriting addresses, ports and TTL with correct checksums.
 *
 * TC: the kernel helpers know skb->ip_summed. For CHECKSUM_PARTIAL packets (sent by a socket on this node through
 * a veth with tx checksumming on, the default) the L4 field holds only the pseudo-header seed; the helpers update
 * the seed for address changes and leave it alone for port changes, which is what the later checksum completion
 * needs. An incremental update written by hand would corrupt exactly those packets (notes, experiment C/D).
 *
 * XDP: no ip_summed is visible, so this build does RFC 1624 incremental updates. That is correct for packets
 * with complete checksums (what a physical NIC delivers) and wrong for CHECKSUM_PARTIAL ones; which is why XDP is
 * opt-in and never chosen for veth by `attach: auto`. */
#ifndef PLB_CSUM_COMMON_H
#define PLB_CSUM_COMMON_H
#include <linux/bpf.h>
#include "plb_addr.h"
#include "plb_hook.h"
#include "plb_structs.h"

#define PLB_IP_CSUM_OFF 10
#define PLB_IP_TTL_OFF 8
#define PLB_IP6_HOP_LIMIT_OFF 7

/* Software RFC 1624 updates: the IP header checksum in both builds (it is always complete: no offload state to
 * respect), the XDP build's L4 checksums, the IP header checksum embedded in ICMP errors (which no kernel helper
 * knows about), and the TC build's summed L4 differences. */
static __always_inline __u16 plb_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

static __always_inline __u32 plb_csum_delta2(__u16 from, __u16 to)
{
	return (__u16)~from + (__u32)to;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + delta). Applying the sum of several fields' deltas once gives the same 16 bits
 * as applying them one by one (the folded sum of a non-zero total has one representation). Two folds take any
 * 32-bit sum to 16 bits; `delta` is below 2^22 here (at most 36 16-bit words: two IPv6 addresses, the ports,
 * and for an ICMPv6 error the quoted packet's). */
static __always_inline __u16 plb_csum_apply(__u16 check, __u32 delta)
{
	return ~plb_fold((__u16)~check + delta);
}

static __always_inline __u16 plb_csum_update4(__u16 check, __u32 from, __u32 to)
{
	return plb_csum_apply(check, plb_csum_delta4(from, to));
}

static __always_inline __u16 plb_csum_update2(__u16 check, __u16 from, __u16 to)
{
	return plb_csum_apply(check, plb_csum_delta2(from, to));
}

/* The IPv4 header from the TTL to the destination address (offsets 8-19), as a translation writes it. */
struct plb_ip_rewrite {
	__u8 ttl;
	__u8 proto;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};

/* Source and destination port as the one 32-bit word they are on the wire. */
static __always_inline __u32 plb_ports_word(__be16 sport, __be16 dport)
{
	__be16 ports[2] = { sport, dport };
	__u32 word;

	__builtin_memcpy(&word, ports, sizeof(word));
	return word;
}
#endif

static __always_inline __u32 plb_l4_csum_off(const struct plb_packet *pkt)
{
	return pkt->l4_off + (pkt->proto == PLB_IPPROTO_TCP ? 16 : 6);
}

#if PLB_FAMILY == 4
/* New source and destination, the TTL one less, and the header checksum that goes with them: one store of 12
 * bytes, the checksum from the one the parse read. Both builds; the TC build used to make three
 * bpf_l3_csum_replace calls and two stores for it. */
static __always_inline int plb_rewrite_ip(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *to)
{
	__be32 saddr = to->saddr, daddr = to->daddr;
	struct plb_ip_rewrite h = { .ttl = pkt->ttl - 1, .proto = pkt->proto, .saddr = saddr, .daddr = daddr };
	__u8 old_ttl_proto[2] = { pkt->ttl, pkt->proto };
	__u16 old_word, new_word;

	__builtin_memcpy(&old_word, old_ttl_proto, 2);
	__builtin_memcpy(&new_word, &h, 2);
	h.check = plb_csum_apply(pkt->ip_check, plb_csum_delta4(pkt->saddr, saddr) + plb_csum_delta4(pkt->daddr, daddr) +
						    plb_csum_delta2(old_word, new_word));
	return plb_store(ctx, pkt->l3_off + PLB_IP_TTL_OFF, &h, sizeof(h));
}
#else
/* The hop limit one less, and the new source and destination straight from the flow entry's copy (they are
 * adjacent there as in the header: one store of 32 bytes, no 16-byte copies on the stack). IPv6 has no header
 * checksum; the addresses are in the L4 checksum's pseudo-header, which plb_rewrite updates. */
static __always_inline int plb_rewrite_ip(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *to)
{
	__u8 hop_limit = pkt->ttl - 1;

	if (plb_store(ctx, pkt->l3_off + PLB_IP6_HOP_LIMIT_OFF, &hop_limit, 1) < 0)
		return -1;
	return plb_store(ctx, pkt->l3_off + PLB_IP6_HOP_LIMIT_OFF + 1, (void *)&to->saddr, 2 * sizeof(to->saddr));
}
#endif

#ifdef PLB_HOOK_XDP
static PLB_STAGE int plb_rewrite(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *to)
{
	__u32 l4_csum_off = plb_l4_csum_off(pkt);
	__u32 new_ports = plb_ports_word(to->sport, to->dport);
	__u16 l4_check;

	if (plb_load(ctx, l4_csum_off, &l4_check, 2) < 0)
		return -1;
	/* UDP checksum 0 means "none": leave it so. */
	if (pkt->proto == PLB_IPPROTO_TCP || l4_check != 0) {
		l4_check = plb_csum_apply(l4_check, plb_addr_delta(pkt->saddr, to->saddr) +
							    plb_addr_delta(pkt->daddr, to->daddr) +
							    plb_csum_delta4(plb_ports_word(pkt->sport, pkt->dport), new_ports));
		if (pkt->proto == PLB_IPPROTO_UDP && l4_check == 0)
			l4_check = 0xffff;
	}
	if (plb_rewrite_ip(ctx, pkt, to) < 0 || plb_store(ctx, pkt->l4_off, &new_ports, 4) < 0 ||
	    plb_store(ctx, l4_csum_off, &l4_check, 2) < 0)
		return -1;
	return 0;
}
#else
/* Two helper calls for the L4 checksum instead of four: the addresses' summed delta as a pseudo-header change
 * (size 0: `to` is a difference), and the two ports as one 32-bit field, which is no pseudo-header change (for a
 * CHECKSUM_PARTIAL skb the helper leaves the seed alone for it, as it must). */
static PLB_STAGE int plb_rewrite(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *to)
{
	__u32 l4_csum = plb_l4_csum_off(pkt);
	__u64 l4_flags = pkt->proto == PLB_IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u32 addrs_delta = plb_addr_delta(pkt->saddr, to->saddr) + plb_addr_delta(pkt->daddr, to->daddr);
	__u32 new_ports = plb_ports_word(to->sport, to->dport);

	if (bpf_l4_csum_replace(ctx, l4_csum, 0, addrs_delta, l4_flags | BPF_F_PSEUDO_HDR) < 0 ||
	    bpf_l4_csum_replace(ctx, l4_csum, plb_ports_word(pkt->sport, pkt->dport), new_ports, l4_flags | 4) < 0)
		return -1;
	if (plb_rewrite_ip(ctx, pkt, to) < 0 || plb_store(ctx, pkt->l4_off, &new_ports, 4) < 0)
		return -1;
	return 0;
}
#endif
