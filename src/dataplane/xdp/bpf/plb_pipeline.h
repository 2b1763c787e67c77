/* One pass of the pipeline for the address family PLB_FAMILY (4 or 6; plb_family.h), in dependency order. No
 * include guard: plb_main.bpf.c includes it once per family. Each header's common part has its own guard. */
#include "plb_family.h"
#include "plb_parse.h"
#include "plb_csum.h"
#include "plb_nat.h"
#include "plb_icmp.h"
#include "plb_mss.h"
#include "plb_fwd.h"
#include "plb_frag.h"
#include "plb_process.h"
#include "plb_family_end.h"
