/* Map keys and values. Byte layouts are mirrored by src/dataplane/xdp/layout.ts: change both together. */
#ifndef PLB_STRUCTS_H
#define PLB_STRUCTS_H

#include <linux/types.h>

/* An IPv6 address in wire order, as four 32-bit words (the checksum and hash helpers work on words). The
 * IPv6 maps are separate from the IPv4 ones and keyed by these: the IPv4 flow table keeps its 16-byte keys and
 * 24-byte values (its memory per million flows), and the IPv4 path its instructions. */
struct plb_addr6 {
	__be32 w[4];
};

/* vips map key: one entry per (VIP, port, protocol) the load balancer serves. */
struct plb_service_key {
	__be32 vip;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

/* ring_gen selects which half of the service's double-buffered Maglev ring is live; user space writes the
 * other half and then replaces this value, so a packet sees either the old ring or the new one. */
/* plb_services6's key: the same for an IPv6 VIP. Service ids are one space for both maps (they index the
 * ring and the counters). */
struct plb_service_key6 {
	struct plb_addr6 vip;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct plb_service {
	__u16 id;
	__u8 ring_gen;
	__u8 pad;
	__be16 target_port;
	/* TCP services: largest MSS option a translated SYN or SYN-ACK may carry (host order), 0 = leave it.
	 * This was padding, so the value size is unchanged and maps pinned by an older agent are still adopted
	 * (their zero reads as "no clamp"). */
	__u16 mss_clamp;
};

struct plb_backend {
	__be32 ip;
	__u32 state; /* PLB_BACKEND_* */
};

/* plb_backends6: the same slot (backend id) of an IPv6 backend. An id is in use in at most one of the two maps
 * (one id space: the ring and the counters are shared); the other map's slot is free. */
struct plb_backend6 {
	struct plb_addr6 ip;
	__u32 state;
};

/* SNAT ports are [port_min, port_max] without [skip_min, skip_max] (host byte order): the skipped part is the
 * LB pod's own ip_local_port_range, so a port the pod's own sockets (the agent's API connections) use is never
 * also a NAT port. skip_min 0: nothing skipped. */
struct plb_config {
	__be32 snat_ip;   /* the LB pod's own address: the only source backends can route replies to */
	__u16 port_min;
	__u16 port_max;
	__u16 skip_min;
	__u16 skip_max;
	/* A closing flow may give its SNAT tuple away only while idle for less than this (seconds): tcpClosing less a
	 * margin, so that a flow the agent's GC pass is deleting (idle >= tcpClosing) is never taken over meanwhile
	 * (the GC would delete the new owner's entry). 0: never. */
	__u16 takeover_before;
	__u16 pad;
	/* The VIP: what no service (plb_services) takes there is dropped. 0: none programmed yet. */
	__be32 vip;
	/* The interface's MAC: the XDP build leaves frames addressed to another unicast MAC to the kernel (the TC
	 * build reads the kernel's pkt_type). All zero: no check. */
	__u8 mac[6];
	__u16 pad2;
	/* The IPv6 pipeline's SNAT address and VIP (all zero: none). An LB pod serves one VIP, so one of the pairs
	 * is in use; the port range, takeover limit and MAC above serve both. */
	struct plb_addr6 snat_ip6;
	struct plb_addr6 vip6;
};

/* A 5-tuple as seen on the wire: the client's tuple for forward entries, the backend's reply tuple for
 * reverse entries. Both live in one table so a reply needs no separate reverse-NAT path. */
struct plb_flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* plb_flows6's key: the same 5-tuple with IPv6 addresses (40 bytes). */
struct plb_flow_key6 {
	struct plb_addr6 saddr;
	struct plb_addr6 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* The tuple to write into the packet, plus who it belongs to (for counters and draining). */
struct plb_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u16 service_id;
	__u16 backend_id;
	__u8 dir;   /* PLB_DIR_* */
	__u8 state; /* PLB_FLOW_*, the same in both entries of a flow */
	/* PLB_CLOSE_* bits: how far a TCP close has come, the same in both entries (0 until a FIN or RST). This was
	 * padding, so the value size is unchanged and entries of an older program read as "nothing seen". */
	__u8 close;
	__u8 pad;
	/* Seconds of CLOCK_MONOTONIC (bpf_ktime_get_ns) when a packet of the flow, either direction, was last seen;
	 * both entries carry it so user space can expire a flow from either one. */
	__u32 last_seen;
};

/* plb_flows6's value: struct plb_flow with IPv6 addresses (48 bytes), the fields after them in the same order. */
struct plb_flow6 {
	struct plb_addr6 saddr;
	struct plb_addr6 daddr;
	__be16 sport;
	__be16 dport;
	__u16 service_id;
	__u16 backend_id;
	__u8 dir;
	__u8 state;
	__u8 close;
	__u8 pad;
	__u32 last_seen;
};

struct plb_service_stats {
	__u64 packets;      /* client -> backend */
	__u64 bytes;
	__u64 rev_packets;  /* backend -> client */
	__u64 rev_bytes;
	__u64 new_flows;
	__u64 no_backend;   /* new flow but the ring is empty */
	__u64 snat_exhausted;
	__u64 fib_fail;     /* no route, or the route needs fragmentation */
};

struct plb_backend_stats {
	__u64 packets;
	__u64 bytes;
	__u64 rev_packets;
	__u64 rev_bytes;
	__u64 new_flows;
	__u64 snat_exhausted; /* new flows dropped: no free SNAT port towards this backend */
};

struct plb_global_stats {
	__u64 passed;            /* not for a VIP and no flow: left to the kernel */
	__u64 fragments;         /* IPv4 fragments (TCP, UDP, ICMP) seen, first and later ones */
	__u64 no_neigh;          /* next hop without a neighbour entry (TC resolves it, XDP drops) */
	__u64 reverse_restored;  /* a forward hit whose reverse entry the LRU had evicted */
	__u64 ttl_expired;
	__u64 no_config;         /* a VIP packet arrived before the SNAT address was programmed */
	__u64 icmp_translated;   /* ICMP errors about a flow, passed on to its other end (PMTUD) */
	__u64 unserved;          /* to the VIP, but no service takes it (port, protocol, ICMP echo, fragment): dropped */
	__u64 icmp_refused;      /* frag-needed about a flow announcing less than PLB_ICMP_MIN_MTU: dropped */
	__u64 reverse_miss;      /* to the SNAT address on a SNAT port, no flow, no local socket: dropped */
	__u64 other_host;        /* a frame to another host's MAC (flooded by a bridge): left to the kernel */
	__u64 icmp_rate_limited; /* frag-needed towards a backend beyond PLB_ICMP_FRAG_RATE/_BURST: dropped */
	__u64 frag_untracked;    /* a later fragment to the VIP whose first fragment was not translated here: dropped */
};

/* A fragmented datagram, as its fragments carry it (Cilium's ipv4_frag_id): only the first fragment has the L4
 * header, every fragment the addresses, the IP ID and the protocol. The value is the first fragment's translation
 * (struct plb_flow, last_seen = when it was written). */
struct plb_frag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 proto;
	__u8 pad;
};

/* The token bucket of frag-needed errors towards the backends (plb_icmp_frag_allowed). */
struct plb_icmp_bucket {
	__u64 stamp_ns; /* the time the tokens are counted up to (bpf_ktime_get_ns) */
	__u64 tokens;
};

#endif
