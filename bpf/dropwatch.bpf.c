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
 * Each entry runs these steps, cheapest first; a drop that a gate rejects
 * reserves nothing and copies nothing (in place) or at most its headers
 * (copy), and every drop ends in exactly one counter (dropwatch_abi.h).
 * Steps 1-5 (pass_gates) are inline in the entry and keep no struct on
 * the stack; 6 alone is inline too when nothing asks for events (count_only);
 * 6-11 with events are a function of their own (keep_*). The loader's
 * knobs are constants of the code (compiler/link.h), so what an option
 * does not need is not there:
 *   1. gate_noise      the drop's location is in a function a noise rule names
 *   2. gate_reason     --reason / --reason-excluded: one hash lookup
 *   3. gate_device     --netns, --device / --device-excluded
 *   4. locate          where the captured bytes start and how many there are
 *   5. gate_filter     the compiled --filter, on the bytes where they lie
 *                      (in place) or on a copy of them (older kernels,
 *                      VLAN-tagged frames: filter_copied_*)
 *   6. count_drop      the in-kernel drop table; the end when no output
 *                      asks for events (--summary, --metrics)
 *   7. rate_allows     --max-events-per-second, a token bucket per CPU
 *   8. reserve         the ring-buffer record, the event built in it
 *   9. fill_event      capture, task, device, socket, conntrack entry
 *  10. fill_stack      the kernel stack (~4 us), within the stack budget
 *  11. submit          waking the reader only when a lot is waiting
 *
 * Three entry points: tp_btf in place (the filter reads the skb's linear
 * data through bpf_rdonly_cast(), fault-safe loads, no copy), tp_btf with a
 * copy (kernels whose verifier does not take the in-place read), and the
 * classic tracepoint. The loader loads one (probe/probe.cpp).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dropwatch_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

_Static_assert(sizeof(struct dw_event) == DW_EVENT_HEADER_SIZE, "event header layout");

/* The knobs: constants of the code, folded in when the probe is linked
 * (compiler/link.h), and the same values in .rodata, set by the loader
 * (probe::Probe::rodata). */
const volatile __u32 cfg_snaplen = DW_SNAPLEN_DEFAULT;
const volatile __u8 cfg_stack = 1;
const volatile __u8 cfg_filter = 0; /* the filters below are real */
const volatile __u8 cfg_reason_mode = DW_LIST_OFF;
const volatile __u8 cfg_device_mode = DW_LIST_OFF;
const volatile __u32 cfg_netns = 0;	  /* 0: every namespace */
const volatile __u32 cfg_noise_count = 0; /* ranges used in cfg_noise */
const volatile struct dw_range cfg_noise[DW_NOISE_MAX] = {};
/* Token bucket per CPU: one event costs rate_interval_ns of credit, credit
 * accrues with time up to rate_burst_ns. 0: no limit. */
const volatile __u64 cfg_rate_interval_ns = 0;
const volatile __u64 cfg_rate_burst_ns = 0;
/* The stack budget, a token bucket per CPU like the rate: a stack costs
 * ~4.5 us of unwinding, so a storm takes stacks at this pace and sends the
 * rest of its events without one (flagged, counted). 0: every stack. */
const volatile __u64 cfg_stack_interval_ns = 0;
const volatile __u64 cfg_stack_burst_ns = 0;
/* 0: drops are only counted (drop_slots), no event is built. */
const volatile __u8 cfg_events = 1;
/* Wake the reader only when this much is waiting: a wakeup per event costs
 * ~5 us here, the event itself ~0.2 us. The reader also polls on a timer. */
const volatile __u64 cfg_wakeup_bytes = 1 << 20;
/* --track: the drop looks up the skb's recorded path. */
const volatile __u8 cfg_track = 0;

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

/* The kfunc (6.2; BTF id 0, untrusted read-only memory, in newer kernels)
 * behind in-place reads: loads through its result are fault-safe. Weak: a
 * kernel without it never loads the in-place entry. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* The bytes the filter reads when it cannot read them in place: the
 * headers copied, with an offloaded VLAN tag put back. A global filter
 * function takes capacity + 8 bytes from where it is called, up to 255
 * bytes in (a link header skipped). */
struct dw_scratch {
	__u8 bytes[DW_SNAPLEN_MAX + 8 + 256];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dw_scratch);
} scratch SEC(".maps");

/* Per-CPU state in plain arrays, a CPU's entries at its number (resized
 * to the possible CPUs by the loader): a plain array's address is the map's
 * plus an offset, where a per-CPU array's lookup first loads the entry's
 * per-CPU pointer, one more cache miss on every drop. Mmapable: the values
 * start on a page, so no two CPUs share a cache line. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* resized by the loader */
	__uint(map_flags, BPF_F_MMAPABLE);
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

/* Drops by reason, location and device: what --summary and --metrics show,
 * exact whatever the rate limit or the ring buffer lose (dropwatch_abi.h).
 * DW_COUNT_SLOTS entries for each CPU, CPU n's from n * DW_COUNT_SLOTS. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DW_COUNT_SLOTS); /* resized by the loader */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct dw_count_slot);
} drop_slots SEC(".maps");

/* --track: the hops of each tracked skb, by its address. LRU: an skb that
 * left without a consume or a drop this probe saw is forgotten in time. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192); /* resized by the loader */
	__type(key, __u64);
	__type(value, struct dw_path);
} paths SEC(".maps");

/* A zeroed path to start one from: never written. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dw_path);
} blank_path SEC(".maps");

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
#define VLAN_HLEN 4
/* The capture part of a record: snaplen plus an inserted VLAN tag, padded. */
#define CAPTURE_ROOM ((cfg_snaplen + VLAN_HLEN + 7) & ~7u)
/* --track's path block, between the header and the capture. */
#define PATH_ROOM (cfg_track ? sizeof(struct dw_path) : 0)

/* What the steps share about one drop. */
struct drop {
	struct sk_buff *skb;
	struct net_device *dev;
	struct sock *sk;      /* skb->sk, else the tracepoint's rx_sk */
	struct dw_dev_key dk; /* namespace and ifindex, once read */
	bool have_dk;
	/* 4. where the captured bytes are */
	__u64 head;	/* skb->head */
	__u32 start;	/* offset of the first byte from head */
	__u32 cap;	/* linear bytes from start, at most cfg_snaplen */
	__u32 wire_len; /* packet length from start */
	__u32 skb_len;
	__u16 protocol;
	__u16 vlan_tci, vlan_proto;
	__u8 origin;	 /* enum dw_origin */
	__u8 net_offset; /* network header from start, without a VLAN tag */
	bool vlan;	 /* an offloaded tag to insert after the MAC addresses */
	bool in_place;	 /* the filter read the packet where it lay */
};

/* Is the list verdict for this key "drop it"? */
static __always_inline bool list_rejects(__u8 mode, void *map, void *key)
{
	if (mode == DW_LIST_OFF)
		return false;
	bool listed = bpf_map_lookup_elem(map, key) != 0;
	return mode == DW_LIST_ALLOW ? !listed : listed;
}

/* A token bucket: may one more thing be done at `now`? */
static __always_inline bool bucket_allows(struct dw_bucket *b, __u64 now, __u64 interval,
					  __u64 burst)
{
	__u64 credit = b->credit_ns + (now - b->last_ns);
	if (credit > burst)
		credit = burst;
	b->last_ns = now;
	if (credit < interval) {
		b->credit_ns = credit;
		return false;
	}
	b->credit_ns = credit - interval;
	return true;
}

/* Only what every path reads is set here: locate() sets the rest it
 * reads, read_dev_key() the key. */
static __always_inline void init_drop(struct drop *d, struct sk_buff *skb, struct sock *rx_sk,
				      const bool btf)
{
	d->skb = skb;
	d->dev = DW_READ(btf, skb->dev, skb, dev);
	d->sk = DW_READ(btf, skb->sk, skb, sk);
	if (!d->sk)
		d->sk = rx_sk;
	d->dk.netns = 0;
	d->dk.ifindex = 0;
	d->have_dk = false;
	d->origin = DW_ORIGIN_NONE;
	d->vlan = false;
	d->in_place = false;
	/* Read together with vlan by the copy, set only with a tag: before
	 * 5.13 the verifier refuses a read of stack never written. */
	d->vlan_tci = 0;
	d->vlan_proto = 0;
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

	if (d->have_dk)
		return;
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
		/* a copy: the drop's own fields stay in registers */
		struct dw_dev_key key = d->dk;
		bool reject = d->dev ? list_rejects(cfg_device_mode, &devices, &key)
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

/* 4. From the MAC header when it is set, else from the network header,
 * never past the linear data (head..tail): nothing is copied yet.
 * locate() for events, filter_in_place() for the filter. */
static __always_inline bool mac_header_set(__u16 mac, __u16 net)
{
	return mac != MAC_UNSET && net > mac && net - mac >= ETH_HLEN && net - mac < 256;
}

/* The packet's length from `start`, its paged part included; data_off is
 * skb->data - skb->head. */
static __always_inline __u32 wire_len_from(__u32 skb_len, __u64 data_off, __u32 start)
{
	__s64 wire = (__s64)skb_len + (__s64)data_off - start;
	return wire > 0 ? wire : 0;
}

/* The linear bytes from `start` a capture takes. */
static __always_inline __u32 capture_len(__u32 tail, __u32 start)
{
	__u32 cap = tail > start ? tail - start : 0;
	if (cap > cfg_snaplen)
		cap = cfg_snaplen;
	if (cap > DW_SNAPLEN_MAX)
		cap = DW_SNAPLEN_MAX;
	return cap;
}

static __always_inline void locate(struct drop *d, const bool btf)
{
	struct sk_buff *skb = d->skb;

	d->net_offset = 0;
	d->cap = 0;
	d->wire_len = 0;
	d->start = 0;
	d->skb_len = DW_READ(btf, skb->len, skb, len);
	d->protocol = DW_READ(btf, skb->protocol, skb, protocol);
	d->head = (__u64)DW_READ(btf, skb->head, skb, head);
	/* A difference of the two pointers is a number to the verifier; kept
	 * apart, or the compiler may fold it into a sum that stays a pointer. */
	__u64 data_off = (__u64)DW_READ(btf, skb->data, skb, data) - d->head;
	barrier_var(data_off);
	__u32 tail = DW_READ(btf, skb->tail, skb, tail);
	__u16 mac = DW_READ(btf, skb->mac_header, skb, mac_header);
	__u16 net = DW_READ(btf, skb->network_header, skb, network_header);
	if (mac_header_set(mac, net)) {
		d->origin = DW_ORIGIN_MAC;
		d->net_offset = net - mac;
		d->start = mac;
	} else if (d->protocol && net < tail) {
		d->origin = DW_ORIGIN_NETWORK;
		d->start = net;
	} else {
		return;
	}
	d->wire_len = wire_len_from(d->skb_len, data_off, d->start);
	d->cap = capture_len(tail, d->start);
	/* An offloaded VLAN tag is shown as if it were in the frame, as a live
	 * capture on Linux shows it: read_vlan() reads it where it is copied. */
	d->vlan = d->origin == DW_ORIGIN_MAC && vlan_tagged(skb, btf);
}

static __always_inline void read_vlan(struct drop *d, const bool btf)
{
	struct sk_buff *skb = d->skb;

	if (!d->vlan)
		return;
	d->vlan_tci = DW_READ(btf, skb->vlan_tci, skb, vlan_tci);
	d->vlan_proto = DW_READ(btf, skb->vlan_proto, skb, vlan_proto);
}

/* The captured bytes copied to `dst` (room for cfg_snaplen + 4 bytes), the
 * VLAN tag inserted; returns how many. */
static __always_inline __u32 copy_capture(__u8 *dst, const struct drop *d)
{
	__u32 cap = d->cap;
	__u32 shift = d->vlan ? VLAN_HLEN : 0;
	/* Bounds the verifier sees here, whatever it kept of d->cap's: opaque
	 * to the compiler first, or it reuses locate()'s clamp of the same
	 * value (the knobs are constants), spilled, and before 5.14 a 32-bit
	 * value filled from the stack has no bounds. */
	barrier_var(cap);
	if (cap > DW_SNAPLEN_MAX)
		cap = DW_SNAPLEN_MAX;
	if (cap > cfg_snaplen)
		cap = cfg_snaplen;
	if (bpf_probe_read_kernel(dst + shift, cap, (void *)(d->head + d->start)))
		return 0;
	if (!shift)
		return cap;
	if (cap < 2 * ETH_ALEN)
		return 0;
	/* move the MAC addresses back over the gap and write the tag */
#pragma unroll
	for (int i = 0; i < 2 * ETH_ALEN; i++)
		dst[i] = dst[i + VLAN_HLEN];
	__builtin_memcpy(dst + 2 * ETH_ALEN, &d->vlan_proto, 2);
	dst[2 * ETH_ALEN + 2] = d->vlan_tci >> 8;
	dst[2 * ETH_ALEN + 3] = d->vlan_tci & 0xff;
	return cap + VLAN_HLEN;
}

/* 5. The compiled filter: frames from the MAC header of an Ethernet-like
 * device go to the link-level entry, the rest to the network-level one,
 * past the `link_len` bytes of a link header it cannot read. The device
 * is read last, for MAC frames only. 1: keep, 0: rejected. */
static __always_inline int run_filter(struct sk_buff *skb, bool mac, __u32 link_len,
				      const __u8 *data, __u32 cap, __u32 wire, const bool btf)
{
	if (!mac)
		return dw_filter_net(data, cap, wire) != 0;
	struct net_device *dev = DW_READ(btf, skb->dev, skb, dev);
	__u16 type = dev ? DW_READ(btf, dev->type, dev, type) : 0;
	if (type == ARPHRD_ETHER || type == ARPHRD_LOOPBACK)
		return dw_filter_link(data, cap, wire) != 0;
	/* A link header we captured but cannot read: skip it. (A separate
	 * call: 5.10's verifier loses the pointer after clamping a zero
	 * offset.) */
	__u32 off = link_len;
	if (off > cap)
		off = cap;
	off &= 0xff;
	return dw_filter_net(data + off, cap - off, wire - off) != 0;
}

/* The filter on a copy of the bytes, with an offloaded VLAN tag put back:
 * on kernels without in-place reads, and for tagged frames. A function of
 * its own, called with the skb only, so the copy's frame and registers are
 * not those of the gates. -1: no header to filter on. */
static __always_inline int filter_copied(struct sk_buff *skb, const bool btf)
{
	struct drop d;
	__u32 zero = 0;

	init_drop(&d, skb, NULL, btf);
	locate(&d, btf);
	if (d.origin == DW_ORIGIN_NONE)
		return -1;
	read_vlan(&d, btf);
	struct dw_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	__u32 cap = copy_capture(s->bytes, &d);
	__u32 tag = d.vlan ? VLAN_HLEN : 0;
	return run_filter(skb, d.origin == DW_ORIGIN_MAC, d.net_offset + tag, s->bytes, cap,
			  d.wire_len + tag, btf);
}

static __noinline int filter_copied_btf(struct sk_buff *skb)
{
	return filter_copied(skb, true);
}

static __noinline int filter_copied_tp(struct sk_buff *skb)
{
	return filter_copied(skb, false);
}

/* In place the filter reads the skb's own bytes (`cap` of them, as a copy
 * would have) through bpf_rdonly_cast(): nothing is copied. locate()'s
 * choice, but each field read only where it is needed, the protocol only
 * without a MAC header, no struct drop: fewer values held across the call
 * and spilled, a rejected drop 3-6% faster than through locate()
 * (scripts/compare-builds, docs/performance.md). */
static __always_inline int filter_in_place(struct sk_buff *skb)
{
	__u16 mac = skb->mac_header;
	__u16 net = skb->network_header;
	__u32 tail = skb->tail;
	__u32 start;
	bool link = mac_header_set(mac, net);

	if (link) {
		if (vlan_tagged(skb, true))
			return filter_copied_btf(skb);
		start = mac;
	} else if (skb->protocol && net < tail) {
		start = net;
	} else {
		return -1;
	}
	unsigned char *head = skb->head;
	/* a number, kept apart from head (as in locate()) */
	__u64 data_off = skb->data - head;
	barrier_var(data_off);
	__u32 wire = wire_len_from(skb->len, data_off, start);
	const __u8 *data = bpf_rdonly_cast(head + start, 0);
	return run_filter(skb, link, net - mac, data, capture_len(tail, start), wire, true);
}

static __always_inline int filter_verdict(struct sk_buff *skb, const bool btf,
					  const bool in_place)
{
	if (!in_place)
		return btf ? filter_copied_btf(skb) : filter_copied_tp(skb);
	return filter_in_place(skb);
}

static __always_inline bool gate_filter(struct sk_buff *skb, struct dw_counters *c,
					const bool btf, const bool in_place)
{
	if (!cfg_filter)
		return false;
	int v = filter_verdict(skb, btf, in_place);
	if (v < 0)
		c->no_header_filtered++;
	else if (!v)
		c->filtered++;
	return v <= 0;
}

/* 6. The drop table: the key's slot, else one of the next few; a free slot
 * is taken (and its device's name kept), a key with no room is counted in
 * count_overflow. In this CPU's part, so no other CPU writes these slots. */
static __always_inline void count_drop(struct drop *d, __u64 location, __u32 reason, __u32 cpu,
				       struct dw_counters *c, const bool btf)
{
	read_dev_key(d, btf);
	__u64 h = location ^ ((__u64)reason << 40) ^ ((__u64)d->dk.netns * 0xff51afd7ed558ccdull) ^
		  ((__u64)d->dk.ifindex * 0xc4ceb9fe1a85ec53ull);
	h *= 0x9e3779b97f4a7c15ull;
	__u32 first = h >> 40;
	for (__u32 i = 0; i < DW_COUNT_PROBES; i++) {
		__u32 idx = cpu * DW_COUNT_SLOTS + ((first + i) & (DW_COUNT_SLOTS - 1));
		struct dw_count_slot *s = bpf_map_lookup_elem(&drop_slots, &idx);
		if (!s)
			return;
		if (!s->drops) {
			s->key.location = location;
			s->key.reason = reason;
			s->key.netns = d->dk.netns;
			s->key.ifindex = d->dk.ifindex;
			s->key.pad = 0;
			struct net_device *dev = d->dev;
			__builtin_memset(s->ifname, 0, sizeof(s->ifname));
			if (dev)
				BPF_CORE_READ_STR_INTO(&s->ifname, dev, name);
			s->drops = 1;
			return;
		}
		if (s->key.location == location && s->key.reason == reason &&
		    s->key.netns == d->dk.netns && s->key.ifindex == d->dk.ifindex) {
			s->drops++;
			return;
		}
	}
	c->count_overflow++;
}

/* 9. (fill_ct) The skb's conntrack entry, for kept drops only: skb->_nfct is the
 * entry's address with the packet's ctinfo in its low 3 bits. Two probe
 * reads: the span from the zone through the two tuples to the status (one
 * struct in every kernel since 4.x), then the mark; fields are picked from
 * the copy at CO-RE offsets. (The entry's type id is ambiguous to CO-RE,
 * nf_conn___init shares the name, but its fields are not.) */
#define DW_CT_SPAN_MAX 192
static __always_inline void ct_tuple(struct dw_ct_tuple *t, const __u8 *span, __u32 off)
{
	__builtin_memcpy(t->src, span + off + bpf_core_field_offset(struct nf_conntrack_tuple, src.u3),
			 16);
	__builtin_memcpy(t->dst, span + off + bpf_core_field_offset(struct nf_conntrack_tuple, dst.u3),
			 16);
	__builtin_memcpy(&t->src_u,
			 span + off + bpf_core_field_offset(struct nf_conntrack_tuple, src.u.all), 2);
	__builtin_memcpy(&t->dst_u,
			 span + off + bpf_core_field_offset(struct nf_conntrack_tuple, dst.u.all), 2);
	__builtin_memcpy(&t->l3num,
			 span + off + bpf_core_field_offset(struct nf_conntrack_tuple, src.l3num), 2);
	t->protonum = span[off + bpf_core_field_offset(struct nf_conntrack_tuple, dst.protonum)];
	t->pad = 0;
}

static __always_inline void fill_ct(struct dw_event *e, struct sk_buff *skb, const bool btf)
{
	struct dw_ct *out = &e->ct;
	__u8 span[DW_CT_SPAN_MAX];

	if (!bpf_core_field_exists(skb->_nfct))
		return;
	__u64 nfct = DW_READ(btf, skb->_nfct, skb, _nfct);
	if (!nfct)
		return;
	__builtin_memset(out, 0, sizeof(*out));
	out->ctinfo = nfct & 7;
	e->flags |= DW_EV_CT;
	struct nf_conn *ct = (void *)(nfct & ~7ull);
	if (!ct)
		return; /* untracked */
	if (bpf_core_field_exists(ct->mark))
		bpf_core_read(&out->mark, sizeof(out->mark), &ct->mark);
	__u32 first = bpf_core_field_offset(struct nf_conn, tuplehash);
	if (bpf_core_field_exists(ct->zone))
		first = bpf_core_field_offset(struct nf_conn, zone);
	__u32 end = bpf_core_field_offset(struct nf_conn, status) + 8;
	__u32 tuple = bpf_core_field_offset(struct nf_conntrack_tuple_hash, tuple);
	__u32 stride = bpf_core_type_size(struct nf_conntrack_tuple_hash);
	__u32 th = bpf_core_field_offset(struct nf_conn, tuplehash) - first;
	if (end - first > DW_CT_SPAN_MAX || th + stride + tuple + bpf_core_type_size(struct nf_conntrack_tuple) > DW_CT_SPAN_MAX ||
	    bpf_probe_read_kernel(span, end - first, (__u8 *)ct + first))
		return;
	if (bpf_core_field_exists(ct->zone))
		__builtin_memcpy(&out->zone, span, 2);
	__builtin_memcpy(&out->status, span + (end - 8 - first), 8);
	ct_tuple(&out->orig, span, th + tuple);
	ct_tuple(&out->reply, span, th + stride + tuple);
}

/* 9. The event, in its ring-buffer record: capture, task, device, socket. */
static __always_inline void fill_event(struct dw_event *e, struct drop *d, __u64 location,
				       __u32 reason, __u64 now, const bool btf)
{
	struct sk_buff *skb = d->skb;
	struct net_device *dev = d->dev;
	struct sock *sk = d->sk;

	read_dev_key(d, btf);
	e->ts_boot_ns = now;
	e->location = location;
	e->reason = reason;
	e->cpu = bpf_get_smp_processor_id();
	e->ifindex = d->dk.ifindex;
	e->netns = d->dk.netns;
	e->skb_len = d->skb_len;
	e->protocol = d->protocol;
	e->origin = d->origin;
	e->flags = d->in_place ? DW_EV_IN_PLACE : 0;
	e->vlan_tci = 0;
	e->vlan_proto = 0;
	e->net_offset = d->net_offset;
	e->wire_len = d->wire_len;
	e->capture_len = 0;
	if (d->origin != DW_ORIGIN_NONE) {
		__u32 cap = copy_capture(e->data + PATH_ROOM, d);
		if (d->vlan) {
			e->flags |= DW_EV_VLAN;
			e->vlan_tci = d->vlan_tci;
			e->vlan_proto = d->vlan_proto;
			if (cap) {
				e->wire_len += VLAN_HLEN;
				e->net_offset += VLAN_HLEN;
			}
		}
		e->capture_len = cap;
	}
	e->dev_type = 0;
	e->dev_flags = 0;
	e->operstate = 0;
	e->sk_state = 0;
	e->sk_protocol = 0;
	e->sk_cgroup_id = 0;
	e->stack_bytes = 0;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memset(e->ifname, 0, sizeof(e->ifname));
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
	fill_ct(e, skb, btf);
}

/* 9. (fill_path) --track: the hops recorded for this skb, if its path is
 * still the one of this buffer, in the block after the header; the entry
 * is done with either way. */
static __always_inline void fill_path(struct dw_event *e, struct drop *d)
{
	struct dw_path *out = (struct dw_path *)e->data;
	__u64 key = (__u64)d->skb;
	struct dw_path *p = bpf_map_lookup_elem(&paths, &key);

	e->flags |= DW_EV_PATH;
	out->count = 0;
	out->truncated = 0;
	if (!p)
		return;
	if (p->head == d->head)
		__builtin_memcpy(out, p, sizeof(*p));
	bpf_map_delete_elem(&paths, &key);
}

/* 10. The stack after the padded capture. */
static __always_inline void fill_stack(void *ctx, struct dw_event *e)
{
	__u32 off = (e->capture_len + 7) & ~7u;
	if (off > CAPTURE_ROOM)
		off = CAPTURE_ROOM;
	if (off > DW_SNAPLEN_MAX + 8)
		off = DW_SNAPLEN_MAX + 8;
	long n = bpf_get_stack(ctx, e->data + PATH_ROOM + off, DW_STACK_MAX * 8, 0);
	__u32 stack = 0;
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

/* Steps 1-5: this CPU's state when the drop passed every gate, else null.
 * Nothing lives across the filter's call but the context and the counters,
 * and no struct reaches the stack: a rejected drop touches few lines. */
static __always_inline struct dw_cpu_state *pass_gates(struct sk_buff *skb, __u64 location,
						       __u32 reason, struct sock *rx_sk,
						       const bool btf, const bool in_place)
{
	/* Not drops: the kernel reports normal frees through the same path. */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return NULL;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_NOT_DROPPED_YET) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_NOT_DROPPED_YET))
		return NULL;

	__u32 cpu_id = bpf_get_smp_processor_id();
	struct dw_cpu_state *cpu = bpf_map_lookup_elem(&counters, &cpu_id);
	if (!cpu)
		return NULL;
	struct dw_counters *c = &cpu->c;
	c->seen++;

	if (gate_noise(location)) {
		c->noise++;
		return NULL;
	}
	if (gate_reason(reason)) {
		c->reason_rejected++;
		return NULL;
	}
	if (cfg_netns || cfg_device_mode != DW_LIST_OFF) {
		struct drop d;
		init_drop(&d, skb, rx_sk, btf);
		if (gate_device(&d, c, btf))
			return NULL;
	}
	return gate_filter(skb, c, btf, in_place) ? NULL : cpu;
}

/* 6. Counting only (--summary, --metrics): the drop table, and done. */
static __always_inline int count_only(struct dw_cpu_state *cpu, struct sk_buff *skb,
				      __u64 location, __u32 reason, struct sock *rx_sk,
				      const bool btf)
{
	struct drop d;

	init_drop(&d, skb, rx_sk, btf);
	count_drop(&d, location, reason, bpf_get_smp_processor_id(), &cpu->c, btf);
	cpu->c.counted++;
	return 0;
}

/* Steps 6-11 with events: a function of its own, so the event's frame (the
 * drop, the conntrack copy) and its registers are not the gates' (above);
 * called with the context only. The packet is located again: a few loads,
 * for kept drops only. */
static __always_inline int keep_drop(void *ctx, struct sk_buff *skb, __u64 location, __u32 reason,
				     struct sock *rx_sk, const bool btf, const bool in_place)
{
	__u32 cpu_id = bpf_get_smp_processor_id();
	struct dw_cpu_state *cpu = bpf_map_lookup_elem(&counters, &cpu_id);
	if (!cpu)
		return 0;
	struct dw_counters *c = &cpu->c;
	struct drop d;
	init_drop(&d, skb, rx_sk, btf);
	count_drop(&d, location, reason, cpu_id, c, btf);
	locate(&d, btf);
	read_vlan(&d, btf);
	/* what the filter read, as filter_verdict() chose */
	d.in_place = cfg_filter && in_place && !d.vlan && d.origin != DW_ORIGIN_NONE;

	/* One clock read serves the event, the rate and the stack budget. */
	__u64 now = bpf_ktime_get_boot_ns();
	if (cfg_rate_interval_ns &&
	    !bucket_allows(&cpu->rate, now, cfg_rate_interval_ns, cfg_rate_burst_ns)) {
		c->rate_limited++;
		return 0;
	}
	bool stack = cfg_stack &&
		     (!cfg_stack_interval_ns ||
		      bucket_allows(&cpu->stacks, now, cfg_stack_interval_ns, cfg_stack_burst_ns));
	/* 8. The record is the event: reserved first, written once. Its size
	 * is a constant of this load (the verifier wants one). */
	struct dw_event *e;
	if (stack)
		e = bpf_ringbuf_reserve(
			&events, sizeof(struct dw_event) + PATH_ROOM + CAPTURE_ROOM + DW_STACK_MAX * 8,
			0);
	else
		e = bpf_ringbuf_reserve(&events, sizeof(struct dw_event) + PATH_ROOM + CAPTURE_ROOM, 0);
	if (!e) {
		c->lost++;
		return 0;
	}
	fill_event(e, &d, location, reason, now, btf);
	if (cfg_track)
		fill_path(e, &d);
	if (stack)
		fill_stack(ctx, e);
	else if (cfg_stack)
		e->flags |= DW_EV_STACK_SKIPPED;
	if (e->origin == DW_ORIGIN_NONE)
		c->no_header++;
	if (!stack && cfg_stack)
		c->stack_skipped++;
	c->emitted++;
	/* 11. Wake the reader once, when this record takes what is waiting
	 * past the mark: a wakeup costs ~5 us, and a reader slower than the
	 * storm is awake anyway (it polls on a timer too). */
	__u64 size = sizeof(struct dw_event) + PATH_ROOM + CAPTURE_ROOM +
		     (stack ? DW_STACK_MAX * 8 : 0);
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = avail >= cfg_wakeup_bytes && avail < cfg_wakeup_bytes + size
			      ? BPF_RB_FORCE_WAKEUP
			      : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	return 0;
}

/* The entries' arguments: the BTF tracepoint's (skb, location[, reason[,
 * rx_sk]]), the classic one's record; an argument this kernel does not
 * pass is never read. Each entry runs the gates inline and calls its own
 * copy of the rest. */
#define DW_BTF_ARGS(ctx)                                                     \
	struct sk_buff *skb = (struct sk_buff *)(ctx)[0];                    \
	__u64 location = (ctx)[1];                                           \
	__u32 reason = HAVE_REASON ? (__u32)(ctx)[2] : 0;                    \
	struct sock *rx_sk = HAVE_RX_SK ? (struct sock *)(ctx)[3] : NULL

#define DW_TP_ARGS(args)                                                         \
	struct sk_buff *skb = (args)->skbaddr;                                   \
	__u64 location = (__u64)(args)->location;                                \
	__u32 reason = bpf_core_field_exists((args)->reason) ? (args)->reason : 0; \
	struct sock *rx_sk = bpf_core_field_exists((args)->rx_sk) ? (args)->rx_sk : NULL

static __noinline int keep_btf(__u64 *ctx)
{
	DW_BTF_ARGS(ctx);
	return keep_drop(ctx, skb, location, reason, rx_sk, true, true);
}

static __noinline int keep_btf_copy(__u64 *ctx)
{
	DW_BTF_ARGS(ctx);
	return keep_drop(ctx, skb, location, reason, rx_sk, true, false);
}

static __noinline int keep_tp(struct trace_event_raw_kfree_skb *args)
{
	DW_TP_ARGS(args);
	return keep_drop(args, skb, location, reason, rx_sk, false, false);
}

SEC("tp_btf/kfree_skb")
int dw_kfree_skb_btf(__u64 *ctx)
{
	DW_BTF_ARGS(ctx);
	struct dw_cpu_state *cpu = pass_gates(skb, location, reason, rx_sk, true, true);
	if (!cpu)
		return 0;
	return cfg_events ? keep_btf(ctx) : count_only(cpu, skb, location, reason, rx_sk, true);
}

SEC("tp_btf/kfree_skb")
int dw_kfree_skb_btf_copy(__u64 *ctx)
{
	DW_BTF_ARGS(ctx);
	struct dw_cpu_state *cpu = pass_gates(skb, location, reason, rx_sk, true, false);
	if (!cpu)
		return 0;
	return cfg_events ? keep_btf_copy(ctx) : count_only(cpu, skb, location, reason, rx_sk, true);
}

SEC("tracepoint/skb/kfree_skb")
int dw_kfree_skb_tp(struct trace_event_raw_kfree_skb *args)
{
	DW_TP_ARGS(args);
	struct dw_cpu_state *cpu = pass_gates(skb, location, reason, rx_sk, false, false);
	if (!cpu)
		return 0;
	return cfg_events ? keep_tp(args) : count_only(cpu, skb, location, reason, rx_sk, false);
}

/* --track: the points a packet passes on its way, each a BTF tracepoint
 * whose first argument is the skb. The first point that sees a packet runs
 * the filter on it (the headers are there: a MAC header on transmit and
 * receive) and starts its path; later points append a hop. The drop takes
 * the path (fill_path), a consume forgets it. */
static __always_inline int track_hop(struct sk_buff *skb, struct net_device *dev, __u8 point,
				     const bool in_place)
{
	__u64 key = (__u64)skb;
	__u64 head = (__u64)skb->head;
	struct dw_path *p = bpf_map_lookup_elem(&paths, &key);

	if (!p || p->head != head) {
		if (cfg_filter) {
			if (filter_verdict(skb, true, in_place) <= 0) {
				if (p)
					bpf_map_delete_elem(&paths, &key);
				return 0;
			}
		}
		__u32 zero = 0;
		struct dw_path *blank = bpf_map_lookup_elem(&blank_path, &zero);
		if (!blank || bpf_map_update_elem(&paths, &key, blank, BPF_ANY))
			return 0;
		p = bpf_map_lookup_elem(&paths, &key);
		if (!p)
			return 0;
		p->head = head;
	}
	__u32 i = p->count;
	if (i >= DW_PATH_MAX) {
		p->truncated++;
		return 0;
	}
	struct dw_path_hop *h = &p->hops[i & (DW_PATH_MAX - 1)];
	h->ts_boot_ns = bpf_ktime_get_boot_ns();
	h->point = point;
	if (!dev)
		dev = skb->dev;
	if (dev) {
		h->ifindex = dev->ifindex;
		h->netns = dev->nd_net.net->ns.inum;
		__builtin_memcpy(h->ifname, dev->name, DW_IFNAME_LEN);
	}
	p->count = i + 1;
	return 0;
}

#define DW_TRACK_POINT(name, tp, point, dev)                         \
	SEC("tp_btf/" tp)                                            \
	int dw_track_##name(__u64 *ctx)                              \
	{                                                            \
		return track_hop((void *)ctx[0], dev, point, true);  \
	}                                                            \
	SEC("tp_btf/" tp)                                            \
	int dw_track_##name##_copy(__u64 *ctx)                       \
	{                                                            \
		return track_hop((void *)ctx[0], dev, point, false); \
	}

DW_TRACK_POINT(dev_queue, "net_dev_queue", DW_PT_NET_DEV_QUEUE, NULL)
DW_TRACK_POINT(start_xmit, "net_dev_start_xmit", DW_PT_NET_DEV_START_XMIT,
	       (struct net_device *)ctx[1])
DW_TRACK_POINT(netif_rx, "netif_rx", DW_PT_NETIF_RX, NULL)
DW_TRACK_POINT(receive_skb, "netif_receive_skb", DW_PT_NETIF_RECEIVE_SKB, NULL)
DW_TRACK_POINT(gro_receive, "napi_gro_receive_entry", DW_PT_NAPI_GRO_RECEIVE, NULL)

/* A consumed skb's path is over (looked up first: a lookup is cheaper
 * than a delete of a key that is not there, and most are not). */
SEC("tp_btf/consume_skb")
int dw_track_consumed(__u64 *ctx)
{
	__u64 key = ctx[0];

	if (bpf_map_lookup_elem(&paths, &key))
		bpf_map_delete_elem(&paths, &key);
	return 0;
}
