/* Per-CPU counters: no atomics needed, user space sums the CPUs. */
#ifndef PLB_STATS_H
#define PLB_STATS_H

#include "plb_maps.h"

static __always_inline struct plb_service_stats *plb_svc_stats_of(__u32 service_id)
{
	return bpf_map_lookup_elem(&plb_svc_stats, &service_id);
}

static __always_inline struct plb_global_stats *plb_global(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&plb_glb_stats, &zero);
}

#define PLB_COUNT_GLOBAL(field)                          \
	do {                                             \
		struct plb_global_stats *g = plb_global(); \
		if (g)                                   \
			g->field++;                      \
	} while (0)

#define PLB_COUNT_SERVICE(id, field)                               \
	do {                                                       \
		struct plb_service_stats *s = plb_svc_stats_of(id); \
		if (s)                                             \
			s->field++;                                \
	} while (0)

static __always_inline void plb_count_packet(const struct plb_flow *flow, __u32 len, int new_flow)
{
	__u32 backend_id = flow->backend_id;
	struct plb_service_stats *s = plb_svc_stats_of(flow->service_id);
	struct plb_backend_stats *b = bpf_map_lookup_elem(&plb_be_stats, &backend_id);

	if (flow->dir == PLB_DIR_FORWARD) {
		if (s) {
			s->packets++;
			s->bytes += len;
			s->new_flows += new_flow;
		}
		if (b) {
			b->packets++;
			b->bytes += len;
			b->new_flows += new_flow;
		}
	} else {
		if (s) {
			s->rev_packets++;
			s->rev_bytes += len;
		}
		if (b) {
			b->rev_packets++;
			b->rev_bytes += len;
		}
	}
}

#endif
