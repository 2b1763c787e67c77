/* Flow table: finding the translation of a packet, or creating both directions of a new flow. */
#ifndef PLB_NAT_H
#define PLB_NAT_H

#include "plb_maps.h"
#include "plb_parse.h"
#include "plb_stats.h"

static __always_inline __u32 plb_mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

/* The Maglev slot depends on the client's address and port, so short connections from one client spread. */
static __always_inline __u32 plb_flow_hash(const struct plb_packet *pkt)
{
	__u32 ports = ((__u32)pkt->sport << 16) | pkt->dport;

	return plb_mix32(pkt->saddr ^ plb_mix32(ports ^ ((__u32)pkt->proto << 24)));
}

static __always_inline void plb_key_of(const struct plb_packet *pkt, struct plb_flow_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->saddr = pkt->saddr;
	key->daddr = pkt->daddr;
	key->sport = pkt->sport;
	key->dport = pkt->dport;
	key->proto = pkt->proto;
}

/* The reverse entry of a forward translation: the reply tuple of the backend, translated back to the client. */
static __always_inline void plb_reverse_of(const struct plb_packet *pkt, const struct plb_flow *fwd,
					   struct plb_flow_key *rkey, struct plb_flow *rev)
{
	__builtin_memset(rkey, 0, sizeof(*rkey));
	rkey->saddr = fwd->daddr;
	rkey->daddr = fwd->saddr;
	rkey->sport = fwd->dport;
	rkey->dport = fwd->sport;
	rkey->proto = pkt->proto;
	__builtin_memset(rev, 0, sizeof(*rev));
	rev->saddr = pkt->daddr;
	rev->daddr = pkt->saddr;
	rev->sport = pkt->dport;
	rev->dport = pkt->sport;
	rev->service_id = fwd->service_id;
	rev->backend_id = fwd->backend_id;
	rev->dir = PLB_DIR_REVERSE;
}

static __always_inline int plb_same_client(const struct plb_flow *a, const struct plb_flow *b)
{
	return a->saddr == b->saddr && a->daddr == b->daddr && a->sport == b->sport && a->dport == b->dport;
}

/* Returns the backend id chosen by the service's live Maglev ring, 0 when the ring is empty. */
static __always_inline __u32 plb_pick_backend(const struct plb_packet *pkt, const struct plb_service *svc,
					      struct plb_backend *out)
{
	__u32 slot = plb_flow_hash(pkt) % PLB_RING_SIZE;
	__u32 index = ((__u32)svc->id * 2 + (svc->ring_gen & 1)) * PLB_RING_SIZE + slot;
	__u32 *backend_id = bpf_map_lookup_elem(&plb_ring, &index);
	struct plb_backend *backend;
	__u32 id;

	if (!backend_id || *backend_id == 0)
		return 0;
	id = *backend_id;
	backend = bpf_map_lookup_elem(&plb_backends, &id);
	if (!backend || backend->state != PLB_BACKEND_ACTIVE)
		return 0;
	*out = *backend;
	return id;
}

/* SNAT: keep the client's port when the backend-side tuple is free. Reusing the client's own port means a
 * reconnect from the same client tuple lands on the same backend tuple, whose TIME_WAIT socket accepts the new
 * SYN (monotonic ISN); random ports collapsed short-connection throughput to 0.20x in the notes. Otherwise probe
 * upwards within [port_min, port_max]. The reverse entry is claimed with NOEXIST so two CPUs cannot share it. */
static __always_inline int plb_claim_snat_port(const struct plb_packet *pkt, const struct plb_config *cfg,
					       struct plb_flow *fwd)
{
	struct plb_flow_key rkey;
	struct plb_flow rev;
	struct plb_flow *taken;
	__u16 port = bpf_ntohs(pkt->sport);
	int i;

	/* Unrolled: 6.1's check_cfg only accepts a back-edge on a jump instruction, and clang rotates this loop so
	 * that the edge closing it is the fall-through into the body ("back-edge from insn X to X+1"). */
#pragma unroll
	for (i = 0; i < PLB_SNAT_TRIES; i++) {
		fwd->sport = bpf_htons(port);
		plb_reverse_of(pkt, fwd, &rkey, &rev);
		taken = bpf_map_lookup_elem(&plb_flows, &rkey);
		/* The same client tuple again (its forward entry was evicted or replaced): take the entry over. */
		if (taken && plb_same_client(taken, &rev)) {
			if (bpf_map_update_elem(&plb_flows, &rkey, &rev, BPF_ANY) == 0)
				return 0;
		} else if (!taken && bpf_map_update_elem(&plb_flows, &rkey, &rev, BPF_NOEXIST) == 0) {
			return 0;
		}
		port = (port >= cfg->port_max || port < cfg->port_min) ? cfg->port_min : port + 1;
	}
	return -1;
}

/* A SYN on a client tuple whose entries are still there, and whose backend the ring still picks: both
 * entries already say what a new flow would (Maglev and keep-port SNAT are deterministic), so keep them. This
 * spares the two LRU updates per connection (element allocation, bucket and LRU list locks) when clients
 * reuse ports, as every busy client does. */
static __always_inline int plb_flow_still_valid(const struct plb_packet *pkt, const struct plb_service *svc,
						const struct plb_config *cfg, const struct plb_flow *prev,
						__u32 backend_id, const struct plb_backend *backend)
{
	struct plb_flow_key rkey;
	struct plb_flow rev;
	struct plb_flow *taken;

	if (prev->backend_id != backend_id || prev->service_id != svc->id || prev->daddr != backend->ip ||
	    prev->dport != svc->target_port || prev->saddr != cfg->snat_ip)
		return 0;
	plb_reverse_of(pkt, prev, &rkey, &rev);
	taken = bpf_map_lookup_elem(&plb_flows, &rkey);
	return taken && plb_same_client(taken, &rev) && taken->backend_id == backend_id;
}

/* A new flow for service `svc`: pick a backend, claim the SNAT tuple, insert both directions. With `reuse`,
 * `fwd` holds the forward entry already stored for this client tuple (a SYN reopening it). */
static __always_inline int plb_create_flow(const struct plb_packet *pkt, const struct plb_service *svc,
					   struct plb_flow *fwd, int reuse)
{
	__u32 zero = 0;
	struct plb_config *cfg = bpf_map_lookup_elem(&plb_config, &zero);
	struct plb_flow_key key;
	struct plb_backend backend;
	__u32 backend_id;

	if (!cfg || cfg->snat_ip == 0) {
		PLB_COUNT_GLOBAL(no_config);
		return -1;
	}
	backend_id = plb_pick_backend(pkt, svc, &backend);
	if (backend_id == 0) {
		PLB_COUNT_SERVICE(svc->id, no_backend);
		return -1;
	}
	if (reuse && plb_flow_still_valid(pkt, svc, cfg, fwd, backend_id, &backend))
		return 0;
	__builtin_memset(fwd, 0, sizeof(*fwd));
	fwd->saddr = cfg->snat_ip;
	fwd->daddr = backend.ip;
	fwd->dport = svc->target_port;
	fwd->service_id = svc->id;
	fwd->backend_id = backend_id;
	fwd->dir = PLB_DIR_FORWARD;
	if (plb_claim_snat_port(pkt, cfg, fwd) < 0) {
		PLB_COUNT_SERVICE(svc->id, snat_exhausted);
		return -1;
	}
	plb_key_of(pkt, &key);
	return bpf_map_update_elem(&plb_flows, &key, fwd, BPF_ANY) == 0 ? 0 : -1;
}

/* LRU eviction is per entry, so the reverse half of a live flow can disappear; put it back. */
static __always_inline void plb_restore_reverse(const struct plb_packet *pkt, const struct plb_flow *fwd)
{
	struct plb_flow_key rkey;
	struct plb_flow rev;

	plb_reverse_of(pkt, fwd, &rkey, &rev);
	if (bpf_map_lookup_elem(&plb_flows, &rkey))
		return;
	if (bpf_map_update_elem(&plb_flows, &rkey, &rev, BPF_NOEXIST) == 0)
		PLB_COUNT_GLOBAL(reverse_restored);
}

#endif
