#include "probe/kallsyms.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "events/event.h"

namespace dw::probe {
namespace {

using events::trim_stack;

Kallsyms fixture() {
  std::istringstream in(
      "ffffffff81000000 T _stext\n"
      "ffffffff81a00000 T tcp_v4_rcv\n"
      "ffffffff81a00800 t tcp_v4_fill_cb\n"
      "ffffffff81900000 T ip_local_deliver_finish\n"  // out of order on purpose
      "ffffffff81b00000 D some_data\n"                // not text: ignored
      "ffffffff81c00000 T kfree_skb_reason\n"
      "ffffffff81c00100 T sk_skb_reason_drop\n"
      "ffffffff81d00000 t bpf_trace_run4\n"
      "ffffffffa0000000 t bpf_prog_6deef7357e7b4530_dw_kfree_skb_btf\t[bpf]\n"
      "ffffffffc0000000 t ovs_dp_process_packet\t[openvswitch]\n");
  return Kallsyms::parse(in);
}

TEST(Kallsyms, SymbolizesWithOffsets) {
  Kallsyms k = fixture();
  EXPECT_EQ(k.size(), 9u);
  EXPECT_EQ(k.symbolize(0xffffffff81a00091), "tcp_v4_rcv+0x91");
  EXPECT_EQ(k.symbolize(0xffffffff81a00800), "tcp_v4_fill_cb+0x0");
  EXPECT_EQ(k.symbolize(0xffffffff81900010), "ip_local_deliver_finish+0x10");
  EXPECT_EQ(k.symbolize(0xffffffffc0000020), "ovs_dp_process_packet+0x20 [openvswitch]");
  EXPECT_EQ(k.symbolize(0x1234), "0x1234");
  // cached: same answer twice
  EXPECT_EQ(&k.symbolize(0xffffffff81a00091), &k.symbolize(0xffffffff81a00091));
}

TEST(Kallsyms, TrimStackStartsAtLocation) {
  Kallsyms k = fixture();
  std::vector<uint64_t> frames = {0xffffffffa0000040, 0xffffffff81d00010, 0xffffffff81c00120,
                                  0xffffffff81c00010, 0xffffffff81a00091, 0xffffffff81900010};
  auto s = trim_stack(frames, 0xffffffff81a00091, k);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], "tcp_v4_rcv+0x91");
  EXPECT_EQ(s[1], "ip_local_deliver_finish+0x10");
}

TEST(Kallsyms, TrimStackWithoutLocationDropsTracingFrames) {
  Kallsyms k = fixture();
  std::vector<uint64_t> frames = {0xffffffffa0000040, 0xffffffff81d00010, 0xffffffff81c00120,
                                  0xffffffff81900010};
  auto s = trim_stack(frames, 0x42, k);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], "ip_local_deliver_finish+0x10");
}

TEST(Kallsyms, RunningKernelRoundTrips) {
  auto k = Kallsyms::load();
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_GT(k->size(), 10000u);
  // Find tcp_v4_rcv's address by name, then symbolize an address inside it.
  std::ifstream in("/proc/kallsyms");
  std::string line;
  uint64_t addr = 0;
  while (std::getline(in, line))
    if (line.ends_with(" tcp_v4_rcv")) addr = std::stoull(line.substr(0, 16), nullptr, 16);
  ASSERT_NE(addr, 0u);
  const Kallsyms::Symbol* s = k->find(addr + 4);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "tcp_v4_rcv");
  EXPECT_EQ(k->symbolize(addr + 0x10), "tcp_v4_rcv+0x10");
}

}  // namespace
}  // namespace dw::probe
