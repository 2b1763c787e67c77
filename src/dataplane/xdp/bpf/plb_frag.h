/* IP fragments of TCP/UDP datagrams, as Cilium tracks them (bpf/lib/ipv4.h, ipv4_handle_fragmentation): the kernel
 * does not reassemble before this hook, and only a datagram's first fragment carries the L4 header. The first is
 * translated as any packet and leaves its translation in plb_frags, keyed by what every fragment carries
 * (addresses, IP ID, protocol); the later ones look it up and get the same addresses. Both directions: a backend's
 * large reply to the SNAT address is keyed by its own fragments the same way.
 *
 * A later fragment without a record (it came before its first fragment, the first was lost or not translated, or
 * the record is older than PLB_FRAG_SECONDS) cannot be translated: addressed to the VIP it is dropped and counted
 * (frag_untracked; Cilium drops it too), and the sender's datagram is lost (UDP: the application retries). To any
 * other address it is left to the kernel: fragments to the pod itself (a large DNS answer to the agent) are the
 * pod's own, and the kernel reassembles them. Fragments of a backend's reply that overtook their first fragment are
 * left to it as well, which holds them until ipfrag_time and drops them.
 *
 * IPv4 only: IPv6 fragments (a fragment header) are not translated (plb_parse6: at the VIP, dropped). */
#if PLB_FAMILY == 4

static __always_inline void plb_frag_key_of(const struct plb_packet *pkt, struct plb_frag_key *key)
{
	key->saddr = pkt->saddr;
	key->daddr = pkt->daddr;
	key->id = pkt->ip_id;
	key->proto = pkt->proto;
	key->pad = 0;
}

/* The first fragment of a datagram is being translated to `to`: its later fragments will follow. A record left
 * by an earlier datagram with the same IP ID is replaced. */
static __always_inline void plb_frag_record(const struct plb_packet *pkt, const struct plb_flow *to)
{
	struct plb_frag_key key;
	struct plb_flow rec = *to;

	plb_frag_key_of(pkt, &key);
	rec.last_seen = plb_now();
	bpf_map_update_elem(&plb_frags, &key, &rec, BPF_ANY);
}

static __always_inline int plb_later_fragment(PLB_CTX *ctx, const struct plb_packet *pkt)
{
	struct plb_frag_key key;
	struct plb_flow *rec;
	struct plb_flow to;

	plb_frag_key_of(pkt, &key);
	rec = bpf_map_lookup_elem(&plb_frags, &key);
	if (rec && plb_now() - rec->last_seen <= PLB_FRAG_SECONDS) {
		to = *rec;
		plb_count_packet(&to, pkt->len, 0);
		return plb_forward_fragment(ctx, pkt, &to);
	}
	if (plb_to_vip(pkt)) {
		PLB_COUNT_GLOBAL(frag_untracked);
		return PLB_VERDICT_DROP;
	}
	return PLB_VERDICT_PASS;
}

#endif
