// dropwatch's in-kernel gates on real drops: filters at link and network
// level, devices keyed by namespace, reasons, the rate limit, bad input.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>

#include "probe/kernel_features.h"
#include "test_vlan_push.skel.h"
#include "tests/support/bpf_programs.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"
#include "tests/support/packet_builder.h"

#include <bpf/libbpf.h>
#include <net/if.h>

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// One kind of drop the scenario makes, and how to recognise its event.
struct Drop {
  const char* name;
};

// Drops made by one scenario run: from a to b over veth (received, MAC
// header) and in a's output path (locally generated, network header only).
//   tcp4  SYN to 10.0.42.2:3306     NO_SOCKET in b
//   tcp6  SYN to [fd00:42::2]:3306  NO_SOCKET in b
//   udp4  to 10.0.42.2:9999         NO_SOCKET in b
//   icmp4 echo to 10.0.42.2         NETFILTER_DROP in b (nft input)
//   out4  UDP to 10.0.42.2:5555     NETFILTER_DROP in a (nft output)
std::string classify(const json& e, const NetnsPair& ns) {
  const json& l = e.value("layers", json::object());
  uint32_t netns = e.value("netns", 0u);
  if (netns == ns.inode_b()) {
    if (l.contains("tcp") && l["tcp"]["dport"] == 3306) return l.contains("ipv4") ? "tcp4" : "tcp6";
    if (l.contains("udp") && l["udp"]["dport"] == 9999) return "udp4";
    if (l.contains("icmp") && l["icmp"]["type"] == 8) return "icmp4";
  }
  if (netns == ns.inode_a() && l.contains("udp") && l["udp"]["dport"] == 5555) return "out4";
  return "";
}

class Scenario : public ::testing::Test {
 protected:
  void SetUp() override {
    ns_ = std::make_unique<NetnsPair>("dwg");
    ASSERT_TRUE(ns_->ok());
    ASSERT_EQ(nft_drop(ns_->b(), "input", "icmp type echo-request"), 0);
    ASSERT_EQ(nft_drop(ns_->a(), "output", "udp dport 5555"), 0);
  }

  static int make_drops() {
    int bad = 0;
    bad += send_tcp_syn(NetnsPair::kAddrB, 3306) != 0;
    bad += send_tcp_syn(NetnsPair::kAddr6B, 3306) != 0;
    bad += send_udp(NetnsPair::kAddrB, 9999) != 0;
    bad += send_icmp_echo(NetnsPair::kAddrB) != 0;
    send_udp(NetnsPair::kAddrB, 5555);  // sendto() reports EPERM: the nft drop
    return bad;
  }

  // Runs dropwatch with `args`, makes the drops, and returns which of ours
  // it reported (each kind once at most is expected).
  std::multiset<std::string> run(std::vector<std::string> args, std::string* err = nullptr) {
    args.insert(args.end(), {"--output", "json", "--no-stack"});
    std::string why;
    auto dw = start_dropwatch(args, &why);
    EXPECT_TRUE(dw) << why;
    if (!dw) return {};
    EXPECT_EQ(run_in_netns(ns_->a(), "dw-sender", make_drops), 0);
    // Events arrive within the 100 ms poll; wait for the summary instead of sleeping.
    usleep(300000);
    dw->signal(SIGINT);
    EXPECT_EQ(dw->wait(10s), 0) << dw->stderr_text();
    if (err) *err = dw->stderr_text();
    std::multiset<std::string> seen;
    for (const auto& e : parse_events(dw->stdout_lines())) {
      std::string k = classify(e, *ns_);
      if (!k.empty()) seen.insert(k);
    }
    return seen;
  }

  std::unique_ptr<NetnsPair> ns_;
};

struct FilterCase {
  const char* filter;
  std::multiset<std::string> expected;
};

TEST_F(Scenario, EachFilterReportsExactlyItsDrops) {
  const FilterCase cases[] = {
      {"", {"tcp4", "tcp6", "udp4", "icmp4", "out4"}},
      {"tcp dst port 3306", {"tcp4", "tcp6"}},
      {"src net 10.0.0.0/8 and tcp dst port 3306", {"tcp4"}},
      {"ip6 and tcp", {"tcp6"}},
      {"udp port 5555", {"out4"}},  // locally generated: network-level entry
      {"icmp[icmptype] = icmp-echo", {"icmp4"}},
      {"udp and not port 5555", {"udp4"}},
      // link-level primitives: true for received frames, false without a MAC header
      {"ether src 02:00:00:00:42:01", {"tcp4", "tcp6", "udp4", "icmp4"}},
      {"not ether src 02:00:00:00:42:01 and udp", {"out4"}},  // false, negated
      {"len > 2000", {}},
  };
  // The filter reads the packets where they lie (where the kernel lets it)
  // and, forced, a copy: the same drops either way.
  bool in_place = probe::in_place_reads_supported();
  for (std::string attach : {"auto", "tp_btf-copy"}) {
    for (const auto& c : cases) {
      SCOPED_TRACE(std::string("--attach ") + attach + " --filter '" + c.filter + "'");
      std::vector<std::string> args = {"--attach", attach};
      if (*c.filter) args.insert(args.end(), {"--filter", c.filter});
      std::string err;
      EXPECT_EQ(run(args, &err), c.expected);
      if (!*c.filter) continue;
      bool said_in_place = err.find(", filter in place") != std::string::npos;
      EXPECT_EQ(said_in_place, in_place && attach == "auto") << err;
    }
  }
  EXPECT_TRUE(no_programs_left("dw_"));
}

TEST_F(Scenario, ReasonsAndNamespaces) {
  EXPECT_EQ(run({"--reason", "NO_SOCKET"}), (std::multiset<std::string>{"tcp4", "tcp6", "udp4"}));
  EXPECT_EQ(run({"--reason", "netfilter_drop"}), (std::multiset<std::string>{"icmp4", "out4"}));
  EXPECT_EQ(run({"--reason-excluded", "NO_SOCKET,NETFILTER_DROP"}), std::multiset<std::string>{});
  EXPECT_EQ(run({"--netns", "/run/netns/" + ns_->a()}), std::multiset<std::string>{"out4"});
  EXPECT_EQ(run({"--netns", ns_->b(), "--filter", "tcp"}),
            (std::multiset<std::string>{"tcp4", "tcp6"}));
  std::string err;
  run({"--reason", "NO_SOCKET", "--filter", "tcp"}, &err);
  auto counts = summary_counts(err);
  EXPECT_GE(counts["by reason"], 2u) << err;      // the two NETFILTER_DROPs at least
  EXPECT_GE(counts["by the filter"], 1u) << err;  // the UDP NO_SOCKET
}

// The same device name in two namespaces: a device is (namespace, ifindex).
TEST(Devices, AllowAndDenyKeyedByNamespace) {
  NetnsPair one("dwd1"), two("dwd2");
  ASSERT_TRUE(one.ok() && two.ok());
  // dropwatch runs inside one's b: its "dwb0" is one's, not two's (same name,
  // same ifindex 2 in both namespaces).
  std::vector<std::string> in_b = {"ip", "netns", "exec", one.b()};
  auto drops = [&] {
    EXPECT_EQ(run_in_netns(one.a(), "dw-sender", [] { return send_udp(NetnsPair::kAddrB, 9999); }),
              0);
    EXPECT_EQ(run_in_netns(two.a(), "dw-sender", [] { return send_udp(NetnsPair::kAddrB, 9998); }),
              0);
  };
  auto ports = [&](std::vector<std::string> args) {
    args.insert(args.end(),
                {"--output", "json", "--no-stack", "--filter", "udp dst port 9998 or 9999"});
    std::string why;
    auto dw = start_dropwatch(args, &why, in_b);
    EXPECT_TRUE(dw) << why;
    std::set<int> seen;
    if (!dw) return seen;
    drops();
    usleep(300000);
    dw->signal(SIGINT);
    EXPECT_EQ(dw->wait(10s), 0) << dw->stderr_text();
    // Only this test's namespaces: other tests may drop to the same ports.
    for (const auto& e : parse_events(dw->stdout_lines()))
      if (e["netns"] == one.inode_b() || e["netns"] == two.inode_b())
        seen.insert(int(e["layers"]["udp"]["dport"]));
    return seen;
  };
  EXPECT_EQ(ports({}), (std::set<int>{9998, 9999}));
  EXPECT_EQ(ports({"--device", "dwb0"}), std::set<int>{9999}) << "one's dwb0 only";
  EXPECT_EQ(ports({"--device-excluded", "dwb0"}), std::set<int>{9998}) << "two's dwb0 passes";
  EXPECT_EQ(ports({"--device", "lo"}), std::set<int>{});
}

// A burst of drops through a per-CPU token bucket: at most rate x time +
// burst events, and every other matching drop counted as suppressed.
TEST(RateLimit, BurstIsCappedAndTheRestCounted) {
  Netns ns("dwr");
  ASSERT_TRUE(ns.ok());
  constexpr int kRate = 40, kBurst = 3000;
  auto t0 = std::chrono::steady_clock::now();
  std::string why;
  auto dw = start_dropwatch(
      {"--max-events-per-second", std::to_string(kRate), "--no-stack", "--output", "json",
       "--filter", "udp dst port 7777", "--netns", "/run/netns/" + ns.name()},
      &why);
  ASSERT_TRUE(dw) << why;
  ASSERT_EQ(run_in_netns(ns.name(), "dw-sender",
                         [] {
                           int bad = 0;
                           for (int i = 0; i < kBurst; i++) bad += send_udp("127.0.0.1", 7777) != 0;
                           return bad;
                         }),
            0);
  usleep(300000);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto c = summary_counts(dw->stderr_text());
  size_t events = parse_events(dw->stdout_lines()).size();
  EXPECT_EQ(c["events emitted"], events) << dw->stderr_text();
  EXPECT_EQ(c["lost"], 0u);
  EXPECT_GE(events, 1u);
  EXPECT_LE(double(events), kRate * seconds + kRate) << seconds << " s";
  EXPECT_EQ(c["events emitted"] + c["rate-limited"], uint64_t(kBurst))
      << "every matching drop is either an event or counted as suppressed:\n"
      << dw->stderr_text();
}

// A VLAN tag held in skb metadata, as with VLAN offload: a tc program on
// a's egress pushes it there and drops the packet (TC_EGRESS). The filter and
// the event see the tag in the frame, as tcpdump on a live interface does.
TEST(Vlan, OffloadedTagIsSeenAsInTheFrame) {
  NetnsPair ns("dwv");
  ASSERT_TRUE(ns.ok());
  auto run = [&](const std::string& filter) {
    std::string why;
    auto dw = start_dropwatch({"--output", "json", "--no-stack", "--filter", filter}, &why);
    EXPECT_TRUE(dw) << why;
    std::vector<json> evs;
    if (!dw) return evs;
    EXPECT_EQ(run_in_netns(ns.a(), "dw-sender",
                           [] {
                             test_vlan_push_bpf* skel = test_vlan_push_bpf__open_and_load();
                             if (!skel) return 10;
                             LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = int(if_nametoindex("dwa0")),
                                         .attach_point = BPF_TC_EGRESS);
                             bpf_tc_hook_create(&hook);
                             LIBBPF_OPTS(bpf_tc_opts, opts,
                                         .prog_fd = bpf_program__fd(skel->progs.dw_test_vlan_push));
                             if (bpf_tc_attach(&hook, &opts)) return 11;
                             send_udp(NetnsPair::kAddrB,
                                      9999);  // dropped on egress, whatever sendto says
                             int rc = 0;
                             bpf_tc_hook_destroy(&hook);
                             test_vlan_push_bpf__destroy(skel);
                             return rc;
                           }),
              0);
    usleep(300000);
    dw->signal(SIGINT);
    EXPECT_EQ(dw->wait(10s), 0);
    for (auto& e : parse_events(dw->stdout_lines()))
      if (e["netns"] == ns.inode_a()) evs.push_back(e);
    return evs;
  };
  auto hit = run("vlan 100 and udp dst port 9999");
  ASSERT_EQ(hit.size(), 1u);
  const json& l = hit[0]["layers"];
  ASSERT_TRUE(l.contains("vlan")) << hit[0].dump();
  EXPECT_EQ(hit[0]["reason"], "TC_EGRESS");
  EXPECT_EQ(l["vlan"][0]["id"], 100);
  EXPECT_EQ(l["vlan"][0]["pcp"], 1);
  EXPECT_EQ(l["vlan"][0]["offloaded"], true);
  EXPECT_EQ(l["udp"]["dport"], 9999);
  EXPECT_EQ(hit[0]["packet_len"], hit[0]["capture_len"]);
  EXPECT_TRUE(run("vlan 200 and udp dst port 9999").empty());
  EXPECT_TRUE(run("not vlan and udp dst port 9999").empty());
  EXPECT_EQ(run("udp dst port 9999").size(), 0u) << "offsets shift after the tag, as in libpcap";
}

struct Bad {
  std::vector<std::string> args;
  std::string message;
};

TEST(BadInput, ClearMessageNonZeroExitNothingLeftLoaded) {
  const Bad cases[] = {
      {{"--device", "nosuchdev0"}, "unknown device 'nosuchdev0'"},
      {{"--device", "lo", "--device-excluded", "lo"}, "excludes"},
      {{"--reason", "NO_SOCKETT"}, "unknown drop reason 'NO_SOCKETT'; did you mean NO_SOCKET"},
      {{"--reason", "lo", "--reason-excluded", "lo"}, "excludes"},
      {{"--filter", "tcp port"}, "filter:1:9: error:"},
      {{"--filter", "tcp port 70000"},
       "illegal port number 70000 > 65535\ntcp port 70000\n         ^~~~~"},
      {{"--max-events-per-second", "-5"}, "--max-events-per-second"},
      {{"--netns", "/run/netns/no-such-ns"}, "--netns: /run/netns/no-such-ns"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {dropwatch_path()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    Process p(argv);
    EXPECT_EQ(p.wait(30s), 2) << c.args[0] << ": " << p.stderr_text();
    EXPECT_NE(p.stderr_text().find(c.message), std::string::npos)
        << "expected '" << c.message << "' in:\n"
        << p.stderr_text();
    EXPECT_TRUE(p.stdout_lines().empty());
  }
  EXPECT_TRUE(no_programs_left("dw_"));
}

}  // namespace
}  // namespace dw::test
