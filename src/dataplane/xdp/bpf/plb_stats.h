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

#endif
