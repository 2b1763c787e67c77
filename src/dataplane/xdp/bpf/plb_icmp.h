/* ICMP errors (destination unreachable incl. fragmentation-needed, time exceeded) about a translated flow.
 * They quote the offending packet's IP header and first 8 L4 bytes. Without translation PMTUD breaks: the node
 * (or a router) reports "frag needed" to the LB's SNAT address or to the VIP, and the endpoint that has to shrink
 * its segments never hears of it.
 *
 * The quoted packet travelled in one direction of a flow; the flow-table entry for the *other* direction (its
 * reply tuple = the quoted tuple reversed) holds exactly the translation to apply: the error goes where that
 * entry sends packets, and the quoted packet is rewritten to what that endpoint originally sent. */
#ifndef PLB_ICMP_COMMON_H
#define PLB_ICMP_COMMON_H
#include "plb_maps.h"

/* The fixed part of an ICMP (and ICMPv6) header (linux/icmp.h drags in libc headers that a BPF build cannot use). */
struct plb_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest;
};

/* Whether a frag-needed towards a backend may be translated now: takes a token from plb_icmp_rl, which gains one
 * every PLB_ICMP_FRAG_INTERVAL_NS up to PLB_ICMP_FRAG_BURST. Without a lock, as the kernel's own
 * icmp_global_allow: CPUs racing on the bucket may let one or two more or fewer through. A full bucket restarts
 * its clock, so a burst after a quiet time is exactly PLB_ICMP_FRAG_BURST. */
static __always_inline int plb_icmp_frag_allowed(void)
{
	__u32 zero = 0;
	struct plb_icmp_bucket *b = bpf_map_lookup_elem(&plb_icmp_rl, &zero);
	__u64 now = bpf_ktime_get_ns(), add, stamp;

	if (!b)
		return 0;
	stamp = b->stamp_ns;
	/* another CPU may have restarted the clock after this one read it */
	add = now > stamp ? (now - stamp) / PLB_ICMP_FRAG_INTERVAL_NS : 0;
	if (add > 0) {
		if (b->tokens + add >= PLB_ICMP_FRAG_BURST) {
			b->tokens = PLB_ICMP_FRAG_BURST;
			b->stamp_ns = now;
		} else {
			b->tokens += add;
			b->stamp_ns = stamp + add * PLB_ICMP_FRAG_INTERVAL_NS;
		}
	}
	if (b->tokens == 0)
		return 0;
	b->tokens--;
	return 1;
}

#endif

struct plb_icmp_error {
	__u32 inner_l3;
	__u32 inner_l4;
	plb_addr_t saddr; /* of the quoted packet */
	plb_addr_t daddr;
	__be16 sport;
	__be16 dport;
	__u16 ip_check;   /* IPv4: the quoted header's checksum */
	__u8 proto;
	__u8 frag_needed; /* IPv4: type 3 code 4; IPv6: packet too big */
	__u32 mtu;        /* its next-hop MTU (host order; ICMPv6 has 32 bits for it) */
};

/* Returns 0 and fills `err` for an ICMP error quoting a TCP/UDP packet, -1 otherwise. IPv6: ICMPv6's
 * destination unreachable, packet too big and time exceeded; neighbour discovery, echo and the rest of ICMPv6
 * are not errors about a flow, and are left to the kernel (or, to the VIP, dropped). */
static __always_inline int plb_parse_icmp_error(PLB_CTX *ctx, const struct plb_packet *pkt, struct plb_icmp_error *err)
{
	struct plb_icmphdr icmp;
#if PLB_FAMILY == 4
	struct iphdr inner;
#else
	struct plb_ipv6hdr inner;
#endif
	__be16 ports[2];
	__u8 proto;

	if (plb_load(ctx, pkt->l4_off, &icmp, sizeof(icmp)) < 0)
		return -1;
#if PLB_FAMILY == 4
	if (icmp.type != PLB_ICMP_DEST_UNREACH && icmp.type != PLB_ICMP_TIME_EXCEEDED)
		return -1;
#else
	if (icmp.type != PLB_ICMP6_DEST_UNREACH && icmp.type != PLB_ICMP6_PACKET_TOO_BIG &&
	    icmp.type != PLB_ICMP6_TIME_EXCEEDED)
		return -1;
#endif
	err->inner_l3 = pkt->l4_off + sizeof(icmp);
	if (plb_load(ctx, err->inner_l3, &inner, sizeof(inner)) < 0)
		return -1;
#if PLB_FAMILY == 4
	if (inner.version != 4 || inner.ihl < 5)
		return -1;
	proto = inner.protocol;
	err->inner_l4 = err->inner_l3 + inner.ihl * 4;
	err->ip_check = inner.check;
	err->frag_needed = icmp.type == PLB_ICMP_DEST_UNREACH && icmp.code == PLB_ICMP_FRAG_NEEDED;
	err->mtu = bpf_ntohl(icmp.rest) & 0xffff;
#else
	if ((inner.vtc >> 4) != 6)
		return -1;
	proto = inner.nexthdr;
	err->inner_l4 = err->inner_l3 + sizeof(inner);
	err->ip_check = 0;
	err->frag_needed = icmp.type == PLB_ICMP6_PACKET_TOO_BIG;
	err->mtu = bpf_ntohl(icmp.rest);
#endif
	if (proto != PLB_IPPROTO_TCP && proto != PLB_IPPROTO_UDP)
		return -1;
	if (plb_load(ctx, err->inner_l4, ports, sizeof(ports)) < 0)
		return -1;
	err->saddr = inner.saddr;
	err->daddr = inner.daddr;
	err->sport = ports[0];
	err->dport = ports[1];
	err->proto = proto;
	return 0;
}


/* The flow entry that says where the error must go: keyed by the quoted packet's reply tuple. */
static __always_inline struct plb_flow *plb_icmp_flow(const struct plb_icmp_error *err)
{
	struct plb_flow_key key = {};

	key.saddr = err->daddr;
	key.daddr = err->saddr;
	key.sport = err->dport;
	key.dport = err->sport;
	key.proto = err->proto;
	return bpf_map_lookup_elem(&plb_flows, &key);
}

#if PLB_FAMILY == 4
/* Outer header: src/dst become the flow's translated addresses. Quoted packet: becomes what the receiving
 * endpoint sent, i.e. the reverse of the translated tuple. The quoted L4 checksum is left alone: it is often
 * truncated and receivers do not verify it. */
static PLB_STAGE int plb_icmp_rewrite(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_icmp_error *err,
					    const struct plb_flow *to)
{
	__u32 icmp_csum = pkt->l4_off + 2;
	__be32 inner[2] = { to->daddr, to->saddr };
	__be16 inner_ports[2] = { to->dport, to->sport };
	__u16 inner_check;

	inner_check = plb_csum_update4(err->ip_check, err->saddr, inner[0]);
	inner_check = plb_csum_update4(inner_check, err->daddr, inner[1]);
#ifdef PLB_HOOK_XDP
	__u16 check;

	if (plb_load(ctx, icmp_csum, &check, 2) < 0)
		return -1;
	check = plb_csum_update4(check, err->saddr, inner[0]);
	check = plb_csum_update4(check, err->daddr, inner[1]);
	check = plb_csum_update2(check, err->sport, inner_ports[0]);
	check = plb_csum_update2(check, err->dport, inner_ports[1]);
	check = plb_csum_update2(check, err->ip_check, inner_check);
	if (plb_store(ctx, icmp_csum, &check, 2) < 0)
		return -1;
#else
	/* ICMP has no pseudo-header and is never CHECKSUM_PARTIAL: plain replacements. */
	if (bpf_l4_csum_replace(ctx, icmp_csum, err->saddr, inner[0], 4) < 0 ||
	    bpf_l4_csum_replace(ctx, icmp_csum, err->daddr, inner[1], 4) < 0 ||
	    bpf_l4_csum_replace(ctx, icmp_csum, err->sport, inner_ports[0], 2) < 0 ||
	    bpf_l4_csum_replace(ctx, icmp_csum, err->dport, inner_ports[1], 2) < 0 ||
	    bpf_l4_csum_replace(ctx, icmp_csum, err->ip_check, inner_check, 2) < 0)
		return -1;
#endif
	if (plb_rewrite_ip(ctx, pkt, to) < 0 ||
	    plb_store(ctx, err->inner_l3 + PLB_IP_CSUM_OFF, &inner_check, 2) < 0 ||
	    plb_store(ctx, err->inner_l3 + 12, inner, sizeof(inner)) < 0 ||
	    plb_store(ctx, err->inner_l4, inner_ports, sizeof(inner_ports)) < 0)
		return -1;
	return 0;
}
#else
/* As for IPv4, without the quoted IP header checksum (IPv6 has none), and with the outer addresses in the
 * ICMPv6 checksum: unlike ICMP's, it covers a pseudo-header. Every change is one difference: the outer
 * addresses (a pseudo-header change, which the TC helper must know for a CHECKSUM_PARTIAL skb) and the quoted
 * addresses and ports (payload). */
static PLB_STAGE int plb_icmp_rewrite(PLB_CTX *ctx, const struct plb_packet *pkt, const struct plb_icmp_error *err,
					    const struct plb_flow *to)
{
	__u32 icmp_csum = pkt->l4_off + 2;
	__be16 inner_ports[2] = { to->dport, to->sport };
	__u32 outer = plb_addr_delta(pkt->saddr, to->saddr) + plb_addr_delta(pkt->daddr, to->daddr);
	/* the quoted packet's source becomes the flow's new destination, its destination the new source */
	__u32 quoted = plb_addr_delta(err->saddr, to->daddr) + plb_addr_delta(err->daddr, to->saddr) +
		       plb_csum_delta4(plb_ports_word(err->sport, err->dport), plb_ports_word(inner_ports[0], inner_ports[1]));
#ifdef PLB_HOOK_XDP
	__u16 check;

	if (plb_load(ctx, icmp_csum, &check, 2) < 0)
		return -1;
	check = plb_csum_apply(check, outer + quoted);
	if (plb_store(ctx, icmp_csum, &check, 2) < 0)
		return -1;
#else
	if (bpf_l4_csum_replace(ctx, icmp_csum, 0, outer, BPF_F_PSEUDO_HDR) < 0 ||
	    bpf_l4_csum_replace(ctx, icmp_csum, 0, quoted, 0) < 0)
		return -1;
#endif
	if (plb_rewrite_ip(ctx, pkt, to) < 0 ||
	    plb_store(ctx, err->inner_l3 + 8, (void *)&to->daddr, sizeof(to->daddr)) < 0 ||
	    plb_store(ctx, err->inner_l3 + 24, (void *)&to->saddr, sizeof(to->saddr)) < 0 ||
	    plb_store(ctx, err->inner_l4, inner_ports, sizeof(inner_ports)) < 0)
		return -1;
	return 0;
}
#endif
