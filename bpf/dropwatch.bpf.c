// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* dropwatch probe: one program on skb:kfree_skb.
 *
 * Two entry points share one body: tp_btf (BTF tracepoint, skb fields read
 * with direct loads, a few ns each) and the classic tracepoint (fallback for
 * kernels without BTF tracepoints, fields read with CO-RE probe reads, ~35 ns
 * each). The loader picks one at run time with bpf_program__set_autoload().
 *
 * One object for every kernel from 5.10: what a kernel lacks is a CO-RE
 * constant (HAVE_*), so the branch that needs it is never verified there.
 * The tracepoint got its reason in 5.17 and rx_sk in 6.11 (as arguments of
 * the BTF tracepoint too); bpf_get_current_task_btf() came in 5.11, the
 * socket's cgroup pointer in 5.15, skb->vlan_all in 6.2.
 *
 * handle_drop() runs these steps, cheapest first; a drop that a gate rejects
 * reserves nothing and copies at most its headers, and every drop ends in
 * exactly one counter (dropwatch_abi.h):
 *   1. gate_noise      the drop's location is in a function a noise rule names
 *   2. gate_reason     --reason / --reason-excluded: one hash lookup
 *   3. gate_device     --netns, --device / --device-excluded
 *   4. capture         one copy of the headers into the per-CPU event
 *   5. gate_filter     the compiled --filter on the captured bytes
 *   6. rate_allows     --max-events-per-second, a token bucket per CPU
 *   7. fill_event      the rest of the event: task, device, socket
 *   8. fill_stack      the kernel stack (~4 us: last, and only if kept)
 *   9. submit          the ring buffer, waking the reader only when a lot
 *                      is waiting
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dropwatch_abi.h"

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

/* The compiled filter, linked in at load time (compiler/link.h): the
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
	__type(value, struct dw_cpu_state);
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

#define HAVE_REASON bpf_core_field_exists(((struct trace_event_raw_kfree_skb *)0)->reason)
#define HAVE_RX_SK bpf_core_field_exists(((struct trace_event_raw_kfree_skb *)0)->rx_sk)
#define HAVE_TASK_BTF bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)

/* Before 6.2 the presence of a VLAN tag was a bit of its own. */
struct sk_buff___vlan_present {
	__u8 vlan_present : 1;
} __attribute__((preserve_access_index));

#define ETH_HLEN 14
#define ETH_ALEN 6
#define MAC_UNSET 0xffff
#define ARPHRD_ETHER 1
#define ARPHRD_LOOPBACK 772

/* What the steps share about one drop. */
struct drop {
	struct sk_buff *skb;
	struct net_device *dev;
	struct sock *sk;      /* skb->sk, else the tracepoint's rx_sk */
	struct dw_dev_key dk; /* namespace and ifindex, once read */
	bool have_dk;
	__u32 cap;            /* bytes captured into the event */
};

/* Is the list verdict for this key "drop it"? */
static __always_inline bool list_rejects(__u8 mode, void *map, void *key)
{
	if (mode == DW_LIST_OFF)
		return false;
	bool listed = bpf_map_lookup_elem(map, key) != 0;
	return mode == DW_LIST_ALLOW ? !listed : listed;
}

/* 1. Is the drop located in a function a noise rule names? A few compares
 * of the tracepoint's own argument: nothing read from the skb. */
static __always_inline bool gate_noise(__u64 location)
{
	if (!cfg_noise_count)
		return false;
	for (__u32 i = 0; i < DW_NOISE_MAX; i++) {
		if (i >= cfg_noise_count)
			break;
		if (location >= cfg_noise[i].start && location < cfg_noise[i].end)
			return true;
	}
	return false;
}

/* 2. The reason lists: nothing read from the skb yet. */
static __always_inline bool gate_reason(__u32 reason)
{
	return list_rejects(cfg_reason_mode, &reasons, &reason);
}

static __always_inline void read_dev_key(struct drop *d, const bool btf)
{
	struct net_device *dev = d->dev;
	struct sock *sk = d->sk;

	if (dev) {
		d->dk.ifindex = DW_READ(btf, dev->ifindex, dev, ifindex);
		d->dk.netns = DW_READ(btf, dev->nd_net.net->ns.inum, dev, nd_net.net, ns.inum);
	} else if (sk) {
		d->dk.netns = DW_READ(btf, sk->__sk_common.skc_net.net->ns.inum, sk,
				      __sk_common.skc_net.net, ns.inum);
	}
	d->have_dk = true;
}

/* 3. Namespace and device: the namespace is read here only when a gate
 * needs it (a pointer chase), else after the filter. */
static __always_inline bool gate_device(struct drop *d, struct dw_counters *c, const bool btf)
{
	if (!cfg_netns && cfg_device_mode == DW_LIST_OFF)
		return false;
	read_dev_key(d, btf);
	if (cfg_netns && d->dk.netns != cfg_netns) {
		c->netns_rejected++;
		return true;
	}
	if (cfg_device_mode != DW_LIST_OFF) {
		/* no device: an allow list drops it, a deny list passes it */
		bool reject = d->dev ? list_rejects(cfg_device_mode, &devices, &d->dk)
				     : cfg_device_mode == DW_LIST_ALLOW;
		if (reject) {
			c->device_rejected++;
			return true;
		}
	}
	return false;
}

static __always_inline bool vlan_tagged(struct sk_buff *skb, const bool btf)
{
	if (bpf_core_field_exists(skb->vlan_all))
		return DW_READ(btf, skb->vlan_all, skb, vlan_all) != 0;
	struct sk_buff___vlan_present *old = (void *)skb;
	if (bpf_core_field_exists(old->vlan_present))
		return BPF_CORE_READ_BITFIELD_PROBED(old, vlan_present);
	return false;
}

/* 4. One copy of the headers, from the MAC header when it is set, else
 * from the network header, never past the linear data (head..tail). Only
 * the capture fields of the event are set here; fill_event() sets the rest
 * once the drop is kept. */
static __always_inline void capture(struct dw_event *e, struct drop *d, const bool btf)
{
	struct sk_buff *skb = d->skb;

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
	__u32 start = 0;
	if (mac != MAC_UNSET && net > mac && net - mac >= ETH_HLEN && net - mac < 256) {
		e->origin = DW_ORIGIN_MAC;
		e->net_offset = net - mac;
		start = mac;
	} else if (e->protocol && net < tail) {
		e->origin = DW_ORIGIN_NETWORK;
		start = net;
	}
	d->cap = 0;
	if (e->origin == DW_ORIGIN_NONE)
		return;

	__s64 wire = (__s64)e->skb_len + (__s64)(data - head) - start;
	e->wire_len = wire > 0 ? wire : 0;
	__u32 cap = tail > start ? tail - start : 0;
	if (cap > cfg_snaplen)
		cap = cfg_snaplen;
	/* An offloaded VLAN tag is shown as if it were in the frame, as a live
	 * capture on Linux shows it: copy 4 bytes further, then move the MAC
	 * addresses back over the gap and write the tag. */
	__u32 shift = 0;
	if (e->origin == DW_ORIGIN_MAC && vlan_tagged(skb, btf)) {
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
	d->cap = cap;
}

/* 5. The compiled filter: frames from the MAC header of an Ethernet-like
 * device go to the link-level entry, the rest to the network-level one. */
static __always_inline bool gate_filter(struct dw_event *e, struct drop *d,
					struct dw_counters *c, const bool btf)
{
	if (!cfg_filter)
		return false;
	if (e->origin == DW_ORIGIN_NONE) {
		c->no_header_filtered++;
		return true;
	}
	struct net_device *dev = d->dev;
	__u32 cap = d->cap;
	__u16 type = dev ? DW_READ(btf, dev->type, dev, type) : 0;
	bool link = e->origin == DW_ORIGIN_MAC && (type == ARPHRD_ETHER || type == ARPHRD_LOOPBACK);
	int ok;
	if (link) {
		ok = dw_filter_link(e->data, cap, e->wire_len);
	} else if (e->origin == DW_ORIGIN_NETWORK) {
		ok = dw_filter_net(e->data, cap, e->wire_len);
	} else {
		/* a link header we captured but cannot read: skip it. (A
		 * separate call: 5.10's verifier loses the pointer after
		 * clamping a zero offset.) */
		__u32 off = e->net_offset;
		if (off > cap)
			off = cap;
		off &= 0xff;
		ok = dw_filter_net(e->data + off, cap - off, e->wire_len - off);
	}
	if (!ok) {
		c->filtered++;
		return true;
	}
	return false;
}

/* 6. The token bucket of this CPU. */
static __always_inline bool rate_allows(struct dw_cpu_state *cpu)
{
	if (!cfg_rate_interval_ns)
		return true;
	__u64 now = bpf_ktime_get_ns();
	__u64 credit = cpu->rate_credit_ns + (now - cpu->rate_last_ns);
	if (credit > cfg_rate_burst_ns)
		credit = cfg_rate_burst_ns;
	cpu->rate_last_ns = now;
	if (credit < cfg_rate_interval_ns) {
		cpu->rate_credit_ns = credit;
		return false;
	}
	cpu->rate_credit_ns = credit - cfg_rate_interval_ns;
	return true;
}

/* 7. The rest of the event, for a drop that is kept. */
static __always_inline void fill_event(struct dw_event *e, struct drop *d, __u64 location,
				       __u32 reason, const bool btf)
{
	struct sk_buff *skb = d->skb;
	struct net_device *dev = d->dev;
	struct sock *sk = d->sk;

	if (!d->have_dk)
		read_dev_key(d, btf);
	e->ifindex = d->dk.ifindex;
	e->netns = d->dk.netns;
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
	if (btf && HAVE_TASK_BTF) {
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
		if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
			e->sk_cgroup_id = DW_READ(btf, sk->sk_cgrp_data.cgroup->kn->id, sk,
						  sk_cgrp_data.cgroup, kn, id);
	}
}

/* 8. The stack after the padded capture at `off`; returns its bytes. */
static __always_inline __u32 fill_stack(void *ctx, struct dw_event *e, __u32 off)
{
	if (!cfg_stack)
		return 0;
	__u32 stack = 0;
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
	return stack;
}

/* 9. The ring buffer, waking the reader only when a lot is waiting. */
static __always_inline void submit(struct dw_event *e, __u64 size, struct dw_counters *c)
{
	if (size > sizeof(struct dw_scratch)) {
		c->oversized++;
		return;
	}
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= cfg_wakeup_bytes
			      ? BPF_RB_FORCE_WAKEUP
			      : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, e, size, flags))
		c->lost++;
	else
		c->emitted++;
}

static __always_inline int handle_drop(void *ctx, struct sk_buff *skb, __u64 location,
				       __u32 reason, struct sock *rx_sk, const bool btf)
{
	/* Not drops: the kernel reports normal frees through the same path. */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return 0;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_NOT_DROPPED_YET) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_NOT_DROPPED_YET))
		return 0;

	__u32 zero = 0;
	struct dw_cpu_state *cpu = bpf_map_lookup_elem(&counters, &zero);
	if (!cpu)
		return 0;
	struct dw_counters *c = &cpu->c;
	c->seen++;

	if (gate_noise(location)) {
		c->noise++;
		return 0;
	}
	if (gate_reason(reason)) {
		c->reason_rejected++;
		return 0;
	}
	struct drop d = {};
	d.skb = skb;
	d.dev = DW_READ(btf, skb->dev, skb, dev);
	d.sk = DW_READ(btf, skb->sk, skb, sk);
	if (!d.sk)
		d.sk = rx_sk;
	if (gate_device(&d, c, btf))
		return 0;

	struct dw_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	struct dw_event *e = (struct dw_event *)s->bytes;
	capture(e, &d, btf);
	if (gate_filter(e, &d, c, btf))
		return 0;
	if (!rate_allows(cpu)) {
		c->rate_limited++;
		return 0;
	}
	fill_event(e, &d, location, reason, btf);
	if (e->origin == DW_ORIGIN_NONE)
		c->no_header++;
	__u32 off = (d.cap + 7) & ~7u;
	if (off > DW_SNAPLEN_MAX)
		off = DW_SNAPLEN_MAX;
	__u32 stack = fill_stack(ctx, e, off);
	submit(e, sizeof(*e) + off + stack, c);
	return 0;
}

/* The BTF tracepoint's arguments: (skb, location[, reason[, rx_sk]]); an
 * argument this kernel does not pass is never read. */
SEC("tp_btf/kfree_skb")
int dw_kfree_skb_btf(__u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	__u32 reason = 0;
	struct sock *rx_sk = NULL;

	if (HAVE_REASON)
		reason = ctx[2];
	if (HAVE_RX_SK)
		rx_sk = (struct sock *)ctx[3];
	return handle_drop(ctx, skb, ctx[1], reason, rx_sk, true);
}

SEC("tracepoint/skb/kfree_skb")
int dw_kfree_skb_tp(struct trace_event_raw_kfree_skb *args)
{
	__u32 reason = 0;
	struct sock *rx_sk = NULL;

	if (bpf_core_field_exists(args->reason))
		reason = args->reason;
	if (bpf_core_field_exists(args->rx_sk))
		rx_sk = args->rx_sk;
	return handle_drop(args, args->skbaddr, (__u64)args->location, reason, rx_sk, false);
}
