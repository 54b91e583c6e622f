// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Runs a compiled filter on a packet userspace put in a map, through
 * BPF_PROG_TEST_RUN: the same code as in the drop probe, on bytes of any
 * length (test_run's own packet must be at least an Ethernet header).
 * dw_harness passes the map's memory as the probe's copy path does;
 * dw_harness_in_place passes it as the probe's in-place path passes the
 * skb's, through bpf_rdonly_cast() (untrusted, fault-safe loads). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "filter_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern int dw_filter(const void *data, __u32 caplen, __u32 wirelen);
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* The filter's capacity; the loader sets it with the map's value size. */
const volatile __u32 cfg_capacity = DW_HARNESS_CAPACITY;

/* No BTF for the value: its size is set at load time. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, DW_HARNESS_VALUE_SIZE(DW_HARNESS_CAPACITY));
} packet SEC(".maps");

/* The packet userspace stored, its captured length cut to the capacity. */
static __always_inline struct dw_harness_pkt *harness_packet(__u32 *caplen)
{
	__u32 zero = 0;
	struct dw_harness_pkt *p = bpf_map_lookup_elem(&packet, &zero);

	if (p)
		*caplen = p->caplen < cfg_capacity ? p->caplen : cfg_capacity;
	return p;
}

SEC("tc")
int dw_harness(struct __sk_buff *skb)
{
	__u32 caplen;
	struct dw_harness_pkt *p = harness_packet(&caplen);
	if (!p)
		return 0;
	return dw_filter(p->data, caplen, p->wirelen);
}

SEC("tc")
int dw_harness_in_place(struct __sk_buff *skb)
{
	__u32 caplen;
	struct dw_harness_pkt *p = harness_packet(&caplen);
	if (!p)
		return 0;
	return dw_filter(bpf_rdonly_cast(p->data, 0), caplen, p->wirelen);
}

/* For bench/: the same call 32 times, so that the filter's own cost stands
 * out of BPF_PROG_TEST_RUN's per-run overhead. */
SEC("tc")
int dw_harness_x32(struct __sk_buff *skb)
{
	__u32 caplen;
	struct dw_harness_pkt *p = harness_packet(&caplen);
	if (!p)
		return 0;
	int acc = 0;
	for (int i = 0; i < 32; i++)
		acc += dw_filter(p->data, caplen, p->wirelen);
	return acc;
}
