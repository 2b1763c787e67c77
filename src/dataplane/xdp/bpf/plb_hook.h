/* What differs between the two builds of the one program: context type, verdicts, byte access.
 * PLB_HOOK_XDP selects the XDP build; the default is the TC (cls_bpf direct-action) build. */
#ifndef PLB_HOOK_H
#define PLB_HOOK_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#ifdef PLB_HOOK_XDP
#define PLB_CTX struct xdp_md
#define PLB_VERDICT_PASS XDP_PASS
#define PLB_VERDICT_DROP XDP_DROP
static __always_inline __u32 plb_ctx_len(struct xdp_md *ctx) { return bpf_xdp_get_buff_len(ctx); }
static __always_inline __u32 plb_ctx_ifindex(struct xdp_md *ctx) { return ctx->ingress_ifindex; }
static __always_inline long plb_load(struct xdp_md *ctx, __u32 off, void *to, __u32 len)
{
	return bpf_xdp_load_bytes(ctx, off, to, len);
}
static __always_inline long plb_store(struct xdp_md *ctx, __u32 off, void *from, __u32 len)
{
	return bpf_xdp_store_bytes(ctx, off, from, len);
}
/* XDP sees whole frames; nothing to linearise. */
static __always_inline void plb_linearise(struct xdp_md *ctx, __u32 len, __u32 want) { }
#else
#define PLB_CTX struct __sk_buff
#define PLB_VERDICT_PASS TC_ACT_OK
#define PLB_VERDICT_DROP TC_ACT_SHOT
static __always_inline __u32 plb_ctx_len(struct __sk_buff *ctx) { return ctx->len; }
static __always_inline __u32 plb_ctx_ifindex(struct __sk_buff *ctx) { return ctx->ingress_ifindex; }
static __always_inline long plb_load(struct __sk_buff *ctx, __u32 off, void *to, __u32 len)
{
	return bpf_skb_load_bytes(ctx, off, to, len);
}
static __always_inline long plb_store(struct __sk_buff *ctx, __u32 off, void *from, __u32 len)
{
	return bpf_skb_store_bytes(ctx, off, from, len, 0);
}
/* Headers of locally generated or GRO'd skbs can sit in page frags. load/store_bytes cope with that, but the
 * checksum helpers then have to unclone and pull on every call; doing it once, just before the rewrite, is
 * cheaper. `want` must end with the headers we write: pulling past them drags payload into the linear head,
 * which reallocates it and grows the skb's truesize - and a receiving TCP socket then sends every such
 * segment down its slow path (measured on veth with 94 bytes pulled: header-prediction hits at the backend
 * 44 % instead of the 66 % of plain forwarding, keep-alive req/s 0.68 of the routed baseline). A failure is
 * harmless for the same reason as above (the helpers still work), so it is ignored. */
static __always_inline void plb_linearise(struct __sk_buff *ctx, __u32 len, __u32 want)
{
	bpf_skb_pull_data(ctx, len < want ? len : want);
}
#endif

#endif
