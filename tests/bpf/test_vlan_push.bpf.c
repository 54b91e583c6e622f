// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* For tests: on tc egress, put a VLAN tag into skb metadata (as a NIC with
 * VLAN offload would hold it) and drop the packet, so that dropwatch sees a
 * real drop whose tag is not in the frame. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TC_ACT_SHOT 2

SEC("tc")
int dw_test_vlan_push(struct __sk_buff *skb)
{
	/* VLAN 100, priority 1 */
	bpf_skb_vlan_push(skb, bpf_htons(0x8100), 100 | (1 << 13));
	return TC_ACT_SHOT;
}
