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
/* Both directions of every flow live here, so size it >= 2x the concurrent flows you expect. */
#define PLB_MAX_FLOW_ENTRIES 262144
/* Cilium's SNAT_COLLISION_RETRIES: enough to step over a few busy ports, small enough for the verifier. */
#define PLB_SNAT_TRIES 32

/* Backend states; user space writes them (layout.ts), the program only tests for ACTIVE. */
#define PLB_BACKEND_FREE 0
#define PLB_BACKEND_ACTIVE 1
#define PLB_BACKEND_DRAINING 2

#define PLB_DIR_FORWARD 1
#define PLB_DIR_REVERSE 2

#define PLB_ETH_P_IP 0x0800
#define PLB_AF_INET 2
#define PLB_IPPROTO_ICMP 1
#define PLB_IPPROTO_TCP 6
#define PLB_IPPROTO_UDP 17
#define PLB_IP_MF 0x2000
#define PLB_IP_OFFSET 0x1fff

#define PLB_ICMP_DEST_UNREACH 3
#define PLB_ICMP_TIME_EXCEEDED 11

#define PLB_TCP_SYN 0x02
#define PLB_TCP_ACK 0x10

/* Verdicts of the stages: "continue" or a final action for the hook. */
#define PLB_CONTINUE 0
#define PLB_FINAL_PASS 1

#endif
