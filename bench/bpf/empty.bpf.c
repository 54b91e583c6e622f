// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Yardsticks for bench/probe_cost.cpp, each a tp_btf program on
 * skb:kfree_skb that the benchmark loads alone:
 *   dw_empty          the cheapest program that does something: one global
 *                     counter increment (the "empty probe")
 *   dw_clock_*        the same plus one clock read: which nanosecond time
 *                     stamp is cheapest
 *   dw_floor_in_place  the floor of a rejected drop: the frame read where
 *                     it lies by a two-test filter, no gates, no counters
 *   dw_peer_probe_read  a filter as pwru and Retis run one (cBPF translated
 *                     by cbpfc): every packet load one bpf_probe_read_kernel;
 *                     here `tcp port 3306`, which rejects the benchmark's
 *                     UDP storm after two loads
 *   dw_ring_record    the transport alone: a record of an accepted drop's
 *                     size reserved in a BPF ring buffer, a word written
 *                     in each of its cache lines, submitted without a wakeup
 *   dw_ring_line      the same with a one-line (64-byte) record
 *   dw_ring_output    the record built in a per-CPU scratch and copied into
 *                     the ring by bpf_ringbuf_output
 *   dw_slot_record    the same record into a per-CPU slot of an mmapable
 *                     array, the CPU's head bumped: no lock, no helper
 *   dw_perf_record    the same record through a per-CPU perf buffer
 *                     (bpf_perf_event_output from a per-CPU scratch)
 *   dw_ring_batch     the record gathered in a per-CPU batch of eight that
 *                     stays in the CPU's cache, sent to the ring a batch at
 *                     a time by bpf_ringbuf_output
 *   dw_ring_stamped, dw_perf_stamped, dw_ring_batch_stamped
 *                     the floor of an accepted drop: what no event does
 *                     without, a time stamp and the record through the
 *                     transport, nothing else */
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

/* An accepted drop's record without a stack: dropwatch's event header and
 * the default snaplen's capture room (bpf/dropwatch_abi.h). */
#define RECORD_SIZE (224 + 264)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

struct record {
	__u64 words[RECORD_SIZE / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct record);
} scratch SEC(".maps");

static __always_inline void touch_lines(struct record *r)
{
#pragma unroll
	for (int i = 0; i < RECORD_SIZE / 8; i += 8)
		r->words[i] = runs;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_ring_record, struct sk_buff *skb)
{
	runs++;
	struct record *r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);
	if (!r)
		return 0;
	touch_lines(r);
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

/* The same record into this CPU's part of an mmapable array used as a
 * single-producer ring (a program does not nest on its CPU): the slot
 * written in place, the CPU's head bumped; no lock, no helper. */
#define SLOT_SIZE 512
#define SLOTS_PER_CPU 16384 /* 8 MiB a CPU, the ring buffer's size */
#define SLOT_CPUS 64

struct slot {
	__u64 words[SLOT_SIZE / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SLOTS_PER_CPU); /* times the CPUs, set by the loader */
	__type(key, __u32);
	__type(value, struct slot);
} slots SEC(".maps");

__u64 slot_head[SLOT_CPUS * 8]; /* a line a CPU */

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_slot_record, struct sk_buff *skb)
{
	runs++;
	__u32 cpu = bpf_get_smp_processor_id();
	if (cpu >= SLOT_CPUS)
		return 0;
	__u64 head = slot_head[cpu * 8];
	__u32 idx = cpu * SLOTS_PER_CPU + (head & (SLOTS_PER_CPU - 1));
	struct slot *r = bpf_map_lookup_elem(&slots, &idx);
	if (!r)
		return 0;
#pragma unroll
	for (int i = 0; i < RECORD_SIZE / 8; i += 8)
		r->words[i] = runs;
	__sync_fetch_and_add(&slot_head[cpu * 8], 1);
	return 0;
}

/* One cache line: what the ring buffer costs whatever the record's size. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_ring_line, struct sk_buff *skb)
{
	runs++;
	__u64 *r = bpf_ringbuf_reserve(&ring, 64, 0);
	if (!r)
		return 0;
	*r = runs;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

/* The record built in this CPU's scratch, for a transport that copies. */
static __always_inline struct record *scratch_record(void)
{
	__u32 zero = 0;
	struct record *r = bpf_map_lookup_elem(&scratch, &zero);

	runs++;
	if (r)
		touch_lines(r);
	return r;
}

/* Copied into the ring buffer by bpf_ringbuf_output (one memcpy into the
 * reserved room). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_ring_output, struct sk_buff *skb)
{
	struct record *r = scratch_record();

	if (r)
		bpf_ringbuf_output(&ring, r, sizeof(*r), BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_perf_record, struct sk_buff *skb)
{
	struct record *r = scratch_record();

	if (r)
		bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, r, sizeof(*r));
	return 0;
}

/* The floor of an accepted drop: the clock dropwatch reads, then the
 * record with the time in it, through the ring or the perf buffer. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_ring_stamped, struct sk_buff *skb)
{
	runs++;
	__u64 now = bpf_ktime_get_boot_ns();
	struct record *r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);
	if (!r)
		return 0;
	touch_lines(r);
	r->words[1] = now;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_perf_stamped, struct sk_buff *skb)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct record *r = scratch_record();

	if (r) {
		r->words[1] = now;
		bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, r, sizeof(*r));
	}
	return 0;
}

/* Records gathered in a per-CPU batch that stays in this CPU's cache and
 * sent to the ring eight at a time: one lock and one crossing of the
 * record's lines to the reader a batch, not a record. */
#define BATCH 8

struct batch {
	__u32 n;
	__u32 pad;
	struct record recs[BATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct batch);
} batches SEC(".maps");

static __always_inline void batched(__u64 now)
{
	__u32 zero = 0;
	struct batch *b = bpf_map_lookup_elem(&batches, &zero);

	runs++;
	if (!b)
		return;
	struct record *r = &b->recs[b->n & (BATCH - 1)];
	touch_lines(r);
	r->words[1] = now;
	if (++b->n >= BATCH) {
		bpf_ringbuf_output(&ring, b->recs, sizeof(b->recs), BPF_RB_NO_WAKEUP);
		b->n = 0;
	}
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_ring_batch, struct sk_buff *skb)
{
	batched(0);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_ring_batch_stamped, struct sk_buff *skb)
{
	batched(bpf_ktime_get_boot_ns());
	return 0;
}

/* The floor of an in-place reject, as issue 13 measured it: the frame read
 * where it lies (bpf_rdonly_cast, fault-safe loads) by a filter of two
 * tests (EtherType, IP protocol) in a subprogram, nothing else. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

static __noinline int floor_filter(const __u8 *data, __u32 cap)
{
	if (!data || cap < 24)
		return 0;
	if (*(__u16 *)(data + 12) != bpf_htons(0x0800))
		return 0;
	return data[23] == 6;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(dw_floor_in_place, struct sk_buff *skb)
{
	runs++;
	const __u8 *data = bpf_rdonly_cast(skb->head + skb->mac_header, 0);
	if (floor_filter(data, 256))
		sink++;
	return 0;
}
