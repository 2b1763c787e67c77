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
#ifndef PLB_CSUM_H
#define PLB_CSUM_H

#include <linux/bpf.h>
#include "plb_parse.h"
#include "plb_structs.h"

#define PLB_IP_CSUM_OFF 10
#define PLB_IP_TTL_OFF 8

static __always_inline __u32 plb_l4_csum_off(const struct plb_packet *pkt)
{
	return pkt->l4_off + (pkt->proto == PLB_IPPROTO_TCP ? 16 : 6);
}

/* Software RFC 1624 updates: the XDP build's checksums, and in both builds the IP header checksum embedded in
 * ICMP errors (which no kernel helper knows about). */
static __always_inline __u16 plb_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), 32-bit field as two 16-bit words in wire order. */
static __always_inline __u16 plb_csum_update4(__u16 check, __u32 from, __u32 to)
{
	__u32 sum = (__u16)~check;

	sum += (~from & 0xffff) + (~from >> 16);
	sum += (to & 0xffff) + (to >> 16);
	return ~plb_fold(sum);
}

static __always_inline __u16 plb_csum_update2(__u16 check, __u16 from, __u16 to)
{
	__u32 sum = (__u16)~check;

	sum += (__u16)~from;
	sum += to;
	return ~plb_fold(sum);
}

#ifdef PLB_HOOK_XDP
static __always_inline int plb_rewrite(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *to)
{
	__u32 l4_csum_off = plb_l4_csum_off(pkt);
	__u16 ip_check, l4_check;
	__u16 old_ttl_word, new_ttl_word;
	__u8 ttl_proto[2] = { pkt->ttl - 1, pkt->proto };
	__be32 addrs[2] = { to->saddr, to->daddr };
	__be16 ports[2] = { to->sport, to->dport };

	if (plb_load(ctx, pkt->l3_off + PLB_IP_CSUM_OFF, &ip_check, 2) < 0 ||
	    plb_load(ctx, l4_csum_off, &l4_check, 2) < 0 ||
	    plb_load(ctx, pkt->l3_off + PLB_IP_TTL_OFF, &old_ttl_word, 2) < 0)
		return -1;
	__builtin_memcpy(&new_ttl_word, ttl_proto, 2);
	ip_check = plb_csum_update4(ip_check, pkt->saddr, to->saddr);
	ip_check = plb_csum_update4(ip_check, pkt->daddr, to->daddr);
	ip_check = plb_csum_update2(ip_check, old_ttl_word, new_ttl_word);
	/* UDP checksum 0 means "none": leave it so. */
	if (pkt->proto == PLB_IPPROTO_TCP || l4_check != 0) {
		l4_check = plb_csum_update4(l4_check, pkt->saddr, to->saddr);
		l4_check = plb_csum_update4(l4_check, pkt->daddr, to->daddr);
		l4_check = plb_csum_update2(l4_check, pkt->sport, to->sport);
		l4_check = plb_csum_update2(l4_check, pkt->dport, to->dport);
		if (pkt->proto == PLB_IPPROTO_UDP && l4_check == 0)
			l4_check = 0xffff;
	}
	if (plb_store(ctx, pkt->l3_off + PLB_IP_TTL_OFF, ttl_proto, 2) < 0 ||
	    plb_store(ctx, pkt->l3_off + PLB_IP_CSUM_OFF, &ip_check, 2) < 0 ||
	    plb_store(ctx, pkt->l3_off + 12, addrs, sizeof(addrs)) < 0 ||
	    plb_store(ctx, pkt->l4_off, ports, sizeof(ports)) < 0 ||
	    plb_store(ctx, l4_csum_off, &l4_check, 2) < 0)
		return -1;
	return 0;
}
#else
static __always_inline int plb_rewrite(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_flow *to)
{
	__u32 l3_csum = pkt->l3_off + PLB_IP_CSUM_OFF;
	__u32 l4_csum = plb_l4_csum_off(pkt);
	__u64 l4_flags = pkt->proto == PLB_IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u16 old_ttl_word, new_ttl_word;
	__u8 ttl_proto[2] = { pkt->ttl - 1, pkt->proto };
	__be32 addrs[2] = { to->saddr, to->daddr };
	__be16 ports[2] = { to->sport, to->dport };

	if (plb_load(ctx, pkt->l3_off + PLB_IP_TTL_OFF, &old_ttl_word, 2) < 0)
		return -1;
	__builtin_memcpy(&new_ttl_word, ttl_proto, 2);
	if (bpf_l4_csum_replace(ctx, l4_csum, pkt->saddr, to->saddr, l4_flags | BPF_F_PSEUDO_HDR | 4) < 0 ||
	    bpf_l4_csum_replace(ctx, l4_csum, pkt->daddr, to->daddr, l4_flags | BPF_F_PSEUDO_HDR | 4) < 0 ||
	    bpf_l4_csum_replace(ctx, l4_csum, pkt->sport, to->sport, l4_flags | 2) < 0 ||
	    bpf_l4_csum_replace(ctx, l4_csum, pkt->dport, to->dport, l4_flags | 2) < 0)
		return -1;
	if (bpf_l3_csum_replace(ctx, l3_csum, pkt->saddr, to->saddr, 4) < 0 ||
	    bpf_l3_csum_replace(ctx, l3_csum, pkt->daddr, to->daddr, 4) < 0 ||
	    bpf_l3_csum_replace(ctx, l3_csum, old_ttl_word, new_ttl_word, 2) < 0)
		return -1;
	if (plb_store(ctx, pkt->l3_off + PLB_IP_TTL_OFF, ttl_proto, 2) < 0 ||
	    plb_store(ctx, pkt->l3_off + 12, addrs, sizeof(addrs)) < 0 ||
	    plb_store(ctx, pkt->l4_off, ports, sizeof(ports)) < 0)
		return -1;
	return 0;
}
#endif

#endif
