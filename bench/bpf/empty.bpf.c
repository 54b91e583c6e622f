// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Baseline for bench/: the cheapest possible program on skb:kfree_skb. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_empty, struct sk_buff *skb)
{
	return 0;
}
