/* Parsing: Ethernet + IPv4 + TCP/UDP into a small struct, without touching the packet. */
#ifndef PLB_PARSE_H
#define PLB_PARSE_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include "plb_consts.h"
#include "plb_hook.h"
#include "plb_stats.h"

struct plb_packet {
	__u32 l3_off;
	__u32 l4_off;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u8 ttl;
	__u8 frag;      /* PLB_FRAG_* */
	__u16 ip_check; /* the IP header checksum as received */
	__be16 ip_id;   /* of a fragment: which datagram it belongs to (with the addresses and the protocol) */
	__u32 len;
};

/* The Ethernet header and the IP header's fixed part, read with one load: `pad` puts `ip` on a 4-byte boundary.
 * A frame too short for both was passed either way (not IPv4, or an IP header that could not be read). */
struct plb_l2l3 {
	__u16 pad;
	struct ethhdr eth;
	struct iphdr ip;
};

/* Returns PLB_CONTINUE for a TCP/UDP/ICMP IPv4 packet we may translate (a first fragment of TCP/UDP included),
 * PLB_LATER_FRAGMENT for a later fragment of TCP/UDP (addresses, IP ID and offsets set, no ports), PLB_FINAL_PASS
 * for anything else. */
static __always_inline int plb_parse(PLB_CTX *ctx, struct plb_packet *pkt)
{
	struct plb_l2l3 h;
	__be16 ports[2];

	pkt->daddr = 0;
	pkt->len = plb_ctx_len(ctx);
	if (plb_load(ctx, 0, &h.eth, sizeof(h.eth) + sizeof(h.ip)) < 0 || h.eth.h_proto != bpf_htons(PLB_ETH_P_IP))
		return PLB_FINAL_PASS;
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
	pkt->tcp_flags = 0;
	if (pkt->proto == PLB_IPPROTO_ICMP) {
		/* ICMP has no ports; errors are matched through the packet they quote (plb_icmp.h). */
		pkt->sport = 0;
		pkt->dport = 0;
		return PLB_CONTINUE;
	}
	/* A first fragment too short for the ports (or, TCP, the flags) is not translated (at the VIP: dropped, and
	 * its later fragments find no record): RFC 1858's tiny fragments, which no sender that means well makes. */
	if (plb_load(ctx, pkt->l4_off, ports, sizeof(ports)) < 0)
		return PLB_FINAL_PASS;
	pkt->sport = ports[0];
	pkt->dport = ports[1];
	if (pkt->proto == PLB_IPPROTO_TCP && plb_load(ctx, pkt->l4_off + 13, &pkt->tcp_flags, 1) < 0)
		return PLB_FINAL_PASS;
	return PLB_CONTINUE;
}

static __always_inline int plb_is_syn(const struct plb_packet *pkt)
{
	return pkt->proto == PLB_IPPROTO_TCP && (pkt->tcp_flags & (PLB_TCP_SYN | PLB_TCP_ACK)) == PLB_TCP_SYN;
}

#endif
