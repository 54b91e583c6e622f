// --track (issue 14): a kept packet's way to its drop, recorded at the
// net:* tracepoints. A SYN crosses a veth pair to a closed port: the path
// shows the transmit on the sending end, then the receive on the other,
// each closer to the drop.
#include <signal.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class Track : public testing::TestWithParam<std::string> {};

TEST_P(Track, ASynOverAVethPairShowsTransmitThenReceive) {
  NetnsPair ns("dwtk");
  ASSERT_TRUE(ns.ok());
  std::string why;
  auto dw = start_dropwatch({"-o", "json", "--no-stack", "--track", "--attach", GetParam(),
                             "--filter", "tcp dst port 4901", "--count", "1"},
                            &why);
  ASSERT_TRUE(dw) << why;
  EXPECT_NE(dw->stderr_text().find("tracking packet paths"), std::string::npos)
      << dw->stderr_text();
  ASSERT_EQ(run_in_netns(ns.a(), "dw-track", [] { return send_tcp_syn(NetnsPair::kAddrB, 4901); }),
            0);
  ASSERT_EQ(dw->wait(20s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << dw->stderr_text();
  const json& e = evs[0];
  EXPECT_EQ(e["reason"], "NO_SOCKET");
  ASSERT_TRUE(e.contains("path")) << e.dump();
  const json& path = e["path"];
  ASSERT_GE(path.size(), 2u) << path.dump();
  // Oldest first: queued on dwa0 in a, received on dwb0 in b.
  EXPECT_EQ(path[0]["point"], "net:net_dev_queue") << path.dump();
  EXPECT_EQ(path[0]["dev"], "dwa0");
  EXPECT_EQ(path[0]["netns"], ns.inode_a());
  size_t first_rx = path.size();
  for (size_t i = 0; i < path.size(); i++)
    if (path[i]["dev"] == "dwb0") {
      first_rx = i;
      break;
    }
  ASSERT_LT(first_rx, path.size()) << "a hop on the receiving end: " << path.dump();
  EXPECT_EQ(path[first_rx]["netns"], ns.inode_b());
  bool rx_point = false;
  for (size_t i = first_rx; i < path.size(); i++) {
    EXPECT_EQ(path[i]["dev"], "dwb0") << "nothing sends after the receive: " << path.dump();
    rx_point |= path[i]["point"] == "net:netif_receive_skb";
  }
  EXPECT_TRUE(rx_point) << path.dump();
  for (size_t i = 0; i < first_rx; i++) EXPECT_EQ(path[i]["dev"], "dwa0") << path.dump();
  for (size_t i = 1; i < path.size(); i++)
    EXPECT_LT(path[i]["ns_before_drop"].get<uint64_t>(),
              path[i - 1]["ns_before_drop"].get<uint64_t>())
        << path.dump();
  EXPECT_GT(path[0]["ns_before_drop"].get<uint64_t>(), 0u);
  EXPECT_LT(path[0]["ns_before_drop"].get<uint64_t>(), 1000000000u) << "within a second";
  EXPECT_FALSE(e.contains("path_truncated")) << e.dump();
}

// A datagram nft drops in the sender's output never reached a point (the
// first is the device queue): its drop has no "path".
TEST_P(Track, ADropBeforeAnyPointHasNoPath) {
  NetnsPair ns("dwtn");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.a(), "output", "udp dport 4902"), 0);
  std::string why;
  auto dw = start_dropwatch({"-o", "json", "--no-stack", "--track", "--attach", GetParam(),
                             "--filter", "udp dst port 4902", "--count", "1"},
                            &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-track", [] { return send_udp(NetnsPair::kAddrB, 4902); });
  ASSERT_EQ(dw->wait(20s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << dw->stderr_text();
  EXPECT_EQ(evs[0]["reason"], "NETFILTER_DROP");
  EXPECT_FALSE(evs[0].contains("path")) << evs[0].dump();
}

// The classic tracepoint has no BTF points to track from: refused, exit 1
// naming why, nothing attached.
TEST(TrackRefused, TheClassicTracepointCannotTrack) {
  Process dw({dropwatch_path(), "--track", "--attach", "tracepoint", "--duration", "1"});
  EXPECT_NE(dw.wait(30s), 0);
  EXPECT_NE(dw.stderr_text().find("--track needs BTF tracepoints"), std::string::npos)
      << dw.stderr_text();
}

INSTANTIATE_TEST_SUITE_P(AttachModes, Track, testing::Values("tp_btf", "tp_btf-copy"),
                         [](const auto& info) {
                           return info.param == "tp_btf" ? std::string("tp_btf")
                                                         : std::string("tp_btf_copy");
                         });

}  // namespace
}  // namespace dw::test
