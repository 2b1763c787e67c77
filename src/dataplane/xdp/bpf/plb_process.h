/* The process stage: a packet of the pass's family through parse -> flow lookup (or create) -> forward. A family
 * header (plb_family.h). */

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
static PLB_STAGE int plb_reverse_miss(PLB_CTX *ctx, const struct plb_packet *pkt)
{
	__u32 zero = 0;
	struct plb_config *cfg = bpf_map_lookup_elem(&plb_config, &zero);
	struct bpf_sock_tuple t;
	struct bpf_sock *sk;

	if (!cfg || plb_addr_zero(PLB_CFG_SNAT(cfg)) || !plb_addr_eq(pkt->daddr, PLB_CFG_SNAT(cfg)) ||
	    !plb_snat_allowed(cfg, bpf_ntohs(pkt->dport)))
		return 0;
	__builtin_memset(&t, 0, sizeof(t));
#if PLB_FAMILY == 4
	t.ipv4.saddr = pkt->saddr;
	t.ipv4.daddr = pkt->daddr;
	t.ipv4.sport = pkt->sport;
	t.ipv4.dport = pkt->dport;
#define PLB_TUPLE_SIZE sizeof(t.ipv4)
#else
	__builtin_memcpy(t.ipv6.saddr, &pkt->saddr, sizeof(pkt->saddr));
	__builtin_memcpy(t.ipv6.daddr, &pkt->daddr, sizeof(pkt->daddr));
	t.ipv6.sport = pkt->sport;
	t.ipv6.dport = pkt->dport;
#define PLB_TUPLE_SIZE sizeof(t.ipv6)
#endif
	if (pkt->proto == PLB_IPPROTO_TCP)
		sk = bpf_skc_lookup_tcp(ctx, &t, PLB_TUPLE_SIZE, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(ctx, &t, PLB_TUPLE_SIZE, BPF_F_CURRENT_NETNS, 0);
#undef PLB_TUPLE_SIZE
	if (sk) {
		bpf_sk_release(sk);
		return 0;
	}
	PLB_COUNT_GLOBAL(reverse_miss);
	return 1;
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

/* `to` and `err` are the caller's room (struct plb_work) for the translation and the error's parse. */
static __always_inline int plb_process_icmp(PLB_CTX *ctx, const struct plb_packet *pkt, struct plb_flow *to,
					    struct plb_icmp_error *err)
{
	struct plb_flow *hit;

	if (plb_parse_icmp_error(ctx, pkt, err) < 0)
		goto not_translated;
	hit = plb_icmp_flow(err);
	if (!hit)
		goto not_translated;
	*to = *hit;
	/* An error goes back to the sender of the packet it quotes; anything else is not ours to rewrite. */
	if (!plb_addr_eq(pkt->daddr, err->saddr))
		goto not_translated;
	/* Anyone can send a frag-needed quoting its own flow: translated to the backend, it lowers the path MTU
	 * towards the SNAT address for all clients. Below Linux's floor it is refused (PLB_ICMP_MIN_MTU; IPv6's
	 * packet too big below its minimum MTU, PLB_ICMP6_MIN_MTU), and beyond the bucket's budget
	 * (PLB_ICMP_FRAG_RATE, one bucket for both families) it is dropped. */
	if (err->frag_needed && err->mtu < PLB_ICMP_FLOOR) {
		PLB_COUNT_GLOBAL(icmp_refused);
		return PLB_VERDICT_DROP;
	}
	/* The forward entry sends it to a backend: rate-limited (PLB_ICMP_FRAG_RATE). */
	if (err->frag_needed && to->dir == PLB_DIR_FORWARD && !plb_icmp_frag_allowed()) {
		PLB_COUNT_GLOBAL(icmp_rate_limited);
		return PLB_VERDICT_DROP;
	}
	PLB_COUNT_GLOBAL(icmp_translated);
	return plb_forward(ctx, pkt, to, err);
not_translated:
	/* ICMP echo to the VIP, or an error to it about no flow of ours. */
	return plb_unserved(pkt) ? PLB_VERDICT_DROP : PLB_VERDICT_PASS;
}

/* What one packet's processing keeps: on the stack for IPv4; for IPv6 (128-bit addresses) in a per-CPU scratch
 * map, because with them on the stack the pipeline's deepest call chain (process, create flow, SNAT takeover)
 * needed more than the 512 bytes of stack the verifier allows for a whole chain. */
struct plb_work {
	struct plb_packet pkt;
	struct plb_flow_key key;
	struct plb_flow flow;
	struct plb_icmp_error err;
};

#if PLB_FAMILY == 6
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct plb_work);
} plb_work6 SEC(".maps");
#endif

/* One packet of the pass's family: the hook verdict, or (IPv4 pass) PLB_TO_IPV6 for an IPv6 frame. Not inlined:
 * the entry calls the IPv4 or the IPv6 pipeline, and each gets the 512 bytes of stack for itself. */
static __noinline int plb_process(PLB_CTX *ctx)
{
#if PLB_FAMILY == 4
	struct plb_work work, *w = &work;
#else
	__u32 zero = 0;
	struct plb_work *w = bpf_map_lookup_elem(&plb_work6, &zero);
#endif
	struct plb_flow *hit, *prev = 0;
	struct plb_service svc;
	int new_flow = 0, reopen = 0, rc;

#if PLB_FAMILY == 6
	if (!w)
		return PLB_VERDICT_PASS;
#endif
	rc = plb_parse(ctx, &w->pkt);
#if PLB_FAMILY == 4
	if (rc == PLB_IS_IPV6)
		return PLB_TO_IPV6;
	if (rc == PLB_LATER_FRAGMENT)
		return plb_later_fragment(ctx, &w->pkt);
#endif
	if (rc != PLB_CONTINUE)
		/* Another protocol (or an ICMP fragment, a tiny first fragment) to the VIP. */
		return plb_unserved(&w->pkt) ? PLB_VERDICT_DROP : PLB_VERDICT_PASS;
	if (w->pkt.proto == PLB_IPPROTO_ICMP || w->pkt.proto == PLB_IPPROTO_ICMPV6)
		return plb_process_icmp(ctx, &w->pkt, &w->flow, &w->err);
	plb_key_of(&w->pkt, &w->key);
	hit = bpf_map_lookup_elem(&plb_flows, &w->key);
	if (hit) {
		w->flow = *hit;
		if (plb_repicks(&w->pkt, &w->flow)) {
			prev = hit;
			hit = 0;
			reopen = 1;
		}
	}
	if (!hit) {
		if (plb_lookup_service(&w->pkt, &svc) < 0) {
			if (plb_unserved(&w->pkt) || plb_reverse_miss(ctx, &w->pkt))
				return PLB_VERDICT_DROP;
			PLB_COUNT_GLOBAL(passed);
			return PLB_VERDICT_PASS;
		}
		/* Mid-stream TCP without an entry (state lost) is re-created too: Maglev and keep-port SNAT choose
		 * the same backend and tuple again, so the connection survives instead of being reset. */
		rc = plb_create_flow(&w->pkt, &svc, &w->flow, reopen);
		if (rc < 0)
			return PLB_VERDICT_DROP;
		new_flow = 1;
		/* The stored entries were kept: they start over as a new connection (state SYN, seen now). */
		if (rc > 0 && prev)
			hit = prev;
	}
	if (hit)
		plb_touch(&w->pkt, hit, &w->flow);
	plb_count_packet(&w->flow, w->pkt.len, new_flow);
#if PLB_FAMILY == 4
	if (w->pkt.frag == PLB_FRAG_FIRST)
		plb_frag_record(&w->pkt, &w->flow);
#endif
	return plb_forward(ctx, &w->pkt, &w->flow, 0);
}
