// Each kept drop carries the skb's conntrack entry (issue 14): real rules in
// namespaces of the test's own, real drops, every attach mode. The state is
// the packet's (ctinfo), the tuples are the entry's, so a DNAT'd flow shows
// the address the application used and the one the packet was sent to.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class Conntrack : public testing::TestWithParam<std::string> {
 protected:
  // Runs dropwatch (--attach GetParam(), events of namespace a only) while
  // `make` makes the drops; returns the events once `want` have arrived.
  // Only drops for `reason` (a namespace has drops of its own: router
  // solicitations, neighbour discovery).
  std::vector<json> drops(const NetnsPair& ns, const std::string& reason, size_t want,
                          const std::function<void()>& make, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"-o",       "json",    "--no-stack",           "--attach",
                                     GetParam(), "--netns", "/run/netns/" + ns.a(), "--reason",
                                     reason};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string why;
    auto dw = start_dropwatch(args, &why);
    EXPECT_TRUE(dw) << why;
    if (!dw) return {};
    make();
    dw->wait_stdout([&](const std::vector<std::string>& l) { return l.size() >= want; }, 10s);
    dw->signal(SIGINT);
    EXPECT_EQ(dw->wait(10s), 0) << dw->stderr_text();
    return parse_events(dw->stdout_lines());
  }
};

// The first event is a NETFILTER_DROP with a conntrack entry.
testing::AssertionResult has_ct(const std::vector<json>& evs) {
  if (evs.empty()) return testing::AssertionFailure() << "no event";
  if (evs[0]["reason"] != "NETFILTER_DROP" || !evs[0].contains("ct"))
    return testing::AssertionFailure() << "not a NETFILTER_DROP with \"ct\": " << evs[0].dump();
  return testing::AssertionSuccess();
}

bool has(const json& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// `tcp dport P ct state new drop` on the receiving side: a SYN is NEW, and
// its entry's original tuple is the connection the sender opened.
TEST_P(Conntrack, ASynDroppedAsNewCarriesItsEntry) {
  NetnsPair ns("dwcn");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(sh("ip netns exec " + ns.a() +
               " nft add table inet dwct '{ chain in { type filter hook input priority 0; "
               "tcp dport 4701 ct state new drop; }; }'"),
            0);
  auto evs = drops(ns, "NETFILTER_DROP", 1, [&] {
    ASSERT_EQ(run_in_netns(ns.b(), "dw-syn",
                           [] { return send_tcp_syn_unanswered(NetnsPair::kAddrA, 4701); }),
              0);
  });
  ASSERT_TRUE(has_ct(evs));
  const json& e = evs[0];
  const json& ct = e["ct"];
  EXPECT_EQ(ct["state"], "NEW");
  EXPECT_EQ(ct["orig"]["src"], NetnsPair::kAddrB);
  EXPECT_EQ(ct["orig"]["dst"], NetnsPair::kAddrA);
  EXPECT_EQ(ct["orig"]["dport"], 4701);
  EXPECT_EQ(ct["orig"]["proto"], "TCP");
  EXPECT_EQ(ct["reply"]["sport"], 4701);
  EXPECT_EQ(ct["reply"]["dport"], ct["orig"]["sport"]);
  EXPECT_FALSE(has(ct["status"], "DST_NAT")) << ct.dump();
  EXPECT_EQ(ct["zone"], 0);
}

// DNAT in the sender's output (A:P -> B:Q) and a drop of B:Q in its
// postrouting: orig keeps what the application asked for, reply shows
// where the packet went, and the status says DST_NAT.
TEST_P(Conntrack, ADnatFlowShowsBothTuples) {
  NetnsPair ns("dwcd");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(sh("ip netns exec " + ns.a() +
               " nft add table ip dwnat '{ chain out { type nat hook output priority -100; "
               "ip daddr 10.0.42.99 tcp dport 4702 dnat to 10.0.42.2:4802; }; "
               "chain post { type filter hook postrouting priority 0; "
               "tcp dport 4802 meta mark set 0x2a drop; }; }'"),
            0);
  auto evs = drops(ns, "NETFILTER_DROP", 1, [&] {
    ASSERT_EQ(
        run_in_netns(ns.a(), "dw-dnat", [] { return send_tcp_syn_unanswered("10.0.42.99", 4702); }),
        0);
  });
  ASSERT_TRUE(has_ct(evs));
  const json& e = evs[0];
  const json& ct = e["ct"];
  EXPECT_EQ(ct["state"], "NEW");
  EXPECT_EQ(ct["orig"]["src"], NetnsPair::kAddrA);
  EXPECT_EQ(ct["orig"]["dst"], "10.0.42.99");
  EXPECT_EQ(ct["orig"]["dport"], 4702);
  EXPECT_EQ(ct["reply"]["src"], NetnsPair::kAddrB);
  EXPECT_EQ(ct["reply"]["sport"], 4802);
  EXPECT_EQ(ct["reply"]["dst"], NetnsPair::kAddrA);
  EXPECT_TRUE(has(ct["status"], "DST_NAT")) << ct.dump();
  EXPECT_FALSE(has(ct["status"], "SRC_NAT")) << ct.dump();
  // The packet itself already carries the new destination.
  EXPECT_EQ(e["layers"]["ipv4"]["dst"], NetnsPair::kAddrB);
  EXPECT_EQ(e["layers"]["tcp"]["dport"], 4802);
}

// `notrack` in the raw table: the skb says UNTRACKED and has no entry; a
// namespace without conntrack rules gives drops without "ct" at all.
TEST_P(Conntrack, UntrackedAndUntouchedPacketsSayWhatTheyAre) {
  NetnsPair ns("dwcu");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(sh("ip netns exec " + ns.a() +
               " nft add table inet dwraw '{ chain out { type filter hook output priority raw; "
               "udp dport 4703 notrack; }; chain filt { type filter hook output priority 0; "
               "udp dport 4703 drop; }; }'"),
            0);
  NetnsPair quiet("dwcq");
  ASSERT_TRUE(quiet.ok());
  auto evs = drops(ns, "NETFILTER_DROP", 1, [&] {
    // Dropped in the sender's output: sendto() fails with EPERM.
    run_in_netns(ns.a(), "dw-notrack", [] { return send_udp(NetnsPair::kAddrB, 4703); });
  });
  ASSERT_GE(evs.size(), 1u);
  ASSERT_TRUE(evs[0].contains("ct")) << evs[0].dump();
  EXPECT_EQ(evs[0]["ct"], json::parse(R"({"state":"UNTRACKED"})"));
  // No rule in `quiet`: nothing loads conntrack there, a closed port's drop has no entry.
  auto plain = drops(quiet, "NO_SOCKET", 1, [&] {
    ASSERT_EQ(run_in_netns(quiet.b(), "dw-plain", [] { return send_udp(NetnsPair::kAddrA, 4704); }),
              0);
  });
  ASSERT_GE(plain.size(), 1u);
  EXPECT_EQ(plain[0]["reason"], "NO_SOCKET") << plain[0].dump();
  EXPECT_FALSE(plain[0].contains("ct")) << plain[0].dump();
}

// Text shows the entry on its own line, the pcapng comment its state.
TEST_P(Conntrack, TextAndPcapngShowTheState) {
  NetnsPair ns("dwct");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.a(), "output", "udp dport 4705 ct state new"), 0);
  std::string pcap = "/tmp/dw-ct-" + std::to_string(getpid()) + ".pcapng";
  auto evs = drops(
      ns, "NETFILTER_DROP", 1,
      [&] { run_in_netns(ns.a(), "dw-text", [] { return send_udp(NetnsPair::kAddrB, 4705); }); },
      {"-w", pcap, "--print"});
  ASSERT_GE(evs.size(), 1u);
  EXPECT_EQ(evs[0]["ct"]["state"], "NEW");
  // The live text line, as `dropwatch print` gives it from the stored event.
  std::string ndjson = "/tmp/dw-ct-" + std::to_string(getpid()) + ".ndjson";
  std::ofstream(ndjson) << evs[0].dump() << "\n";
  Process text({dropwatch_path(), "print", "--no-stack", ndjson});
  ASSERT_EQ(text.wait(20s), 0) << text.stderr_text();
  auto lines = text.stdout_lines();
  ASSERT_EQ(lines.size(), 3u) << testing::PrintToString(lines);
  EXPECT_TRUE(lines[2].starts_with("  ct NEW [")) << lines[2];
  EXPECT_NE(lines[2].find(" UDP orig " + std::string(NetnsPair::kAddrA) + "."), std::string::npos)
      << lines[2];
  unlink(ndjson.c_str());
  Process tshark({"tshark", "-r", pcap, "-T", "fields", "-e", "frame.comment"});
  ASSERT_EQ(tshark.wait(20s), 0) << tshark.stderr_text();
  ASSERT_FALSE(tshark.stdout_lines().empty());
  EXPECT_NE(tshark.stdout_lines()[0].find("ct NEW"), std::string::npos) << tshark.stdout_lines()[0];
  unlink(pcap.c_str());
}

INSTANTIATE_TEST_SUITE_P(AttachModes, Conntrack,
                         testing::Values("tp_btf", "tp_btf-copy", "tracepoint"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace dw::test
