/* Maps. All are pinned by name under the agent's pin directory so that a restarted agent (or the other hook's
 * build of this program) reuses them: flows survive an agent restart. */
#ifndef PLB_MAPS_H
#define PLB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "plb_consts.h"
#include "plb_structs.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PLB_MAX_SERVICES);
	__type(key, struct plb_service_key);
	__type(value, struct plb_service);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_services SEC(".maps");

/* [service id][generation][slot] -> backend id, flattened. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PLB_MAX_SERVICES * 2 * PLB_RING_SIZE);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct plb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct plb_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_config SEC(".maps");

/* Shared, not per-CPU: the reply of a flow may be processed on another CPU than its SYN. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PLB_MAX_FLOW_ENTRIES);
	__type(key, struct plb_flow_key);
	__type(value, struct plb_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_flows SEC(".maps");

/* The IPv6 pipeline's services, backends and flows (plb_family.h): keyed and valued as the IPv4 maps with IPv6
 * addresses. Service and backend ids are one space for both families; the ring and the counters are shared. The
 * loader sizes plb_flows6 like plb_flows for an IPv6 VIP, and small for an IPv4 one (and the other way round). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PLB_MAX_SERVICES);
	__type(key, struct plb_service_key6);
	__type(value, struct plb_service);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_services6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct plb_backend6);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_backends6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PLB_MAX_FLOW_ENTRIES);
	__type(key, struct plb_flow_key6);
	__type(value, struct plb_flow6);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_flows6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct plb_service_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct plb_backend_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_be_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct plb_global_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_glb_stats SEC(".maps");

/* Fragmented datagrams whose first fragment was translated (plb_frag.h). Shared, not per-CPU: the fragments of
 * one datagram are mostly handled by one CPU (RSS and RPS hash fragments by their addresses alone), but a veth
 * handles them on the sender's CPU, which may change between fragments. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PLB_MAX_FRAG_ENTRIES);
	__type(key, struct plb_frag_key);
	__type(value, struct plb_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_frags SEC(".maps");

/* One bucket for the LB pod, not per CPU: a flood spread over many sources (and so over the CPUs by RSS) gets
 * the same budget as one source. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct plb_icmp_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} plb_icmp_rl SEC(".maps");

#endif
