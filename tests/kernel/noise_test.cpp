// Noise rules in the real kernel: a failed neighbour entry (NEIGH_FAILED in
// neigh_invalidate) is suppressed by default, in the probe; a rule naming a
// deeper stack frame is applied in userspace; a rule naming the function of
// a drop storm keeps the whole storm in the kernel, counted.
#include <signal.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "tests/support/bpf_programs.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Unanswered ARP from namespace a: one probe, 100 ms, then the queued
// datagram is dropped with NEIGH_FAILED.
void fail_a_neighbour(const NetnsPair& ns) {
  sh("ip netns exec " + ns.a() +
     " sysctl -qw net.ipv4.neigh.dwa0.mcast_solicit=1 net.ipv4.neigh.dwa0.retrans_time_ms=100"
     " net.ipv4.neigh.dwa0.app_solicit=0");
  run_in_netns(ns.a(), "dw-noise", [] { return send_udp("10.0.42.77", 4461); });
  std::this_thread::sleep_for(1500ms);
}

struct Outcome {
  std::vector<json> events;  // in namespace a
  std::string err;
};

Outcome watch_neighbour_failure(std::vector<std::string> args) {
  NetnsPair ns("dwn");
  EXPECT_TRUE(ns.ok());
  args.insert(args.end(), {"-o", "json", "--netns", ns.a()});
  std::string why;
  auto dw = start_dropwatch(args, &why);
  EXPECT_TRUE(dw) << why;
  if (!dw) return {};
  fail_a_neighbour(ns);
  dw->signal(SIGINT);
  EXPECT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  return {parse_events(dw->stdout_lines()), dw->stderr_text()};
}

bool has_neigh_failed(const std::vector<json>& evs) {
  return std::any_of(evs.begin(), evs.end(),
                     [](const json& e) { return e["reason"] == "NEIGH_FAILED"; });
}

unsigned long long noise_count(const std::string& err, const std::string& which) {
  size_t at = err.find(which);
  if (at == std::string::npos) return 0;
  size_t start = err.find_last_of(" :,", at - 2);
  return std::stoull(err.substr(start + 1, at - start - 1));
}

TEST(Noise, NeighbourFailureIsShownOnlyWithoutTheDefaultRules) {
  Outcome shown = watch_neighbour_failure({"--no-default-noise-rules"});
  ASSERT_TRUE(has_neigh_failed(shown.events)) << shown.err;
  for (const auto& e : shown.events) {
    if (e["reason"] != "NEIGH_FAILED") continue;
    EXPECT_TRUE(e["location"].get<std::string>().starts_with("neigh_invalidate+0x")) << e.dump();
  }

  Outcome hidden = watch_neighbour_failure({});
  EXPECT_FALSE(has_neigh_failed(hidden.events)) << json(hidden.events).dump(1);
  EXPECT_GE(noise_count(hidden.err, " at a pinned location"), 1u) << hidden.err;
}

TEST(Noise, ARuleOnADeeperFrameIsAppliedToTheStack) {
  Outcome r =
      watch_neighbour_failure({"--no-default-noise-rules", "--noise-rule", "neigh_timer_handler"});
  EXPECT_FALSE(has_neigh_failed(r.events)) << json(r.events).dump(1);
  EXPECT_GE(noise_count(r.err, " by a stack frame"), 1u) << r.err;
}

TEST(Noise, APinnedLocationKeepsAStormInTheKernel) {
  NetnsPair ns("dwq");
  ASSERT_TRUE(ns.ok());
  std::string why;
  auto dw = start_dropwatch({"-o", "json", "--no-stack", "--netns", ns.b(),
                             "--no-default-noise-rules", "--noise-rule", "__udp4_lib_rcv"},
                            &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-noise", [] {
    for (int i = 0; i < 100; i++) send_udp(NetnsPair::kAddrB, 4471);
    for (int i = 0; i < 10; i++) send_udp(NetnsPair::kAddr6B, 4471);
    return 0;
  });
  std::this_thread::sleep_for(500ms);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  size_t v4 = 0, v6 = 0;
  for (const auto& e : evs) {
    if (!e["layers"].contains("udp") || e["layers"]["udp"]["dport"] != 4471) continue;
    (e["layers"].contains("ipv4") ? v4 : v6)++;
  }
  EXPECT_EQ(v4, 0u);
  EXPECT_EQ(v6, 10u) << "other locations still reported";
  // The location gate comes before the namespace gate: UDP drops elsewhere
  // on the machine count too.
  EXPECT_GE(noise_count(dw->stderr_text(), " at a pinned location"), 100u) << dw->stderr_text();
  EXPECT_EQ(noise_count(dw->stderr_text(), " by a stack frame"), 0u) << dw->stderr_text();
}

TEST(Noise, BadRulesAndTheList) {
  Process bad({dropwatch_path(), "--noise-rule", "tcp_(v4"});
  EXPECT_EQ(bad.wait(20s), 2);
  EXPECT_NE(bad.stderr_text().find("invalid noise rule 'tcp_(v4': missing )"), std::string::npos)
      << bad.stderr_text();
  Process list({dropwatch_path(), "--list-noise-rules", "--noise-rule", "tcp_v4_rcv"});
  EXPECT_EQ(list.wait(20s), 0);
  auto lines = list.stdout_lines();
  ASSERT_EQ(lines.size(), 4u) << testing::PrintToString(lines);
  EXPECT_TRUE(lines[0].starts_with("skb_rbtree_purge ")) << lines[0];
  EXPECT_NE(lines[0].find("1 function in this kernel"), std::string::npos) << lines[0];
  EXPECT_TRUE(lines[1].starts_with("neigh_invalidate ")) << lines[1];
  EXPECT_TRUE(lines[2].starts_with("bnxt_tx_int ")) << lines[2];
  EXPECT_TRUE(lines[3].starts_with("tcp_v4_rcv ")) << lines[3];
  EXPECT_TRUE(no_programs_left("dw_"));
}

}  // namespace
}  // namespace dw::test
