/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Event layout shared by bpf/dropwatch.bpf.c and the loader in probe/.
 * Fixed-width types only: no pointers, no bool, explicit padding, so both
 * compilers agree on every offset (checked by static asserts on each side). */
#ifndef DROPWATCH_H
#define DROPWATCH_H

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
	/* capture_len bytes, zero-padded to 8, then stack_bytes of frames */
	__u8 data[];
};

#define DW_EVENT_HEADER_SIZE 128

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

/* Per-CPU counters; userspace sums the CPUs. Every drop the probe sees ends
 * in exactly one of: a *_rejected gate, filtered, no_header_filtered,
 * rate_limited, lost, emitted. */
/* Noise rules pinned to drop locations: [start, end) of each function. */
#define DW_NOISE_MAX 32
struct dw_range {
	__u64 start, end;
};

struct dw_counters {
	__u64 seen;               /* drops (reason not CONSUMED/NOT_DROPPED_YET) */
	__u64 reason_rejected;    /* --reason / --reason-excluded */
	__u64 netns_rejected;     /* --netns */
	__u64 device_rejected;    /* --device / --device-excluded */
	__u64 filtered;           /* the --filter expression said no */
	__u64 no_header_filtered; /* a filter was set and the skb had no headers */
	__u64 rate_limited;       /* --max-events-per-second */
	__u64 lost;               /* ring buffer had no room */
	__u64 emitted;            /* events written to the ring buffer */
	__u64 no_header;          /* emitted events whose skb had no headers */
	__u64 noise;              /* dropped in a function a noise rule names */
	/* token bucket state of this CPU (not a count) */
	__u64 rate_credit_ns;
	__u64 rate_last_ns;
};

#endif /* DROPWATCH_H */
