/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The kernel ABI of the drop probe: what bpf/dropwatch.bpf.c writes and the
 * loader in probe/ and the decoder in events/ read. Fixed-width types only:
 * no pointers, no bool, explicit padding, so both compilers agree on every
 * offset (checked by static asserts on each side). */
#ifndef DROPWATCH_ABI_H
#define DROPWATCH_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DW_SNAPLEN_DEFAULT 256
#define DW_SNAPLEN_MAX 4096 /* power of two: offsets are masked with it */
#define DW_STACK_MAX 127    /* the kernel's default perf_event_max_stack */
#define DW_COMM_LEN 16
#define DW_IFNAME_LEN 16

/* Where the captured bytes start. */
enum dw_origin {
	DW_ORIGIN_NONE = 0,    /* skb has neither MAC nor network header */
	DW_ORIGIN_MAC = 1,     /* link level: starts at the MAC header */
	DW_ORIGIN_NETWORK = 2, /* network level: starts at the IP header */
};

enum dw_event_flags {
	DW_EV_HAS_SK = 1 << 0,      /* skb->sk or rx_sk was set */
	DW_EV_VLAN = 1 << 1,        /* vlan_tci/vlan_proto hold an offloaded tag,
				     * inserted in the captured frame */
	DW_EV_STACK_FULL = 1 << 2,  /* bpf_get_stack filled the whole buffer */
	DW_EV_STACK_ERROR = 1 << 3, /* bpf_get_stack failed */
	DW_EV_STACK_SKIPPED = 1 << 4, /* over the stack budget: no stack taken */
	DW_EV_IN_PLACE = 1 << 5,    /* the filter read the packet where it lay */
	DW_EV_CT = 1 << 6,          /* ct holds the skb's conntrack entry */
	DW_EV_PATH = 1 << 7,        /* a struct dw_path follows the header (--track) */
};

/* --track: the tracepoints a kept packet is recorded at on its way. */
enum dw_path_point {
	DW_PT_NONE = 0,
	DW_PT_NET_DEV_QUEUE = 1,	  /* net:net_dev_queue */
	DW_PT_NET_DEV_START_XMIT = 2, /* net:net_dev_start_xmit */
	DW_PT_NETIF_RX = 3,	  /* net:netif_rx */
	DW_PT_NETIF_RECEIVE_SKB = 4,  /* net:netif_receive_skb */
	DW_PT_NAPI_GRO_RECEIVE = 5,   /* net:napi_gro_receive_entry */
};

#define DW_PATH_MAX 8 /* hops kept per skb; later ones are counted */
struct dw_path_hop {
	__u64 ts_boot_ns;
	__s32 ifindex;
	__u32 netns;
	char ifname[DW_IFNAME_LEN];
	__u8 point; /* enum dw_path_point */
	__u8 pad[7];
};

/* A tracked skb's hops, oldest first: the value of the probe's map of
 * paths (keyed by the skb's address, head checked against reuse) and, in
 * an event, what was recorded before the drop. */
struct dw_path {
	__u64 head;	/* skb->head when the path began */
	__u32 truncated; /* hops after the first DW_PATH_MAX, not kept */
	__u8 count;
	__u8 pad[3];
	struct dw_path_hop hops[DW_PATH_MAX];
};

/* One direction of a conntrack entry (struct nf_conntrack_tuple). */
struct dw_ct_tuple {
	__u8 src[16], dst[16]; /* IPv4 in the first 4 bytes */
	__u16 src_u;	       /* source port or ICMP id, network byte order */
	__u16 dst_u;	       /* destination port, or ICMP type and code bytes */
	__u16 l3num;	       /* AF_INET, AF_INET6 */
	__u8 protonum;	       /* IPPROTO_* */
	__u8 pad;
};

/* The conntrack entry of a kept drop's skb: skb->_nfct is the entry's
 * address with the packet's ctinfo in its low 3 bits. */
#define DW_CT_UNTRACKED 7 /* IP_CT_UNTRACKED: no entry, on purpose */
struct dw_ct {
	__u64 status;	/* IPS_* bits */
	struct dw_ct_tuple orig, reply;
	__u32 mark;
	__u16 zone;	/* zone id */
	__u8 ctinfo;	/* enum ip_conntrack_info */
	__u8 pad;
};

struct dw_event {
	__u64 ts_boot_ns; /* bpf_ktime_get_boot_ns() at the drop */
	__u64 location;   /* return address in the function that dropped */
	__u64 cgroup_id;  /* cgroup v2 id of the current task */
	__u64 sk_cgroup_id; /* cgroup v2 id of the skb's socket, 0 without one */
	__u32 reason;     /* enum skb_drop_reason, subsystem in the top 16 bits */
	__u32 netns;      /* inode of the skb's network namespace, 0 if unknown */
	__u32 pid;        /* tgid of the current task */
	__u32 tid;
	__u32 cpu;
	__s32 ifindex;    /* skb->dev, 0 when the skb has no device */
	__s32 rx_ifindex; /* skb->skb_iif */
	__u32 dev_flags;  /* net_device.flags (IFF_*) */
	__u32 wire_len;   /* packet length from the capture origin */
	__u32 skb_len;    /* skb->len */
	__u16 dev_type;   /* net_device.type (ARPHRD_*) */
	__u16 protocol;   /* skb->protocol, network byte order */
	__u16 capture_len;
	__u16 stack_bytes; /* bytes of u64 frames after the padded capture */
	__u16 vlan_tci;
	__u16 vlan_proto; /* network byte order */
	__u8 origin;      /* enum dw_origin */
	__u8 net_offset;  /* network header offset inside the capture */
	__u8 operstate;   /* net_device.operstate (IF_OPER_*) */
	__u8 sk_state;    /* sock.__sk_common.skc_state */
	__u8 sk_protocol; /* sock.sk_protocol (IPPROTO_*) */
	__u8 flags;       /* enum dw_event_flags */
	__u8 pad[6];
	char comm[DW_COMM_LEN];
	char ifname[DW_IFNAME_LEN];
	struct dw_ct ct; /* valid with DW_EV_CT */
	/* with DW_EV_PATH, a struct dw_path (its count may be 0); then
	 * capture_len bytes, zero-padded to 8, then stack_bytes of frames */
	__u8 data[];
};

#define DW_EVENT_HEADER_SIZE 224

/* Gates, set by the loader (rodata cfg_*_mode). */
enum dw_list_mode {
	DW_LIST_OFF = 0,
	DW_LIST_ALLOW = 1, /* only what is in the map passes */
	DW_LIST_DENY = 2,  /* what is in the map is dropped */
};

/* Key of the device map: a device is its ifindex in its namespace. */
struct dw_dev_key {
	__u32 netns;
	__u32 ifindex;
};

/* Noise rules pinned to drop locations: [start, end) of each function. */
#define DW_NOISE_MAX 32
struct dw_range {
	__u64 start, end;
};

/* The probe's counters, the one list: the kernel struct below, the loader's
 * Counters (probe/counters.h), the Prometheus metrics and the exit report
 * are all made from it. Per CPU; userspace sums the CPUs.
 *
 * Every drop the probe sees is counted in `seen` and then in exactly one
 * terminal counter (kind NOISE, GATE, LOSS or EMIT), in the order the probe
 * decides (bpf/dropwatch.bpf.c):
 *   seen = noise + reason_rejected + netns_rejected + device_rejected
 *        + filtered + no_header_filtered + rate_limited + lost + emitted
 *        + counted
 * INFO counters count some of the drops again. Every drop that passes the
 * gates and the filter is also counted in the drop table (map drop_slots,
 * struct dw_count_slot) by reason, location and device, before any rate
 * limit or ring buffer can lose it, or in count_overflow when its slots are
 * taken.
 *
 * X(name, kind, report phrase, metric, metric label, metric help) */
#define DW_COUNTERS(X)                                                              \
	X(seen, TOTAL, "drops seen by the probe", "dropwatch_probe_drops_total", "", \
	  "Drops the probe saw, before any gate.")                                   \
	X(noise, NOISE, "at a pinned location (in the kernel)",                      \
	  "dropwatch_drops_suppressed_total", "where=\"kernel\"",                   \
	  "Drops suppressed as noise (in the kernel at a pinned location, or by a "  \
	  "stack frame).")                                                            \
	X(reason_rejected, GATE, "by reason", "dropwatch_drops_gated_total",         \
	  "gate=\"reason\"", "Drops not reported because a gate said no.")           \
	X(netns_rejected, GATE, "by namespace", "dropwatch_drops_gated_total",       \
	  "gate=\"netns\"", "Drops not reported because a gate said no.")            \
	X(device_rejected, GATE, "by device", "dropwatch_drops_gated_total",         \
	  "gate=\"device\"", "Drops not reported because a gate said no.")           \
	X(filtered, GATE, "by the filter", "dropwatch_drops_gated_total",            \
	  "gate=\"filter\"", "Drops not reported because a gate said no.")           \
	X(no_header_filtered, GATE, "without headers under a filter",                \
	  "dropwatch_drops_gated_total", "gate=\"no_header\"",                       \
	  "Drops not reported because a gate said no.")                              \
	X(rate_limited, GATE, "rate-limited", "dropwatch_drops_rate_limited_total",  \
	  "", "Drops not reported because of --max-events-per-second.")              \
	X(lost, LOSS, "lost", "dropwatch_events_lost_total", "",                     \
	  "Events lost to a full ring buffer.")                                      \
	X(emitted, EMIT, "events emitted", "dropwatch_events_emitted_total", "",     \
	  "Events the probe wrote to the ring buffer.")                              \
	X(counted, EMIT, "counted in the kernel only", "dropwatch_drops_counted_only_total", \
	  "", "Drops only counted in the kernel: no output asked for events.")       \
	X(no_header, INFO, "without headers", "dropwatch_events_no_header_total",    \
	  "", "Events emitted for skbs with neither a MAC nor a network header.")    \
	X(stack_skipped, INFO, "events without a stack (over the stack budget)",     \
	  "dropwatch_stacks_skipped_total", "",                                      \
	  "Events sent without a kernel stack because the stack budget was spent.")  \
	X(count_overflow, INFO, "drops counted under \"other\" (count table full)", \
	  "dropwatch_count_overflow_total", "",                                      \
	  "Drops counted under the key \"other\": the count table was full.")

struct dw_counters {
#define DW_COUNTER_FIELD(name, ...) __u64 name;
	DW_COUNTERS(DW_COUNTER_FIELD)
#undef DW_COUNTER_FIELD
};

/* A token bucket: credit in ns accrues with time up to a burst; one use
 * costs an interval. */
struct dw_bucket {
	__u64 credit_ns;
	__u64 last_ns;
};

/* A CPU's entry of map counters: the counters, then this CPU's token
 * buckets for --max-events-per-second and --stack-budget (state, not
 * counts). Whole cache lines: each CPU writes its own. */
struct dw_cpu_state {
	struct dw_counters c;
	struct dw_bucket rate;
	struct dw_bucket stacks;
} __attribute__((aligned(64)));

/* The in-kernel drop table: drops that passed the gates and the filter, by
 * what the summary and the metrics group by. Each CPU's part of an array is
 * an open-addressed hash table (a key's slot is its hash, else one of the
 * next DW_COUNT_PROBES): a lookup is a few inlined array accesses where a
 * hash map's cost ~50 ns here. A slot is free while its drops are 0; a key whose
 * slots are all taken is counted in count_overflow ("other"). */
#define DW_COUNT_SLOTS 2048 /* power of two */
#define DW_COUNT_PROBES 4
struct dw_count_key {
	__u64 location;
	__u32 reason;
	__u32 netns;
	__s32 ifindex;
	__u32 pad;
};
struct dw_count_slot {
	struct dw_count_key key;
	__u64 drops;
	char ifname[DW_IFNAME_LEN]; /* the device's name when the slot was taken */
};

#endif /* DROPWATCH_ABI_H */
