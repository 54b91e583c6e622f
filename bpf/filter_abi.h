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

/* The test harness holds whole pcap frames. */
#define DW_HARNESS_CAPACITY 65536

struct dw_harness_pkt {
	__u32 caplen;
	__u32 wirelen;
	__u8 data[DW_HARNESS_CAPACITY + 8];
};

#endif /* DROPWATCH_FILTER_ABI_H */
