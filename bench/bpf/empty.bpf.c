// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Yardsticks for bench/probe_cost.cpp, each a tp_btf program on
 * skb:kfree_skb that the benchmark loads alone:
 *   dw_empty          the cheapest program that does something: one global
 *                     counter increment (the "empty probe")
 *   dw_clock_*        the same plus one clock read: which nanosecond time
 *                     stamp is cheapest
 *   dw_peer_probe_read  a filter as pwru and Retis run one (cBPF translated
 *                     by cbpfc): every packet load one bpf_probe_read_kernel;
 *                     here `tcp port 3306`, which rejects the benchmark's
 *                     UDP storm after two loads */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u64 runs = 0;
__u64 sink = 0;

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_empty, struct sk_buff *skb)
{
	runs++;
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_clock_mono, struct sk_buff *skb)
{
	runs++;
	sink += bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_clock_boot, struct sk_buff *skb)
{
	runs++;
	sink += bpf_ktime_get_boot_ns();
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_clock_coarse, struct sk_buff *skb)
{
	runs++;
	sink += bpf_ktime_get_coarse_ns();
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_clock_tai, struct sk_buff *skb)
{
	runs++;
	sink += bpf_ktime_get_tai_ns();
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_clock_jiffies, struct sk_buff *skb)
{
	runs++;
	sink += bpf_jiffies64();
	return 0;
}

/* One load of `n` bytes at offset `off` from the MAC header, as cbpfc
 * translates a cBPF load for a tracing program. */
#define LOAD(dst, off) bpf_probe_read_kernel(&(dst), sizeof(dst), head + mac + (off))

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_peer_probe_read, struct sk_buff *skb)
{
	unsigned char *head = skb->head;
	__u16 mac = skb->mac_header;
	__u16 proto = 0, sport = 0, dport = 0, frag = 0;
	__u8 ipproto = 0, ihl = 0;

	runs++;
	LOAD(proto, 12);
	if (proto != bpf_htons(0x0800))
		return 0;
	LOAD(ipproto, 23);
	if (ipproto != 6)
		return 0;
	LOAD(frag, 20);
	if (frag & bpf_htons(0x1fff))
		return 0;
	LOAD(ihl, 14);
	__u32 l4 = 14 + (ihl & 0xf) * 4;
	LOAD(sport, l4);
	LOAD(dport, l4 + 2);
	if (sport == bpf_htons(3306) || dport == bpf_htons(3306))
		sink++;
	return 0;
}
