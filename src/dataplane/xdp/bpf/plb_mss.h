/* TCP MSS clamping of the SYN and SYN-ACK packets the program translates. Packets leaving through bpf_redirect
 * skip netfilter, so an iptables/nftables TCPMSS rule on the node never sees them: on an overlay with a smaller
 * MTU both ends would announce 1460 and send segments the tunnel has to drop (PMTUD through the LB works, but
 * only after a loss and a retransmit per connection). The clamp is per service (plb_service.mss_clamp, written
 * by user space as the overlay MTU - 40, or - 60 for an IPv6 VIP); 0 leaves the option alone. A family header
 * (plb_family.h): the option walk is the same for both, the service lookup by the family's VIP. */
#ifndef PLB_MSS_COMMON_H
#define PLB_MSS_COMMON_H
#include <bpf/bpf_endian.h>
#include "plb_maps.h"

#define PLB_TCPOPT_EOL 0
#define PLB_TCPOPT_NOP 1
#define PLB_TCPOPT_MSS 2
#define PLB_TCPOLEN_MSS 4
/* Options are at most 40 bytes and every step consumes at least one, so 40 steps see all of them. */
#define PLB_TCPOPT_STEPS 40
#endif

/* The clamp of the service this flow belongs to: its VIP tuple is the destination of a client's packet, the
 * translated source of a backend's reply. */
static __always_inline __u16 plb_mss_clamp_of(const struct plb_packet *pkt, const struct plb_flow *flow)
{
	struct plb_service_key key = { .proto = pkt->proto };
	struct plb_service *svc;

	if (flow->dir == PLB_DIR_FORWARD) {
		key.vip = pkt->daddr;
		key.port = pkt->dport;
	} else {
		key.vip = flow->saddr;
		key.port = flow->sport;
	}
	svc = bpf_map_lookup_elem(&plb_services, &key);
	return svc ? svc->mss_clamp : 0;
}

/* Offset of the MSS option's value from the start of the TCP header, 0 when the segment has none (or the
 * options are malformed: such a segment is forwarded as it is). */
static __always_inline __u32 plb_mss_option(PLB_CTX *ctx, const struct plb_packet *pkt)
{
	__u8 doff, opt[2];
	__u32 off = 20, end;
	int i;

	if (plb_load(ctx, pkt->l4_off + 12, &doff, 1) < 0)
		return 0;
	end = (doff >> 4) * 4;
	/* Unrolled: 6.1's verifier rejects this loop's back-edge (see plb_claim_snat_port). */
#pragma unroll
	for (i = 0; i < PLB_TCPOPT_STEPS; i++) {
		/* No early exit at the end of the options: with one, clang cannot count the iterations to unroll. */
		if (off + PLB_TCPOLEN_MSS <= end) {
			if (plb_load(ctx, pkt->l4_off + off, opt, 2) < 0 || opt[0] == PLB_TCPOPT_EOL)
				return 0;
			if (opt[0] == PLB_TCPOPT_MSS)
				return opt[1] == PLB_TCPOLEN_MSS ? off + 2 : 0;
			if (opt[0] != PLB_TCPOPT_NOP && opt[1] < 2)
				return 0;
			off += opt[0] == PLB_TCPOPT_NOP ? 1 : opt[1];
		}
	}
	return 0;
}

/* Lowers the MSS option of a SYN or SYN-ACK to `clamp` if it is larger. Returns -1 only when the packet could
 * not be written (the caller drops it). */
static PLB_STAGE int plb_clamp_mss(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *flow)
{
	__u16 clamp, old_word, new_word;
	__be16 mss, lowered;
	__u32 off, csum_off = plb_l4_csum_off(pkt);

	if (pkt->proto != PLB_IPPROTO_TCP || !(pkt->tcp_flags & PLB_TCP_SYN))
		return 0;
	clamp = plb_mss_clamp_of(pkt, flow);
	if (clamp == 0)
		return 0;
	off = plb_mss_option(ctx, pkt);
	if (off == 0 || plb_load(ctx, pkt->l4_off + off, &mss, 2) < 0 || bpf_ntohs(mss) <= clamp)
		return 0;
	lowered = bpf_htons(clamp);
	/* The checksum sums 16-bit words from the start of the TCP header. A value at an odd offset (after a
	 * single NOP, say) straddles two words, which in the sum is the same as its bytes swapped. */
	old_word = (off & 1) ? __builtin_bswap16(mss) : mss;
	new_word = (off & 1) ? __builtin_bswap16(lowered) : lowered;
#ifdef PLB_HOOK_XDP
	__u16 old_sum, new_sum;

	if (plb_load(ctx, csum_off, &old_sum, 2) < 0)
		return -1;
	new_sum = plb_csum_update2(old_sum, old_word, new_word);
	if (plb_store(ctx, csum_off, &new_sum, 2) < 0)
		return -1;
#else
	/* Not a pseudo-header field: for a CHECKSUM_PARTIAL skb the helper leaves the seed alone, as it must. */
	if (bpf_l4_csum_replace(ctx, csum_off, old_word, new_word, 2) < 0)
		return -1;
#endif
	return plb_store(ctx, pkt->l4_off + off, &lowered, 2) < 0 ? -1 : 0;
}
