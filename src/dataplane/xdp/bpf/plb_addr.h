/* Address operations for both families, so the pipeline (plb_family.h) is written once: equality, "none
 * programmed", the one's complement difference a change makes to a checksum, and the hash input. The IPv4
 * versions are what the IPv4-only program did inline (==, 0, one 32-bit difference, the word itself); the IPv6
 * ones take pointers (plb_family.h passes the operands' addresses), copies of 16-byte values cost stack. */
#ifndef PLB_ADDR_H
#define PLB_ADDR_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "plb_structs.h"

/* What replacing the 32-bit field `from` by `to` adds to a one's complement sum (~m + m' of RFC 1624 eqn. 3,
 * as two 16-bit words in wire order). Deltas add up: several fields changed at once are one sum, applied once. */
static __always_inline __u32 plb_csum_delta4(__u32 from, __u32 to)
{
	return (~from & 0xffff) + (~from >> 16) + (to & 0xffff) + (to >> 16);
}

static __always_inline int plb_addr_eq(__be32 a, __be32 b)
{
	return a == b;
}

static __always_inline int plb_addr_zero(__be32 a)
{
	return a == 0;
}

static __always_inline __u32 plb_addr_delta(__be32 from, __be32 to)
{
	return plb_csum_delta4(from, to);
}

static __always_inline __u32 plb_addr_hash(__be32 a)
{
	return a;
}

static __always_inline int plb_addr_eq6(const struct plb_addr6 *a, const struct plb_addr6 *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) | (a->w[3] ^ b->w[3])) == 0;
}

static __always_inline int plb_addr_zero6(const struct plb_addr6 *a)
{
	return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

/* A 128-bit address is eight 16-bit words of the pseudo-header. The kernel's bpf_csum_diff sums them (Cilium's
 * way for IPv6): done by hand, clang loaded all the words of the addresses at once and spilled them (10
 * registers), and an ICMPv6 error's rewrite (four addresses) needed 384 bytes of stack, more than a subprogram
 * can have. Folded to 16 bits, so that the sums of several stay far below 2^32. */
static __always_inline __u32 plb_addr_delta6(const struct plb_addr6 *from, const struct plb_addr6 *to)
{
	__u32 sum = (__u32)bpf_csum_diff((__be32 *)from, sizeof(*from), (__be32 *)to, sizeof(*to), 0);

	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xffff) + (sum >> 16);
}

/* The Maglev slot and SNAT start point of a client: every word counts (clients of one /64 differ in the last
 * two, a prefix's clients in the first two). */
static __always_inline __u32 plb_addr_hash6(const struct plb_addr6 *a)
{
	return a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3];
}

#endif
