/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* How programs call a compiled filter (compiler/codegen.h):
 *
 *   int NAME(const void *data, __u32 caplen, __u32 wirelen);
 *
 * returns 1 to accept, 0 to reject. `data` points into a buffer of at least
 * capacity + 4 bytes (capacity a power of two); caplen <= capacity. */
#ifndef DROPWATCH_FILTER_ABI_H
#define DROPWATCH_FILTER_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* The harness gives the filter the same buffer size as the probe (DW_SNAPLEN_MAX
 * in dropwatch.h) so that both run the same machine code: frames are tested
 * on their first 4096 bytes. */
#define DW_HARNESS_CAPACITY 4096

struct dw_harness_pkt {
	__u32 caplen;
	__u32 wirelen;
	__u8 data[DW_HARNESS_CAPACITY + 8];
};

#endif /* DROPWATCH_FILTER_ABI_H */
