/* Limits and codes shared by the TC and XDP builds. Keep in sync with src/dataplane/xdp/layout.ts. */
#ifndef PLB_CONSTS_H
#define PLB_CONSTS_H

/* Maglev ring size per service: a prime (Katran's), 65537 x 4 B = 256 KiB per generation, 32 MiB for the map.
 * Maglev spreads evenly only with M >> backends: at 10 000 backends 16381 slots gave 1 or 2 slots each (2x
 * imbalance), 65537 gives 6 or 7. Must stay above PLB_MAX_BACKENDS. */
#define PLB_RING_SIZE 65537
/* One agent serves one PortableLoadBalancer: up to 32 ports, headroom for renames. Id 0 is "none". */
#define PLB_MAX_SERVICES 64
/* Active backends (10 000 measured by make bench) plus draining ones whose flows still run. Id 0 is "none". */
#define PLB_MAX_BACKENDS 16384
/* Both directions of every flow live here: 2 entries per flow. This is the size compiled into the object; the
 * loader sets the real one from spec.xdp.maxFlows (bpf_map__set_max_entries) before it creates the map. */
#define PLB_MAX_FLOW_ENTRIES 262144
/* SNAT port probing when the client's own port is taken (32 tries in all, Cilium's SNAT_COLLISION_RETRIES):
 * a run of ports from a start point that depends on the client tuple, then random ports over the whole range.
 * A run alone starves once a stretch of the range is full (ports of earlier clients cluster around the ports
 * clients use); random tries find the free ports wherever they are: at 90 % use all 16 fail with p = 0.19. */
#define PLB_SNAT_RUN_TRIES 15
#define PLB_SNAT_RANDOM_TRIES 16
/* Then, with no free port found, random tries that may take over a flow closed long enough (plb_nat.h). */
#define PLB_SNAT_TAKEOVER_TRIES 8
/* IP fragments (plb_frag.h): datagrams whose first fragment was translated and whose later fragments may still
 * come. Cilium's default size (CILIUM_IPV4_FRAG_MAP_MAX_ENTRIES). A record is needed only between a datagram's
 * first and last fragment (microseconds on a LAN): 8192 holds more fragmented datagrams in flight than any path
 * carries. */
#define PLB_MAX_FRAG_ENTRIES 8192
/* A later fragment follows a record at most this long after the first fragment wrote it: Linux's reassembly gives
 * up after its ipfrag_time (30 s), so nothing older can still complete a datagram. Bounds what a stale record (IP
 * IDs repeat after 65 536 datagrams between two hosts) can misdirect. */
#define PLB_FRAG_SECONDS 30

/* Flow states (struct plb_flow.state), kept equal in both entries of a flow. User space expires entries by
 * state and protocol (flow-gc.ts): SYN and CLOSING flows after a short idle time, ESTABLISHED ones after long. */
#define PLB_FLOW_SYN 1         /* TCP: only the client's SYN (and the backend's SYN-ACK) seen */
#define PLB_FLOW_ESTABLISHED 2 /* TCP after the handshake; every UDP flow */
#define PLB_FLOW_CLOSING 3     /* TCP: a FIN or RST seen in either direction */
#define PLB_NSEC_PER_SEC 1000000000ULL
/* What a CLOSING flow's close has seen (struct plb_flow.close), per direction, to tell whether the backend still
 * holds anything for the SNAT tuple (plb_nat.h, plb_closed). */
#define PLB_CLOSE_CLIENT_FIN 0x01   /* a FIN from the client */
#define PLB_CLOSE_BACKEND_FIN 0x02  /* a FIN from the backend */
#define PLB_CLOSE_RST 0x04          /* a RST, either way */
#define PLB_CLOSE_CLIENT_FIRST 0x08 /* the client's FIN came before any FIN of the backend */
#define PLB_CLOSE_LAST_ACK 0x10     /* then the client's ACK after the backend's FIN: the close is complete */
/* A CLOSING flow that is not closed (plb_closed) and idle this long may give its SNAT tuple to a new flow when
 * no port is free (plb_nat.h): the rest of its close (the last ACK, a FIN retransmitted) is over by then. */
#define PLB_CLOSING_REUSE_SECONDS 10

/* Backend states; user space writes them (layout.ts), the program only tests for ACTIVE. */
#define PLB_BACKEND_FREE 0
#define PLB_BACKEND_ACTIVE 1
#define PLB_BACKEND_DRAINING 2

#define PLB_DIR_FORWARD 1
#define PLB_DIR_REVERSE 2

#define PLB_ETH_P_IP 0x0800
#define PLB_ETH_P_IPV6 0x86dd
#define PLB_AF_INET 2
#define PLB_AF_INET6 10
#define PLB_IPPROTO_ICMP 1
#define PLB_IPPROTO_ICMPV6 58
#define PLB_IPPROTO_FRAGMENT 44 /* IPv6's fragment header */
#define PLB_IPPROTO_TCP 6
#define PLB_IPPROTO_UDP 17
#define PLB_IP_MF 0x2000
#define PLB_IP_OFFSET 0x1fff
/* struct plb_packet.frag */
#define PLB_FRAG_NONE 0
#define PLB_FRAG_FIRST 1 /* offset 0, more fragments: carries the L4 header */
#define PLB_FRAG_LATER 2 /* offset > 0: payload only */

#define PLB_ICMP_DEST_UNREACH 3
#define PLB_ICMP_FRAG_NEEDED 4 /* its code */
/* The smallest next-hop MTU a translated frag-needed may announce: Linux's own floor (net.ipv4.route.min_pmtu).
 * Below it a Linux backend does not shrink to the value but locks its path MTU at 552 and fragments everything
 * it sends to the SNAT address - which every client's flows share - for 10 minutes (mtu_expires). Only a
 * forged error announces that little. */
#define PLB_ICMP_MIN_MTU 552
/* Frag-needed errors translated towards the backends: at most PLB_ICMP_FRAG_RATE a second, bursts of up to
 * PLB_ICMP_FRAG_BURST, for the whole LB pod (one token bucket shared by its CPUs and both builds). A backend's
 * path MTU towards the SNAT address is one value for all clients, cached for 10 minutes (mtu_expires): one real
 * error per smaller MTU on the clients' paths is all it takes, and a dropped one comes again with the backend's
 * next retransmission of the oversized segment (routers send at most ~1 a second per source: icmp_ratelimit).
 * The burst covers several such paths at once (the cached value expired under load); the rate bounds what a
 * flood of forged ones (at 552 or more: they pass the floor) makes every backend do to 10 route-cache updates a
 * second. The price: while a flood uses the budget up, real errors are dropped too, and PMTUD towards the
 * backends waits for the flood to end. */
#define PLB_ICMP_FRAG_RATE 10
#define PLB_ICMP_FRAG_BURST 10
#define PLB_ICMP_FRAG_INTERVAL_NS (PLB_NSEC_PER_SEC / PLB_ICMP_FRAG_RATE)
#define PLB_ICMP_TIME_EXCEEDED 11
/* ICMPv6 errors (RFC 4443): they quote as much of the offending packet as fits in 1280 bytes. */
#define PLB_ICMP6_DEST_UNREACH 1
#define PLB_ICMP6_PACKET_TOO_BIG 2
#define PLB_ICMP6_TIME_EXCEEDED 3
/* The smallest MTU a translated packet-too-big may announce: IPv6's minimum link MTU (RFC 8200). Linux takes
 * a smaller value as 1280 anyway; only a forged error announces less. */
#define PLB_ICMP6_MIN_MTU 1280

#define PLB_TCP_FIN 0x01
#define PLB_TCP_SYN 0x02
#define PLB_TCP_RST 0x04
#define PLB_TCP_ACK 0x10

/* skb->pkt_type of a frame addressed to another host's MAC (linux/if_packet.h) */
#define PLB_PACKET_OTHERHOST 3

/* Verdicts of the stages: "continue" or a final action for the hook. */
#define PLB_CONTINUE 0
#define PLB_FINAL_PASS 1
#define PLB_LATER_FRAGMENT 2 /* the parse's verdict for a later fragment of TCP/UDP: no ports (plb_frag.h) */
#define PLB_IS_IPV6 3        /* the IPv4 parse's verdict for an IPv6 frame: the IPv6 pipeline takes it */
/* plb_process's "not mine": an IPv6 frame, for plb_process6. Not a hook verdict (those are small). */
#define PLB_TO_IPV6 0x600

#endif
