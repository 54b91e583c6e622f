// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* dropwatch probe: one program on skb:kfree_skb.
 *
 * Two entry points share one body: tp_btf (BTF tracepoint, skb fields read
 * with direct loads, a few ns each) and the classic tracepoint (fallback for
 * kernels without BTF tracepoints, fields read with CO-RE probe reads, ~35 ns
 * each). The loader picks one at run time with bpf_program__set_autoload().
 *
 * The hot path runs cheapest first, and a drop that a gate rejects reserves
 * nothing and copies at most its headers:
 *   noise location -> reason -> namespace and device -> one copy of the
 *   headers + filter -> rate limit -> the rest of the event -> stack ->
 *   ring buffer.
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
const volatile __u8 cfg_filter = 0;      /* the filters below are real */
const volatile __u8 cfg_reason_mode = DW_LIST_OFF;
const volatile __u8 cfg_device_mode = DW_LIST_OFF;
const volatile __u32 cfg_netns = 0;      /* 0: every namespace */
const volatile __u32 cfg_noise_count = 0; /* ranges used in cfg_noise */
const volatile struct dw_range cfg_noise[DW_NOISE_MAX] = {};
/* Token bucket per CPU: one event costs rate_interval_ns of credit, credit
 * accrues with time up to rate_burst_ns. 0: no limit. */
const volatile __u64 cfg_rate_interval_ns = 0;
const volatile __u64 cfg_rate_burst_ns = 0;
/* Wake the reader only when this much is waiting: a wakeup per event costs
 * ~5 us here, the event itself ~0.2 us. The reader also polls on a timer. */
const volatile __u64 cfg_wakeup_bytes = 1 << 20;

/* The compiled filter, linked in at load time (compiler/codegen.h): the
 * link-level entry sees frames from the MAC header, the network-level one
 * packets from the IP header. */
#ifdef DW_STUB_FILTER
/* Only for generating the skeleton: the loader replaces the object. */
static __noinline int dw_filter_link(const void *data, __u32 caplen, __u32 wirelen)
{
	return data != 0;
}
static __noinline int dw_filter_net(const void *data, __u32 caplen, __u32 wirelen)
{
	return data != 0;
}
#else
extern int dw_filter_link(const void *data, __u32 caplen, __u32 wirelen);
extern int dw_filter_net(const void *data, __u32 caplen, __u32 wirelen);
#endif

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
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct dw_dev_key);
	__type(value, __u8);
} devices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the loader */
} events SEC(".maps");

/* Read a field directly (tp_btf: trusted BTF pointer) or through CO-RE probe
 * reads (classic tracepoint). `btf` is a constant in each inlined copy, so
 * the other branch is compiled away. */
#define DW_READ(btf, direct, ...) ((btf) ? (direct) : BPF_CORE_READ(__VA_ARGS__))

#define ETH_HLEN 14
#define ETH_ALEN 6
#define MAC_UNSET 0xffff
#define ARPHRD_ETHER 1
#define ARPHRD_LOOPBACK 772

/* Is the list verdict for this key "drop it"? */
static __always_inline bool list_rejects(__u8 mode, void *map, void *key)
{
	if (mode == DW_LIST_OFF)
		return false;
	bool listed = bpf_map_lookup_elem(map, key) != 0;
	return mode == DW_LIST_ALLOW ? !listed : listed;
}

/* Is the drop located in a function a noise rule names? A few compares of
 * the tracepoint's own argument: nothing read from the skb. */
static __always_inline bool noise_location(__u64 location)
{
	for (__u32 i = 0; i < DW_NOISE_MAX; i++) {
		if (i >= cfg_noise_count)
			break;
		if (location >= cfg_noise[i].start && location < cfg_noise[i].end)
			return true;
	}
	return false;
}

static __always_inline bool rate_allows(struct dw_counters *cnt)
{
	if (!cfg_rate_interval_ns)
		return true;
	__u64 now = bpf_ktime_get_ns();
	__u64 credit = cnt->rate_credit_ns + (now - cnt->rate_last_ns);
	if (credit > cfg_rate_burst_ns)
		credit = cfg_rate_burst_ns;
	cnt->rate_last_ns = now;
	if (credit < cfg_rate_interval_ns) {
		cnt->rate_credit_ns = credit;
		return false;
	}
	cnt->rate_credit_ns = credit - cfg_rate_interval_ns;
	return true;
}

static __always_inline void read_dev_key(struct dw_dev_key *dk, struct net_device *dev,
					 struct sock *sk, const bool btf)
{
	if (dev) {
		dk->ifindex = DW_READ(btf, dev->ifindex, dev, ifindex);
		dk->netns = DW_READ(btf, dev->nd_net.net->ns.inum, dev, nd_net.net, ns.inum);
	} else if (sk) {
		dk->netns = DW_READ(btf, sk->__sk_common.skc_net.net->ns.inum, sk,
				    __sk_common.skc_net.net, ns.inum);
	}
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
	if (!cnt)
		return 0;
	cnt->seen++;

	/* 0. noise rules pinned to locations: the drop's own argument */
	if (cfg_noise_count && noise_location(location)) {
		cnt->noise++;
		return 0;
	}

	/* 1. reason: one hash lookup, nothing read from the skb yet */
	if (list_rejects(cfg_reason_mode, &reasons, &reason)) {
		cnt->reason_rejected++;
		return 0;
	}

	/* 2. namespace and device: the namespace only when a gate needs it
	 * here (a pointer chase), else after the filter */
	struct net_device *dev = DW_READ(btf, skb->dev, skb, dev);
	struct sock *sk = DW_READ(btf, skb->sk, skb, sk);
	if (!sk)
		sk = rx_sk;
	struct dw_dev_key dk = {};
	bool have_netns = false;
	if (cfg_netns || cfg_device_mode != DW_LIST_OFF) {
		read_dev_key(&dk, dev, sk, btf);
		have_netns = true;
	}
	if (cfg_netns && dk.netns != cfg_netns) {
		cnt->netns_rejected++;
		return 0;
	}
	if (cfg_device_mode != DW_LIST_OFF) {
		/* no device: an allow list drops it, a deny list passes it */
		bool reject = dev ? list_rejects(cfg_device_mode, &devices, &dk)
				  : cfg_device_mode == DW_LIST_ALLOW;
		if (reject) {
			cnt->device_rejected++;
			return 0;
		}
	}

	/* 3. one copy of the headers, from the MAC header when it is set, else
	 * from the network header, never past the linear data (head..tail) */
	struct dw_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	struct dw_event *e = (struct dw_event *)s->bytes;
	/* Only the capture fields are set before the filter; the rest of the
	 * header is cleared once the drop is kept (5.). */
	e->origin = DW_ORIGIN_NONE;
	e->net_offset = 0;
	e->flags = 0;
	e->wire_len = 0;
	e->vlan_tci = 0;
	e->vlan_proto = 0;
	e->capture_len = 0;
	e->skb_len = DW_READ(btf, skb->len, skb, len);
	e->protocol = DW_READ(btf, skb->protocol, skb, protocol);
	__u64 head = (__u64)DW_READ(btf, skb->head, skb, head);
	__u64 data = (__u64)DW_READ(btf, skb->data, skb, data);
	__u32 tail = DW_READ(btf, skb->tail, skb, tail);
	__u16 mac = DW_READ(btf, skb->mac_header, skb, mac_header);
	__u16 net = DW_READ(btf, skb->network_header, skb, network_header);
	__u32 vlan_all = DW_READ(btf, skb->vlan_all, skb, vlan_all);
	__u32 start = 0;
	if (mac != MAC_UNSET && net > mac && net - mac >= ETH_HLEN && net - mac < 256) {
		e->origin = DW_ORIGIN_MAC;
		e->net_offset = net - mac;
		start = mac;
	} else if (e->protocol && net < tail) {
		e->origin = DW_ORIGIN_NETWORK;
		start = net;
	}

	__u32 cap = 0;
	if (e->origin != DW_ORIGIN_NONE) {
		__s64 wire = (__s64)e->skb_len + (__s64)(data - head) - start;
		e->wire_len = wire > 0 ? wire : 0;
		cap = tail > start ? tail - start : 0;
		if (cap > cfg_snaplen)
			cap = cfg_snaplen;
		/* An offloaded VLAN tag is shown as if it were in the frame, as a
		 * live capture on Linux shows it: copy 4 bytes further, then move
		 * the MAC addresses back over the gap and write the tag. */
		__u32 shift = 0;
		if (vlan_all && e->origin == DW_ORIGIN_MAC) {
			e->flags |= DW_EV_VLAN;
			e->vlan_tci = DW_READ(btf, skb->vlan_tci, skb, vlan_tci);
			e->vlan_proto = DW_READ(btf, skb->vlan_proto, skb, vlan_proto);
			shift = 4;
		}
		if (cap > DW_SNAPLEN_MAX - 4)
			cap = DW_SNAPLEN_MAX - 4;
		if (bpf_probe_read_kernel(e->data + shift, cap, (void *)(head + start)))
			cap = 0;
		if (shift && cap >= 2 * ETH_ALEN) {
#pragma unroll
			for (int i = 0; i < 2 * ETH_ALEN; i++)
				e->data[i] = e->data[i + 4];
			__builtin_memcpy(e->data + 2 * ETH_ALEN, &e->vlan_proto, 2);
			e->data[2 * ETH_ALEN + 2] = e->vlan_tci >> 8;
			e->data[2 * ETH_ALEN + 3] = e->vlan_tci & 0xff;
			cap += 4;
			e->wire_len += 4;
			e->net_offset += 4;
		} else if (shift) {
			cap = 0;
		}
		e->capture_len = cap;
	}

	if (cfg_filter) {
		if (e->origin == DW_ORIGIN_NONE) {
			cnt->no_header_filtered++;
			return 0;
		}
		__u16 type = dev ? DW_READ(btf, dev->type, dev, type) : 0;
		bool link = e->origin == DW_ORIGIN_MAC &&
			    (type == ARPHRD_ETHER || type == ARPHRD_LOOPBACK);
		int ok;
		if (link) {
			ok = dw_filter_link(e->data, cap, e->wire_len);
		} else {
			/* network level: skip a link header we captured but cannot read */
			__u32 off = e->origin == DW_ORIGIN_MAC ? e->net_offset : 0;
			if (off > cap)
				off = cap;
			off &= 0xff;
			ok = dw_filter_net(e->data + off, cap - off, e->wire_len - off);
		}
		if (!ok) {
			cnt->filtered++;
			return 0;
		}
	}

	/* 4. rate limit, before anything costly */
	if (!rate_allows(cnt)) {
		cnt->rate_limited++;
		return 0;
	}

	/* 5. the rest of the event */
	if (!have_netns)
		read_dev_key(&dk, dev, sk, btf);
	e->ifindex = dk.ifindex;
	e->netns = dk.netns;
	e->dev_type = 0;
	e->dev_flags = 0;
	e->operstate = 0;
	e->sk_state = 0;
	e->sk_protocol = 0;
	e->sk_cgroup_id = 0;
	e->stack_bytes = 0;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memset(e->ifname, 0, sizeof(e->ifname));
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->location = location;
	e->reason = reason;
	e->cpu = bpf_get_smp_processor_id();
	if (btf) {
		/* Straight from the task: direct loads cost a few ns, the
		 * cgroup and comm helpers tens (measured, docs/performance.md). */
		struct task_struct *task = bpf_get_current_task_btf();
		e->pid = task->tgid;
		e->tid = task->pid;
		__builtin_memcpy(e->comm, task->comm, sizeof(e->comm));
		e->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	} else {
		__u64 pid_tgid = bpf_get_current_pid_tgid();
		e->pid = pid_tgid >> 32;
		e->tid = (__u32)pid_tgid;
		e->cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	}
	e->rx_ifindex = DW_READ(btf, skb->skb_iif, skb, skb_iif);
	if (dev) {
		e->dev_type = DW_READ(btf, dev->type, dev, type);
		e->dev_flags = DW_READ(btf, dev->flags, dev, flags);
		e->operstate = DW_READ(btf, dev->operstate, dev, operstate);
		if (btf)
			__builtin_memcpy(e->ifname, dev->name, DW_IFNAME_LEN);
		else
			BPF_CORE_READ_INTO(&e->ifname, dev, name);
	}
	if (sk) {
		e->flags |= DW_EV_HAS_SK;
		e->sk_state = DW_READ(btf, sk->__sk_common.skc_state, sk, __sk_common.skc_state);
		e->sk_protocol = DW_READ(btf, sk->sk_protocol, sk, sk_protocol);
		/* the socket's cgroup: the container that owns the flow */
		e->sk_cgroup_id = DW_READ(btf, sk->sk_cgrp_data.cgroup->kn->id, sk,
					  sk_cgrp_data.cgroup, kn, id);
	}
	if (e->origin == DW_ORIGIN_NONE)
		cnt->no_header++;

	/* 6. stack (~4 us: last, and only for what will be sent) */
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

	/* 7. ring buffer, waking the reader only when a lot is waiting */
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
