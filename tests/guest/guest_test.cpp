// The guest test set: what dropwatch must do on every kernel of the matrix
// (scripts/test-kernels boots Debian's 5.10, 6.1 and 6.12 under QEMU and runs
// this there; the host's kernel runs it natively). Expectations follow what
// the kernel offers (probe/kernel_features.h): before 5.17 a drop has no
// reason, and dropwatch says so instead of failing.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "compiler/link.h"
#include "compiler/pipeline.h"
#include "probe/drop_reasons.h"
#include "probe/kernel_features.h"
#include "probe/reason_catalogue.h"
#include "tests/support/bpf_programs.h"
#include "tests/support/corpus.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/filter_table.h"
#include "tests/support/harness.h"
#include "tests/support/netns.h"
#include "tests/support/pcap_oracle.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

const probe::KernelFeatures& kernel() {
  static const probe::KernelFeatures f = [] {
    auto k = probe::KernelFeatures::detect();
    return k ? *k : probe::KernelFeatures{};
  }();
  return f;
}

// The reason a drop of this kind has here: the kernel's, or UNREPORTED.
std::string reason(const char* name) { return kernel().drop_reasons ? name : "UNREPORTED"; }

uint64_t reported(const std::string& err, const std::string& phrase) {
  std::smatch m;
  if (std::regex_search(err, m, std::regex("(\\d+) " + phrase))) return std::stoull(m[1]);
  return 0;
}

// dropwatch with `args` until it exits by itself (--count) or `wait`.
std::unique_ptr<Process> watch(std::vector<std::string> args, std::string* why = nullptr) {
  args.insert(args.begin(), {"--output", "json", "--no-stack"});
  return start_dropwatch(args, why, {}, 120s);
}

TEST(Guest, SaysWhatTheKernelLacks) {
  std::string why;
  auto dw = watch({"--duration", "1"}, &why);
  ASSERT_TRUE(dw) << why;
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  std::string err = dw->stderr_text();
  std::printf("%s: %s\n", kernel().release.c_str(), kernel().lacking().c_str());
  if (kernel().lacking().empty())
    EXPECT_EQ(err.find("lacks"), std::string::npos) << err;
  else
    EXPECT_NE(err.find("dropwatch: " + kernel().lacking()), std::string::npos) << err;
  if (!kernel().drop_reasons) {
    Process r({dropwatch_path(), "--reason", "NO_SOCKET"});
    EXPECT_EQ(r.wait(60s), 2);
    EXPECT_NE(r.stderr_text().find("reports no drop reasons"), std::string::npos)
        << r.stderr_text();
  }
}

class GuestAttach : public ::testing::TestWithParam<std::string> {};

// A UDP datagram to a closed port in a namespace: NO_SOCKET, in each mode;
// the filter reads it in place where the kernel lets it, else a copy.
TEST_P(GuestAttach, ReportsADropWithItsReason) {
  NetnsPair ns("dga");
  ASSERT_TRUE(ns.ok());
  std::string why;
  auto dw = watch({"--attach", GetParam(), "--filter", "udp port 5301", "--count", "1"}, &why);
  ASSERT_TRUE(dw) << why;
  ASSERT_EQ(run_in_netns(ns.a(), "dw-guest", [] { return send_udp(NetnsPair::kAddrB, 5301); }), 0);
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  bool in_place = GetParam() == "tp_btf" && probe::in_place_reads_supported();
  EXPECT_EQ(dw->stderr_text().find(", filter in place") != std::string::npos, in_place)
      << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << dw->stderr_text();
  EXPECT_EQ(evs[0]["reason"], reason("NO_SOCKET"));
  EXPECT_EQ(evs[0]["netns"], ns.inode_b());
  EXPECT_EQ(evs[0]["netdev_name"], "dwb0");
  EXPECT_EQ(evs[0]["layers"]["udp"]["dport"], 5301);
  EXPECT_TRUE(evs[0]["location"].get<std::string>().starts_with("__udp4_lib_rcv+0x"))
      << evs[0].dump();
  EXPECT_TRUE(no_programs_left("dw_"));
}

// DNAT in the sender's output and a drop after it: the event carries the
// conntrack entry, both tuples, on every kernel (the entry is read with
// CO-RE probe reads in each mode).
TEST_P(GuestAttach, ADnatDropCarriesItsConntrackEntry) {
  NetnsPair ns("dgn");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(sh("ip netns exec " + ns.a() +
               " nft add table ip dwnat '{ chain out { type nat hook output priority -100; "
               "ip daddr 10.0.42.99 tcp dport 5311 dnat to 10.0.42.2:5312; }; "
               "chain post { type filter hook postrouting priority 0; tcp dport 5312 drop; }; }'"),
            0);
  std::string why;
  auto dw = watch({"--attach", GetParam(), "--filter", "tcp dst port 5312", "--count", "1"}, &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-guest", [] { return send_tcp_syn_unanswered("10.0.42.99", 5311); });
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << dw->stderr_text();
  ASSERT_TRUE(evs[0].contains("ct")) << evs[0].dump();
  const auto& ct = evs[0]["ct"];
  EXPECT_EQ(ct["state"], "NEW");
  EXPECT_EQ(ct["orig"]["dst"], "10.0.42.99");
  EXPECT_EQ(ct["orig"]["dport"], 5311);
  EXPECT_EQ(ct["reply"]["src"], NetnsPair::kAddrB);
  EXPECT_EQ(ct["reply"]["sport"], 5312);
  EXPECT_NE(ct["status"].dump().find("\"DST_NAT\""), std::string::npos) << ct.dump();
}

// --track: the SYN's path from one end of a veth pair to the other.
TEST(Guest, TrackShowsTheSynsWayAcrossTheVethPair) {
  NetnsPair ns("dgt");
  ASSERT_TRUE(ns.ok());
  std::string why;
  auto dw = watch({"--track", "--filter", "tcp dst port 5313", "--count", "1"}, &why);
  ASSERT_TRUE(dw) << why;
  ASSERT_EQ(run_in_netns(ns.a(), "dw-guest", [] { return send_tcp_syn(NetnsPair::kAddrB, 5313); }),
            0);
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << dw->stderr_text();
  ASSERT_TRUE(evs[0].contains("path")) << evs[0].dump();
  const auto& path = evs[0]["path"];
  ASSERT_GE(path.size(), 2u) << path.dump();
  EXPECT_EQ(path[0]["dev"], "dwa0") << path.dump();
  EXPECT_EQ(path[path.size() - 1]["dev"], "dwb0") << path.dump();
  for (size_t i = 1; i < path.size(); i++)
    EXPECT_LT(path[i]["ns_before_drop"].get<uint64_t>(),
              path[i - 1]["ns_before_drop"].get<uint64_t>())
        << path.dump();
}

// --nft-trace: the rule, from this kernel's nftables tracing.
TEST(Guest, NftTraceNamesTheRule) {
  NetnsPair ns("dgq");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.a(), "output", "udp dport 5314"), 0);
  std::string before = shell_output("ip netns exec " + ns.a() + " nft list ruleset");
  std::string why;
  auto dw = watch({"--nft-trace", "--netns", "/run/netns/" + ns.a(), "--filter", "udp port 5314",
                   "--count", "1"},
                  &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-guest", [] { return send_udp(NetnsPair::kAddrB, 5314); });
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << dw->stderr_text();
  ASSERT_TRUE(evs[0].contains("nft")) << evs[0].dump() << dw->stderr_text();
  EXPECT_EQ(evs[0]["nft"]["table"], "dwtest");
  EXPECT_EQ(evs[0]["nft"]["chain"], "dw_output");
  EXPECT_EQ(evs[0]["nft"]["rule"], "udp dport 5314 drop");
  EXPECT_EQ(shell_output("ip netns exec " + ns.a() + " nft list ruleset"), before);
}

// The reason catalogue (dropwatch reasons) knows every core reason of the
// kernels of the matrix that have reasons (6.1, 6.12, the host's).
TEST(Guest, TheReasonCatalogueKnowsEveryCoreReasonHere) {
  auto reasons = probe::DropReasons::from_kernel();
  ASSERT_TRUE(reasons) << reasons.error().message;
  // Before 5.17 there is nothing to know (and dropwatch reasons says so).
  if (!reasons->reported()) {
    EXPECT_EQ(kernel().drop_reasons, false);
  }
  for (const auto& [code, name] : reasons->all()) {
    if (reasons->subsystem(code) == "core" && name != "SUBSYS_MASK") {
      EXPECT_TRUE(probe::reason_info(name)) << name << " is not in the catalogue";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, GuestAttach,
                         ::testing::Values("tp_btf", "tp_btf-copy", "tracepoint"));

// --summary alone: drops only counted in the kernel, every one of them.
TEST(Guest, CountingOnlyCountsEveryDrop) {
  NetnsPair ns("dgc");
  ASSERT_TRUE(ns.ok());
  std::string why;
  auto dw = start_dropwatch(
      {"--summary", "1000", "--filter", "udp dst port 5309", "--netns", "/run/netns/" + ns.b()},
      &why, {}, 120s);
  ASSERT_TRUE(dw) << why;
  EXPECT_NE(dw->stderr_text().find("counting only"), std::string::npos) << dw->stderr_text();
  run_in_netns(ns.a(), "dw-guest", [] {
    for (int i = 0; i < 20; i++) send_udp(NetnsPair::kAddrB, 5309);
    return send_udp(NetnsPair::kAddrB, 5310);
  });
  std::this_thread::sleep_for(1s);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  std::string out;
  for (const auto& l : dw->stdout_lines()) out += l + "\n";
  EXPECT_NE(out.find("whole run"), std::string::npos) << out;
  EXPECT_NE(out.find(", 20 drops"), std::string::npos) << out;
  EXPECT_EQ(reported(dw->stderr_text(), "counted in the kernel only"), 20u) << dw->stderr_text();
}

TEST(Guest, TheFilterKeepsOneDropAndRejectsTheOther) {
  NetnsPair ns("dgf");
  ASSERT_TRUE(ns.ok());
  std::string why;
  auto dw = watch({"--filter", "udp dst port 5302", "--netns", "/run/netns/" + ns.b()}, &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-guest", [] {
    return send_udp(NetnsPair::kAddrB, 5303) + send_udp(NetnsPair::kAddrB, 5302);
  });
  dw->wait_stdout([](const auto& l) { return !l.empty(); }, 30s);
  std::this_thread::sleep_for(1s);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << dw->stderr_text();
  EXPECT_EQ(evs[0]["layers"]["udp"]["dport"], 5302);
  EXPECT_GE(reported(dw->stderr_text(), "by the filter"), 1u) << dw->stderr_text();
}

// A datagram dropped by nftables on its way out, before any MAC header:
// the event starts at the IP header.
TEST(Guest, ANetworkLevelDropHasNoLinkHeader) {
  NetnsPair ns("dgl");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.a(), "output", "udp dport 5304"), 0);
  std::string why;
  auto dw = watch({"--filter", "udp port 5304", "--count", "1"}, &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-guest", [] { return send_udp(NetnsPair::kAddrB, 5304); });
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << dw->stderr_text();
  EXPECT_EQ(evs[0]["reason"], reason("NETFILTER_DROP"));
  EXPECT_FALSE(evs[0]["layers"].contains("ether")) << evs[0].dump();
  EXPECT_EQ(evs[0]["layers"]["ipv4"]["dst"], NetnsPair::kAddrB);
}

TEST(Guest, TheDeviceGateKeepsItsDevice) {
  NetnsPair ns("dgd");
  ASSERT_TRUE(ns.ok());
  std::string why;
  auto dw = watch({"--netns", "/run/netns/" + ns.b(), "--device", "dwb0"}, &why);
  ASSERT_TRUE(dw) << why;
  // One drop on dwb0 (from a), one on b's loopback: only the first shows.
  run_in_netns(ns.b(), "dw-guest", [] { return send_udp("127.0.0.1", 5305); });
  run_in_netns(ns.a(), "dw-guest", [] { return send_udp(NetnsPair::kAddrB, 5306); });
  dw->wait_stdout([](const auto& l) { return !l.empty(); }, 30s);
  std::this_thread::sleep_for(1s);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  for (const auto& e : parse_events(dw->stdout_lines())) EXPECT_EQ(e["netdev_name"], "dwb0");
  EXPECT_GE(reported(dw->stderr_text(), "by device"), 1u) << dw->stderr_text();
}

TEST(Guest, TheRateLimitHoldsAStorm) {
  NetnsPair ns("dgr");
  ASSERT_TRUE(ns.ok());
  std::string why;
  auto dw = watch({"--netns", "/run/netns/" + ns.b(), "--max-events-per-second", "2"}, &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-guest", [] {
    for (int i = 0; i < 50; i++) send_udp(NetnsPair::kAddrB, 5307);
    return 0;
  });
  std::this_thread::sleep_for(1s);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  EXPECT_LE(parse_events(dw->stdout_lines()).size(), 6u) << dw->stderr_text();
  EXPECT_GE(reported(dw->stderr_text(), "rate-limited"), 40u) << dw->stderr_text();
}

TEST(Guest, PcapngIsReadBack) {
  NetnsPair ns("dgw");
  ASSERT_TRUE(ns.ok());
  std::string file = "/tmp/dw-guest-" + std::to_string(getpid()) + ".pcapng";
  std::string why;
  auto dw =
      start_dropwatch({"-w", file, "--filter", "udp port 5308", "--count", "1"}, &why, {}, 120s);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-guest", [] { return send_udp(NetnsPair::kAddrB, 5308); });
  ASSERT_EQ(dw->wait(60s), 0) << dw->stderr_text();
  std::string reader = access("/usr/bin/tshark", X_OK) == 0 ? "tshark -r " : "tcpdump -nn -r ";
  std::string out = shell_output(reader + file + " 2>/dev/null");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find("5308"), std::string::npos) << out;
  unlink(file.c_str());
}

// The compiled filter passes this kernel's verifier, as a global function
// (and as the in-place path's static one where the kernel has it), and its
// verdicts equal libpcap's (every 7th table expression).
TEST(Guest, TheFilterAgreesWithLibpcapInThisKernel) {
  std::vector<probe::FilterHarness::Mode> modes = {probe::FilterHarness::Mode::Copy};
  if (probe::in_place_reads_supported()) modes.push_back(probe::FilterHarness::Mode::InPlace);
  std::printf("%s: filter modes: %s\n", kernel().release.c_str(),
              modes.size() > 1 ? "copy and in place" : "copy");
  for (auto mode : modes) {
    SCOPED_TRACE(mode == probe::FilterHarness::Mode::InPlace ? "in place" : "copy");
    auto exprs = filter_table(DW_TEST_DATA "/filters.txt");
    auto frames = ethernet_corpus();
    PcapOracle oracle(DLT_EN10MB);
    size_t programs = 0;
    std::vector<std::string> problems;
    for (size_t i = 0; i < exprs.size() && problems.size() < 10; i += 7) {
      if (oracle.compile(exprs[i])) continue;  // libpcap refuses it
      auto fe = filter::compile_front(exprs[i], {LinkType::Ethernet});
      if (!fe) continue;
      auto h = load_harness(fe->dag, mode);
      if (!h) {
        problems.push_back("'" + exprs[i] + "' did not load: " + h.error().message.substr(0, 300));
        continue;
      }
      programs++;
      for (const auto& f : frames) {
        auto got = (*h)->run(f.bytes, f.wire_len);
        if (!got || *got != oracle.matches(f.bytes, f.wire_len)) {
          problems.push_back("'" + exprs[i] + "' on " + f.name);
          break;
        }
      }
    }
    std::string report;
    for (const auto& p : problems) report += p + "\n";
    EXPECT_TRUE(problems.empty()) << report;
    EXPECT_GT(programs, 40u);
  }
}

}  // namespace
}  // namespace dw::test
