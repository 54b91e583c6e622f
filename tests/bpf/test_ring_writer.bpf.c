// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* For tests of probe/ring_reader: records written into a BPF ring buffer
 * on demand (BPF_PROG_TEST_RUN of a syscall program), each numbered and of
 * a size that varies, some reserved and discarded, so a reader sees gaps,
 * wraps and a full ring. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* the smallest: a page, so it wraps often */
} ring SEC(".maps");

/* The test run's argument. */
struct ring_writer_args {
	__u32 first;        /* number of the first record */
	__u32 count;        /* records to write */
	__u32 discard_every; /* every Nth record reserved and discarded (0: none) */
	__u32 wakeup;       /* submit the last record with a forced wakeup */
	__u32 written;      /* out: records that found room */
	__u32 discarded;    /* out: of which discarded */
};

#define MAX_RECORD 264

__u8 buf[MAX_RECORD];

/* One record a call of bpf_loop's callback; nonzero ends the run. */
static long write_one(__u32 i, struct ring_writer_args *a)
{
	__u32 n = a->first + i;
	/* sizes 8..263, mostly not multiples of 8: the reader rounds */
	__u32 size = 8 + ((n * 37) & 0xff);
	__u64 flags = a->wakeup && i + 1 == a->count ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;

	if (a->discard_every && n % a->discard_every == 0) {
		__u32 *r = bpf_ringbuf_reserve(&ring, 64, 0);
		if (!r)
			return 1;
		*r = n;
		bpf_ringbuf_discard(r, flags);
		a->discarded++;
	} else {
		*(__u32 *)buf = n;
		*(__u32 *)(buf + 4) = size;
		if (bpf_ringbuf_output(&ring, buf, size, flags))
			return 1;
	}
	a->written++;
	return 0;
}

SEC("syscall")
int ring_write(struct ring_writer_args *ctx)
{
	/* the callback gets a copy on the stack: ctx itself may not be
	 * passed on */
	struct ring_writer_args a = *ctx;

	a.written = 0;
	a.discarded = 0;
	bpf_loop(a.count, write_one, &a, 0);
	ctx->written = a.written;
	ctx->discarded = a.discarded;
	return 0;
}
