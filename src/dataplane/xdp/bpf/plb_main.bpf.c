// SPDX-License-Identifier: GPL-2.0
/* portable-lb full-NAT load balancer. One source, two builds:
 *   clang ... -o plb_tc.bpf.o            section "tc"  (cls_bpf direct-action, the default on veth)
 *   clang ... -DPLB_HOOK_XDP -o plb_xdp.bpf.o section "xdp" (native or generic XDP, opt-in)
 * Stages: parse -> flow lookup (or create) -> forward (route, rewrite, redirect); a later IP fragment follows
 * its first fragment's translation (plb_frag.h). */
#include "plb_hook.h"
#include "plb_parse.h"
#include "plb_maps.h"
#include "plb_nat.h"
#include "plb_fwd.h"
#include "plb_frag.h"

/* Whether a packet that no service takes is addressed to the VIP. The LB pod's kernel forwards what the
 * program leaves to it (ip_forward is on, and the VIP is not a local address: the program translates it), back
 * to the node, which routes the VIP to this pod again: every packet to an unserved port, ICMP echo, another
 * protocol or an IP fragment to the VIP looped until its TTL ran out (200 datagrams to VIP:9999 made the node
 * forward ~6 200 packets). Such packets are dropped, silently as the nftables plane's vip chain does: an answer
 * (RST, ICMP unreachable) would only tell a scanner more, and silence amplifies nothing. */
static __always_inline int plb_unserved(const struct plb_packet *pkt)
{
	if (!plb_to_vip(pkt))
		return 0;
	PLB_COUNT_GLOBAL(unserved);
	return 1;
}

/* Whether a packet that no flow and no service takes is a backend's reply whose flow entries are gone: to the
 * SNAT address, on a SNAT port, and no socket of the pod's own takes it. The LRU evicts entries under flow-table
 * pressure (an idle long-lived connection's first: websockets, gRPC streams, server-sent events), and the GC
 * expires idle flows. Left to the kernel, such a reply met no socket, and the kernel answered the backend with a
 * RST (or ICMP port unreachable), ending a connection its client still had. Dropped, the backend retransmits
 * and the client's next segment creates the entries again (same backend and, mostly, the same SNAT port); a
 * connection nobody has any more ends at the backend's own timeouts. The pod's own sockets never get a SNAT port
 * as their ephemeral port (that range is left out of the SNAT ports), but the pod may listen on one (its health
 * server): what a local socket takes, TIME_WAIT and request sockets included, is left to the kernel. */
static __always_inline int plb_reverse_miss(PLB_CTX *ctx, const struct plb_packet *pkt)
{
	__u32 zero = 0;
	struct plb_config *cfg = bpf_map_lookup_elem(&plb_config, &zero);
	struct bpf_sock_tuple t;
	struct bpf_sock *sk;

	if (!cfg || cfg->snat_ip == 0 || pkt->daddr != cfg->snat_ip || !plb_snat_allowed(cfg, bpf_ntohs(pkt->dport)))
		return 0;
	__builtin_memset(&t, 0, sizeof(t));
	t.ipv4.saddr = pkt->saddr;
	t.ipv4.daddr = pkt->daddr;
	t.ipv4.sport = pkt->sport;
	t.ipv4.dport = pkt->dport;
	if (pkt->proto == PLB_IPPROTO_TCP)
		sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		bpf_sk_release(sk);
		return 0;
	}
	PLB_COUNT_GLOBAL(reverse_miss);
	return 1;
}

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

static __always_inline int plb_lookup_service(const struct plb_packet *pkt, struct plb_service *out)
{
	struct plb_service_key key = { .vip = pkt->daddr, .port = pkt->dport, .proto = pkt->proto };
	struct plb_service *svc = bpf_map_lookup_elem(&plb_services, &key);

	if (!svc)
		return -1;
	*out = *svc;
	return 0;
}

/* The flow's backend is no longer active (removed: draining; or its id free). */
static __always_inline int plb_backend_gone(const struct plb_flow *flow)
{
	__u32 id = flow->backend_id;
	struct plb_backend *b = bpf_map_lookup_elem(&plb_backends, &id);

	return !b || b->state != PLB_BACKEND_ACTIVE;
}

/* Whether a packet that hit the forward entry `flow` starts the flow over by the current ring (Maglev is
 * deterministic: while the ring is unchanged that is the same backend and SNAT tuple, whose TIME_WAIT socket at
 * the backend accepts a reopening SYN).
 * UDP, when its backend is gone: UDP has no connection that a change of backend would break, and a client on a
 * fixed source port (DNS forwarders, syslog, QUIC, games) would otherwise keep sending to a removed backend for
 * as long as it sends: to nobody, or to whoever gets the pod IP next (kube-proxy deletes such conntrack entries
 * for this reason, IPVS has expire_nodest_conn).
 * A SYN, only when the flow is closing (a client reusing its port: the new connection gets the current ring's
 * choice) or its backend is gone (Katran's rule). Re-picking on every SYN split a SYN retransmitted across a
 * ring change over two backends (the SYN-ACK of the first is answered with a RST), and let a spoofed SYN move
 * another client's established flow to another backend. */
static __always_inline int plb_repicks(const struct plb_packet *pkt, const struct plb_flow *flow)
{
	if (flow->dir != PLB_DIR_FORWARD)
		return 0;
	if (pkt->proto == PLB_IPPROTO_UDP)
		return plb_backend_gone(flow);
	if (plb_is_syn(pkt))
		return flow->state == PLB_FLOW_CLOSING || plb_backend_gone(flow);
	return 0;
}

static __always_inline int plb_process_icmp(PLB_CTX *ctx, const struct plb_packet *pkt)
{
	struct plb_icmp_error err;
	struct plb_flow *hit;
	struct plb_flow to;

	if (plb_parse_icmp_error(ctx, pkt, &err) < 0)
		goto not_translated;
	hit = plb_icmp_flow(&err);
	if (!hit)
		goto not_translated;
	to = *hit;
	/* An error goes back to the sender of the packet it quotes; anything else is not ours to rewrite. */
	if (pkt->daddr != err.saddr)
		goto not_translated;
	/* Anyone can send a frag-needed quoting its own flow: translated to the backend, it lowers the path MTU
	 * towards the SNAT address for all clients. Below Linux's floor it is refused (PLB_ICMP_MIN_MTU), and
	 * beyond the bucket's budget (PLB_ICMP_FRAG_RATE) it is dropped. */
	if (err.frag_needed && err.mtu < PLB_ICMP_MIN_MTU) {
		PLB_COUNT_GLOBAL(icmp_refused);
		return PLB_VERDICT_DROP;
	}
	/* The forward entry sends it to a backend: rate-limited (PLB_ICMP_FRAG_RATE). */
	if (err.frag_needed && to.dir == PLB_DIR_FORWARD && !plb_icmp_frag_allowed()) {
		PLB_COUNT_GLOBAL(icmp_rate_limited);
		return PLB_VERDICT_DROP;
	}
	PLB_COUNT_GLOBAL(icmp_translated);
	return plb_forward(ctx, pkt, &to, &err);
not_translated:
	/* ICMP echo to the VIP, or an error to it about no flow of ours. */
	return plb_unserved(pkt) ? PLB_VERDICT_DROP : PLB_VERDICT_PASS;
}

static __always_inline int plb_process(PLB_CTX *ctx)
{
	struct plb_packet pkt;
	struct plb_flow_key key;
	struct plb_flow flow;
	struct plb_flow *hit, *prev = 0;
	struct plb_service svc;
	int new_flow = 0, reopen = 0, rc;

	if (plb_other_host(ctx)) {
		PLB_COUNT_GLOBAL(other_host);
		return PLB_VERDICT_PASS;
	}
	rc = plb_parse(ctx, &pkt);
	if (rc == PLB_LATER_FRAGMENT)
		return plb_later_fragment(ctx, &pkt);
	if (rc != PLB_CONTINUE)
		/* Another protocol (or an ICMP fragment, a tiny first fragment) to the VIP. */
		return plb_unserved(&pkt) ? PLB_VERDICT_DROP : PLB_VERDICT_PASS;
	if (pkt.proto == PLB_IPPROTO_ICMP)
		return plb_process_icmp(ctx, &pkt);
	plb_key_of(&pkt, &key);
	hit = bpf_map_lookup_elem(&plb_flows, &key);
	if (hit) {
		flow = *hit;
		if (plb_repicks(&pkt, &flow)) {
			prev = hit;
			hit = 0;
			reopen = 1;
		}
	}
	if (!hit) {
		if (plb_lookup_service(&pkt, &svc) < 0) {
			if (plb_unserved(&pkt) || plb_reverse_miss(ctx, &pkt))
				return PLB_VERDICT_DROP;
			PLB_COUNT_GLOBAL(passed);
			return PLB_VERDICT_PASS;
		}
		/* Mid-stream TCP without an entry (state lost) is re-created too: Maglev and keep-port SNAT choose
		 * the same backend and tuple again, so the connection survives instead of being reset. */
		rc = plb_create_flow(&pkt, &svc, &flow, reopen);
		if (rc < 0)
			return PLB_VERDICT_DROP;
		new_flow = 1;
		/* The stored entries were kept: they start over as a new connection (state SYN, seen now). */
		if (rc > 0 && prev)
			hit = prev;
	}
	if (hit)
		plb_touch(&pkt, hit, &flow);
	plb_count_packet(&flow, pkt.len, new_flow);
	if (pkt.frag == PLB_FRAG_FIRST)
		plb_frag_record(&pkt, &flow);
	return plb_forward(ctx, &pkt, &flow, 0);
}

#ifdef PLB_HOOK_XDP
SEC("xdp")
int plb_xdp(struct xdp_md *ctx)
{
	return plb_process(ctx);
}
#else
SEC("tc")
int plb_tc(struct __sk_buff *ctx)
{
	return plb_process(ctx);
}
#endif

char LICENSE[] SEC("license") = "GPL";
