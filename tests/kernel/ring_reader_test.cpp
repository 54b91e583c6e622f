// probe/ring_reader against a real BPF ring buffer: a syscall program
// writes numbered records of varying sizes (some discarded) into a
// one-page ring, the reader hands them back in order, in bounded batches,
// across wraps, and gives their room back so that a full ring takes more.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "probe/ring_reader.h"
#include "test_ring_writer.skel.h"

namespace dw::probe {
namespace {

struct Args {
  uint32_t first, count, discard_every, wakeup;
  uint32_t written, discarded;
};

struct Writer {
  test_ring_writer_bpf* skel = test_ring_writer_bpf__open_and_load();
  ~Writer() { test_ring_writer_bpf__destroy(skel); }

  // Writes `count` records from `first` on; returns the run's arguments.
  Args write(uint32_t first, uint32_t count, uint32_t discard_every = 0, bool wakeup = false) {
    Args a{first, count, discard_every, wakeup, 0, 0};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &a, .ctx_size_in = sizeof(a));
    EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.ring_write), &opts), 0)
        << std::strerror(errno);
    return a;
  }
  int ring_fd() const { return bpf_map__fd(skel->maps.ring); }
};

// What a record says of itself: its number and its size.
struct Seen {
  uint32_t n, size, length;
};

size_t take(RingReader& r, size_t max, std::vector<Seen>& out) {
  return r.consume(max, [&](std::span<const uint8_t> rec) {
    uint32_t n = 0, size = 0;
    if (rec.size() >= 8) {
      std::memcpy(&n, rec.data(), 4);
      std::memcpy(&size, rec.data() + 4, 4);
    }
    out.push_back({n, size, uint32_t(rec.size())});
  });
}

TEST(RingReader, HandsBackRecordsInOrderInBatchesAcrossWraps) {
  Writer w;
  ASSERT_NE(w.skel, nullptr) << "cannot load tests/bpf/test_ring_writer.bpf.c";
  auto r = RingReader::open(w.ring_fd(), 4096);
  ASSERT_TRUE(r) << r.error().message;
  std::vector<Seen> seen;
  uint32_t next = 0;
  // 40 rounds of 12 records of ~140 bytes: the 4 KiB ring wraps ~15 times.
  for (int round = 0; round < 40; round++) {
    Args a = w.write(next, 12, 5);
    ASSERT_EQ(a.written, 12u) << "round " << round << ": the reader gave no room back";
    size_t got = 0;
    for (int batch = 0; batch < 10; batch++) {  // bounded: a broken reader may repeat
      size_t n = take(**r, 5, seen);
      EXPECT_LE(n, 5u);
      if (n == 0) break;
      got += n;
    }
    EXPECT_EQ(got, 12u - a.discarded) << "round " << round;
    next += 12;
  }
  // Every record not discarded, once, in order, with its own length.
  uint32_t expect = 0;
  for (const Seen& s : seen) {
    while (expect % 5 == 0) expect++;  // the discarded ones
    EXPECT_EQ(s.n, expect);
    EXPECT_EQ(s.size, 8 + ((expect * 37) & 0xff));
    EXPECT_EQ(s.length, s.size);
    expect++;
  }
  EXPECT_EQ(seen.size(), size_t(40 * 12 - 40 * 12 / 5));
  EXPECT_EQ(take(**r, 100, seen), 0u) << "nothing left";
}

TEST(RingReader, AFullRingTakesMoreOnceRead) {
  Writer w;
  ASSERT_NE(w.skel, nullptr);
  auto r = RingReader::open(w.ring_fd(), 4096);
  ASSERT_TRUE(r) << r.error().message;
  Args a = w.write(0, 200);  // far more than a page holds
  ASSERT_GT(a.written, 10u);
  ASSERT_LT(a.written, 200u) << "the ring should have filled";
  EXPECT_EQ(w.write(1000, 1).written, 0u) << "still full";
  std::vector<Seen> seen;
  EXPECT_EQ(take(**r, SIZE_MAX, seen), a.written);
  // The room is back: the same records fit again, all of them.
  EXPECT_EQ(w.write(0, 200).written, a.written);
  seen.clear();
  EXPECT_EQ(take(**r, SIZE_MAX, seen), a.written);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().n, 0u);
  EXPECT_EQ(seen.back().n, a.written - 1);
}

TEST(RingReader, WaitReturnsOnAWakeupAndOnItsTimeout) {
  Writer w;
  ASSERT_NE(w.skel, nullptr);
  auto r = RingReader::open(w.ring_fd(), 4096);
  ASSERT_TRUE(r) << r.error().message;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE((*r)->wait(200));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    w.write(0, 3, 0, true);
  });
  t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE((*r)->wait(10000));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  writer.join();
  std::vector<Seen> seen;
  EXPECT_EQ(take(**r, SIZE_MAX, seen), 3u);
}

TEST(RingReader, RefusesWhatIsNotARingBuffer) {
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "dw_not_ring", 4, 8, 1, nullptr);
  ASSERT_GE(fd, 0);
  auto r = RingReader::open(fd, 4096);
  EXPECT_FALSE(r);
  close(fd);
}

}  // namespace
}  // namespace dw::probe
