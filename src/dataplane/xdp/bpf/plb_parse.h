/* Parsing: Ethernet + IPv4 or IPv6 + TCP/UDP into a small struct, without touching the packet. A family header
 * (plb_family.h): its pass's address type and names. */
#ifndef PLB_PARSE_COMMON_H
#define PLB_PARSE_COMMON_H
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include "plb_addr.h"
#include "plb_consts.h"
#include "plb_hook.h"
#include "plb_stats.h"

/* The IPv6 fixed header (linux/ipv6.h drags in libc headers that a BPF build cannot use). */
struct plb_ipv6hdr {
	__u8 vtc;     /* version (4 bits), traffic class (high 4 bits) */
	__u8 flow[3];
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	struct plb_addr6 saddr;
	struct plb_addr6 daddr;
};

/* As struct plb_l2l3 for IPv6: `pad` puts the addresses on a 4-byte boundary. */
struct plb_l2l3_6 {
	__u16 pad;
	struct ethhdr eth;
	struct plb_ipv6hdr ip;
};

/* The Ethernet header and the IP header's fixed part, read with one load: `pad` puts `ip` on a 4-byte boundary.
 * A frame too short for both was passed either way (not IPv4, or an IP header that could not be read). */
struct plb_l2l3 {
	__u16 pad;
	struct ethhdr eth;
	struct iphdr ip;
};
#endif

struct plb_packet {
	__u32 l3_off;
	__u32 l4_off;
	plb_addr_t saddr;
	plb_addr_t daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u8 ttl;       /* IPv6: the hop limit */
	__u8 frag;      /* PLB_FRAG_* (IPv6: always none, its fragments are not translated) */
	__u16 ip_check; /* the IP header checksum as received (IPv4: IPv6 has none) */
	__be16 ip_id;   /* of a fragment: which datagram it belongs to (with the addresses and the protocol) */
	__u32 len;
};

/* The parse's L4 part, the same for both families: the ports and TCP's flags. ICMP and ICMPv6 (`icmp`) have no
 * ports; their errors are matched through the packet they quote (plb_icmp.h). */
static __always_inline int plb_parse_l4(PLB_CTX *ctx, struct plb_packet *pkt, __u8 icmp)
{
	__be16 ports[2];

	pkt->tcp_flags = 0;
	if (pkt->proto == icmp) {
		pkt->sport = 0;
		pkt->dport = 0;
		return PLB_CONTINUE;
	}
	if (plb_load(ctx, pkt->l4_off, ports, sizeof(ports)) < 0)
		return PLB_FINAL_PASS;
	pkt->sport = ports[0];
	pkt->dport = ports[1];
	if (pkt->proto == PLB_IPPROTO_TCP && plb_load(ctx, pkt->l4_off + 13, &pkt->tcp_flags, 1) < 0)
		return PLB_FINAL_PASS;
	return PLB_CONTINUE;
}

#if PLB_FAMILY == 4
/* Returns PLB_CONTINUE for a TCP/UDP/ICMP IPv4 packet we may translate (a first fragment of TCP/UDP included),
 * PLB_LATER_FRAGMENT for a later fragment of TCP/UDP (addresses, IP ID and offsets set, no ports), PLB_IS_IPV6
 * for an IPv6 frame (tested only once the frame is known not to be IPv4: the IPv4 path pays nothing for it),
 * PLB_FINAL_PASS for anything else. */
static __always_inline int plb_parse(PLB_CTX *ctx, struct plb_packet *pkt)
{
	struct plb_l2l3 h;

	pkt->daddr = 0;
	pkt->len = plb_ctx_len(ctx);
	if (plb_load(ctx, 0, &h.eth, sizeof(h.eth) + sizeof(h.ip)) < 0)
		return PLB_FINAL_PASS;
	if (h.eth.h_proto != bpf_htons(PLB_ETH_P_IP))
		return h.eth.h_proto == bpf_htons(PLB_ETH_P_IPV6) ? PLB_IS_IPV6 : PLB_FINAL_PASS;
	pkt->l3_off = sizeof(h.eth);
	if (h.ip.version != 4 || h.ip.ihl < 5)
		return PLB_FINAL_PASS;
	/* Known from here on, also for what is not translated: what reaches the VIP and no service takes is
	 * dropped (plb_unserved). */
	pkt->saddr = h.ip.saddr;
	pkt->daddr = h.ip.daddr;
	pkt->proto = h.ip.protocol;
	if (h.ip.protocol != PLB_IPPROTO_TCP && h.ip.protocol != PLB_IPPROTO_UDP && h.ip.protocol != PLB_IPPROTO_ICMP)
		return PLB_FINAL_PASS;
	pkt->l4_off = pkt->l3_off + h.ip.ihl * 4;
	pkt->ttl = h.ip.ttl;
	pkt->ip_check = h.ip.check;
	pkt->frag = PLB_FRAG_NONE;
	/* Only the first fragment carries the ports: it is translated as any packet and leaves a record by IP ID
	 * that the later ones follow (plb_frag.h). An ICMP message in fragments is no error we could translate. */
	if (h.ip.frag_off & bpf_htons(PLB_IP_MF | PLB_IP_OFFSET)) {
		PLB_COUNT_GLOBAL(fragments);
		if (pkt->proto == PLB_IPPROTO_ICMP)
			return PLB_FINAL_PASS;
		pkt->ip_id = h.ip.id;
		if (h.ip.frag_off & bpf_htons(PLB_IP_OFFSET)) {
			pkt->frag = PLB_FRAG_LATER;
			return PLB_LATER_FRAGMENT;
		}
		pkt->frag = PLB_FRAG_FIRST;
	}
	/* A first fragment too short for the ports (or, TCP, the flags) is not translated (at the VIP: dropped, and
	 * its later fragments find no record): RFC 1858's tiny fragments, which no sender that means well makes. */
	return plb_parse_l4(ctx, pkt, PLB_IPPROTO_ICMP);
}
#else
/* Returns PLB_CONTINUE for a TCP/UDP/ICMPv6 IPv6 packet we may translate, PLB_FINAL_PASS for anything else.
 * Only packets whose first header is TCP, UDP or ICMPv6 are translated: what carries extension headers
 * (hop-by-hop options, routing, destination options) or is fragmented (the fragment header, 44) is not (at the
 * VIP: dropped as unserved). Neighbour discovery and the rest of ICMPv6 for the pod itself reach the kernel:
 * only ICMPv6 errors about a flow are translated (plb_icmp.h), and only what is addressed to the VIP is
 * dropped. */
static __always_inline int plb_parse(PLB_CTX *ctx, struct plb_packet *pkt)
{
	struct plb_l2l3_6 h;

	__builtin_memset(&pkt->daddr, 0, sizeof(pkt->daddr));
	pkt->len = plb_ctx_len(ctx);
	if (plb_load(ctx, 0, &h.eth, sizeof(h.eth) + sizeof(h.ip)) < 0 || h.eth.h_proto != bpf_htons(PLB_ETH_P_IPV6))
		return PLB_FINAL_PASS;
	pkt->l3_off = sizeof(h.eth);
	if ((h.ip.vtc >> 4) != 6)
		return PLB_FINAL_PASS;
	pkt->saddr = h.ip.saddr;
	pkt->daddr = h.ip.daddr;
	pkt->proto = h.ip.nexthdr;
	pkt->frag = PLB_FRAG_NONE;
	if (h.ip.nexthdr == PLB_IPPROTO_FRAGMENT)
		PLB_COUNT_GLOBAL(fragments);
	if (h.ip.nexthdr != PLB_IPPROTO_TCP && h.ip.nexthdr != PLB_IPPROTO_UDP && h.ip.nexthdr != PLB_IPPROTO_ICMPV6)
		return PLB_FINAL_PASS;
	pkt->l4_off = pkt->l3_off + sizeof(h.ip);
	pkt->ttl = h.ip.hop_limit;
	pkt->ip_check = 0;
	return plb_parse_l4(ctx, pkt, PLB_IPPROTO_ICMPV6);
}
#endif

static __always_inline int plb_is_syn(const struct plb_packet *pkt)
{
	return pkt->proto == PLB_IPPROTO_TCP && (pkt->tcp_flags & (PLB_TCP_SYN | PLB_TCP_ACK)) == PLB_TCP_SYN;
}
