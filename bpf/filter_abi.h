/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* How programs call a compiled filter (compiler/codegen.h):
 *
 *   int NAME(const void *data, __u32 caplen, __u32 wirelen);
 *
 * returns 1 to accept, 0 to reject. `data` points into a buffer of at least
 * capacity + 8 bytes (capacity a power of two); caplen <= capacity. */
#ifndef DROPWATCH_FILTER_ABI_H
#define DROPWATCH_FILTER_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* By default the harness gives the filter the same buffer size as the probe
 * (DW_SNAPLEN_MAX in dropwatch_abi.h), so that both run the same machine
 * code. dropfilter --pcap links it with a larger capacity for files whose
 * frames are longer (the map's value size and cfg_capacity follow). */
#define DW_HARNESS_CAPACITY 4096

/* The harness map's value: the packet, then capacity + 8 bytes of data. */
struct dw_harness_pkt {
	__u32 caplen;
	__u32 wirelen;
	__u8 data[];
};

#define DW_HARNESS_VALUE_SIZE(capacity) (8 + (capacity) + 8)

#endif /* DROPWATCH_FILTER_ABI_H */
