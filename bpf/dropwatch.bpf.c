// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* dropwatch probe: one program on skb:kfree_skb.
 *
 * Two entry points share one body: tp_btf (BTF tracepoint, skb fields read
 * with direct loads, a few ns each) and the classic tracepoint (fallback for
 * kernels without BTF tracepoints, fields read with CO-RE probe reads, ~35 ns
 * each). The loader picks one at run time with bpf_program__set_autoload().
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dropwatch.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

_Static_assert(sizeof(struct dw_event) == DW_EVENT_HEADER_SIZE, "event header layout");

/* Set by the loader before load; frozen, so the verifier sees constants. */
const volatile __u32 cfg_snaplen = DW_SNAPLEN_DEFAULT;
const volatile __u8 cfg_stack = 1;
/* Wake the reader only when this much is waiting: a wakeup per event costs
 * ~5 us here, the event itself ~0.2 us. The reader also polls on a timer. */
const volatile __u64 cfg_wakeup_bytes = 1 << 20;

/* One event under construction per CPU: header, capture, stack. */
struct dw_scratch {
	__u8 bytes[DW_EVENT_HEADER_SIZE + DW_SNAPLEN_MAX + DW_STACK_MAX * 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dw_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dw_counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the loader */
} events SEC(".maps");

/* Read a field directly (tp_btf: trusted BTF pointer) or through CO-RE probe
 * reads (classic tracepoint). `btf` is a constant in each inlined copy, so
 * the other branch is compiled away. */
#define DW_READ(btf, direct, ...) ((btf) ? (direct) : BPF_CORE_READ(__VA_ARGS__))

#define ETH_HLEN 14
#define MAC_UNSET 0xffff

static __always_inline void read_device(struct dw_event *e, struct net_device *dev,
					const bool btf)
{
	e->ifindex = DW_READ(btf, dev->ifindex, dev, ifindex);
	e->dev_type = DW_READ(btf, dev->type, dev, type);
	e->dev_flags = DW_READ(btf, dev->flags, dev, flags);
	e->operstate = DW_READ(btf, dev->operstate, dev, operstate);
	e->netns = DW_READ(btf, dev->nd_net.net->ns.inum, dev, nd_net.net, ns.inum);
	if (btf)
		__builtin_memcpy(e->ifname, dev->name, DW_IFNAME_LEN);
	else
		BPF_CORE_READ_INTO(&e->ifname, dev, name);
}

static __always_inline void read_socket(struct dw_event *e, struct sock *sk, const bool btf)
{
	e->flags |= DW_EV_HAS_SK;
	e->sk_state = DW_READ(btf, sk->__sk_common.skc_state, sk, __sk_common.skc_state);
	e->sk_protocol = DW_READ(btf, sk->sk_protocol, sk, sk_protocol);
	if (!e->netns)
		e->netns = DW_READ(btf, sk->__sk_common.skc_net.net->ns.inum, sk,
				   __sk_common.skc_net.net, ns.inum);
}

static __always_inline int handle_drop(void *ctx, struct sk_buff *skb, __u64 location,
				       __u32 reason, struct sock *rx_sk, const bool btf)
{
	/* Not drops: the kernel reports normal frees through the same path. */
	if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED) ||
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_NOT_DROPPED_YET))
		return 0;

	__u32 zero = 0;
	struct dw_counters *cnt = bpf_map_lookup_elem(&counters, &zero);
	struct dw_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!cnt || !s)
		return 0;
	cnt->seen++;

	struct dw_event *e = (struct dw_event *)s->bytes;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->location = location;
	e->reason = reason;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->cpu = bpf_get_smp_processor_id();
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));

	e->skb_len = DW_READ(btf, skb->len, skb, len);
	e->protocol = DW_READ(btf, skb->protocol, skb, protocol);
	e->rx_ifindex = DW_READ(btf, skb->skb_iif, skb, skb_iif);
	__u32 vlan_all = DW_READ(btf, skb->vlan_all, skb, vlan_all);
	if (vlan_all) {
		e->flags |= DW_EV_VLAN;
		e->vlan_tci = DW_READ(btf, skb->vlan_tci, skb, vlan_tci);
		e->vlan_proto = DW_READ(btf, skb->vlan_proto, skb, vlan_proto);
	}

	struct net_device *dev = DW_READ(btf, skb->dev, skb, dev);
	if (dev)
		read_device(e, dev, btf);
	struct sock *sk = DW_READ(btf, skb->sk, skb, sk);
	if (!sk)
		sk = rx_sk;
	if (sk)
		read_socket(e, sk, btf);

	/* Capture once, from the MAC header when it is set, else from the
	 * network header, never past the linear data (head..tail). */
	__u64 head = (__u64)DW_READ(btf, skb->head, skb, head);
	__u64 data = (__u64)DW_READ(btf, skb->data, skb, data);
	__u32 tail = DW_READ(btf, skb->tail, skb, tail);
	__u16 mac = DW_READ(btf, skb->mac_header, skb, mac_header);
	__u16 net = DW_READ(btf, skb->network_header, skb, network_header);
	__u32 start = 0;
	if (mac != MAC_UNSET && net > mac && net - mac >= ETH_HLEN && net - mac < 256) {
		e->origin = DW_ORIGIN_MAC;
		e->net_offset = net - mac;
		start = mac;
	} else if (e->protocol && net < tail) {
		e->origin = DW_ORIGIN_NETWORK;
		start = net;
	} else {
		cnt->no_header++;
	}

	__u32 cap = 0;
	if (e->origin != DW_ORIGIN_NONE) {
		__s64 wire = (__s64)e->skb_len + (__s64)(data - head) - start;
		e->wire_len = wire > 0 ? wire : 0;
		cap = tail > start ? tail - start : 0;
		if (cap > cfg_snaplen)
			cap = cfg_snaplen;
		if (cap > DW_SNAPLEN_MAX)
			cap = DW_SNAPLEN_MAX;
		if (bpf_probe_read_kernel(e->data, cap, (void *)(head + start)))
			cap = 0;
		e->capture_len = cap;
	}

	__u32 off = (cap + 7) & ~7u;
	if (off > DW_SNAPLEN_MAX)
		off = DW_SNAPLEN_MAX;
	__u32 stack = 0;
	if (cfg_stack) {
		long n = bpf_get_stack(ctx, e->data + off, DW_STACK_MAX * 8, 0);
		if (n < 0) {
			e->flags |= DW_EV_STACK_ERROR;
		} else {
			stack = n;
			if (stack >= DW_STACK_MAX * 8) {
				stack = DW_STACK_MAX * 8;
				e->flags |= DW_EV_STACK_FULL;
			}
		}
		e->stack_bytes = stack;
	}

	__u64 size = sizeof(*e) + off + stack;
	if (size > sizeof(*s))
		return 0;
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= cfg_wakeup_bytes
			      ? BPF_RB_FORCE_WAKEUP
			      : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, e, size, flags))
		cnt->lost++;
	else
		cnt->emitted++;
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_kfree_skb_btf, struct sk_buff *skb, void *location,
	     enum skb_drop_reason reason, struct sock *rx_sk)
{
	return handle_drop(ctx, skb, (__u64)location, reason, rx_sk, true);
}

SEC("tracepoint/skb/kfree_skb")
int dw_kfree_skb_tp(struct trace_event_raw_kfree_skb *args)
{
	struct sock *rx_sk = NULL;
	/* rx_sk joined the tracepoint in 6.11. */
	if (bpf_core_field_exists(args->rx_sk))
		rx_sk = args->rx_sk;
	return handle_drop(args, args->skbaddr, (__u64)args->location, args->reason, rx_sk,
			   false);
}
