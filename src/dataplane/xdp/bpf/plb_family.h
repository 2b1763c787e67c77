/* The pipeline is one source for both address families, compiled twice (plb_main.bpf.c): once with
 * PLB_FAMILY 6, where the macros below rename every type, map and function of the family headers (parse, csum,
 * nat, icmp, mss, fwd, stats' packet counting, the process stage) to its IPv6 twin and make plb_addr_t a
 * 128-bit address, and once with PLB_FAMILY 4, where nothing is renamed: the IPv4 pipeline is the code as
 * written, the instructions the IPv4-only program had. What differs by family beyond the address type (the IP
 * header, ICMP vs ICMPv6, the route lookup's family, IPv4 fragments) is under `#if PLB_FAMILY == 4`.
 * Included (without a guard) before each pass, with PLB_FAMILY set; plb_family_end.h undoes it. */
#if PLB_FAMILY == 6
#define plb_addr_t struct plb_addr6
#define plb_addr_eq(a, b) plb_addr_eq6(&(a), &(b))
#define plb_addr_zero(a) plb_addr_zero6(&(a))
#define plb_addr_delta(a, b) plb_addr_delta6(&(a), &(b))
#define plb_addr_hash(a) plb_addr_hash6(&(a))
#define PLB_CFG_SNAT(cfg) ((cfg)->snat_ip6)
#define PLB_CFG_VIP(cfg) ((cfg)->vip6)
#define PLB_AF PLB_AF_INET6
#define PLB_ICMP_FLOOR PLB_ICMP6_MIN_MTU
/* The stages with the most stack (the SNAT probing's keys and values, the route lookup) are subprograms in the
 * IPv6 pass: with 128-bit addresses the pipeline inlined whole needs more than the 512 bytes a frame may have.
 * In the IPv4 pass they stay inlined, as they were. */
#define PLB_STAGE __noinline
/* types */
#define plb_packet plb_packet6
#define plb_flow_key plb_flow_key6
#define plb_flow plb_flow6
#define plb_service_key plb_service_key6
#define plb_backend plb_backend6
#define plb_icmp_error plb_icmp_error6
#define plb_work plb_work_6
/* maps */
#define plb_flows plb_flows6
#define plb_services plb_services6
#define plb_backends plb_backends6
/* functions */
#define plb_parse plb_parse6
#define plb_parse_l4 plb_parse_l4_6
#define plb_is_syn plb_is_syn6
#define plb_l4_csum_off plb_l4_csum_off6
#define plb_rewrite_ip plb_rewrite_ip6
#define plb_rewrite plb_rewrite6
#define plb_flow_hash plb_flow_hash6
#define plb_key_of plb_key_of6
#define plb_to_vip plb_to_vip6
#define plb_next_state plb_next_state6
#define plb_next_close plb_next_close6
#define plb_partner_key plb_partner_key6
#define plb_reverse_of plb_reverse_of6
#define plb_same_client plb_same_client6
#define plb_pick_backend plb_pick_backend6
#define plb_may_take_over plb_may_take_over6
#define plb_try_snat_port plb_try_snat_port6
#define plb_take_over plb_take_over6
#define plb_claim_snat_port plb_claim_snat_port6
#define plb_flow_still_valid plb_flow_still_valid6
#define plb_forget_reverse plb_forget_reverse6
#define plb_create_flow plb_create_flow6
#define plb_touch plb_touch6
#define plb_count_packet plb_count_packet6
#define plb_parse_icmp_error plb_parse_icmp_error6
#define plb_icmp_flow plb_icmp_flow6
#define plb_icmp_rewrite plb_icmp_rewrite6
#define plb_mss_clamp_of plb_mss_clamp_of6
#define plb_mss_option plb_mss_option6
#define plb_clamp_mss plb_clamp_mss6
#define plb_route plb_route6
#define plb_rewrite_end plb_rewrite_end6
#define plb_forward_check plb_forward_check6
#define plb_send plb_send6
#define plb_forward plb_forward6
#define plb_unserved plb_unserved6
#define plb_reverse_miss plb_reverse_miss6
#define plb_lookup_service plb_lookup_service6
#define plb_backend_gone plb_backend_gone6
#define plb_repicks plb_repicks6
#define plb_process_icmp plb_process_icmp6
#define plb_process plb_process6
#else
#define plb_addr_t __be32
#define PLB_CFG_SNAT(cfg) ((cfg)->snat_ip)
#define PLB_CFG_VIP(cfg) ((cfg)->vip)
#define PLB_AF PLB_AF_INET
#define PLB_ICMP_FLOOR PLB_ICMP_MIN_MTU
#define PLB_STAGE __always_inline
#endif
