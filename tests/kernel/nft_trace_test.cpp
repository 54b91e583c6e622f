// --nft-trace (issue 14): the rule behind a NETFILTER_DROP, from nftables'
// own tracing over netlink. Real tables in namespaces of the test's own;
// the ruleset is compared as `nft list ruleset` prints it before and after
// every way a run can end.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <regex>

#include "tests/support/binaries.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string ruleset(const std::string& ns) {
  return shell_output("ip netns exec " + ns + " nft list ruleset");
}

// The handle `nft -a` shows for the rule whose text starts with `rule`.
uint64_t handle_of(const std::string& ns, const std::string& family, const std::string& table,
                   const std::string& chain, const std::string& rule) {
  std::string out = shell_output("ip netns exec " + ns + " nft -a list chain " + family + " " +
                                 table + " " + chain);
  std::smatch m;
  std::regex re(rule + ".* # handle (\\d+)");
  return std::regex_search(out, m, re) ? std::stoull(m[1]) : 0;
}

std::unique_ptr<Process> trace_run(const NetnsPair& ns, std::vector<std::string> extra) {
  std::vector<std::string> args = {"-o",          "json",          "--no-stack",
                                   "--nft-trace", "--netns",       "/run/netns/" + ns.a(),
                                   "--reason",    "NETFILTER_DROP"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string why;
  auto dw = start_dropwatch(args, &why);
  EXPECT_TRUE(dw) << why;
  return dw;
}

TEST(NftTrace, ADropNamesItsRuleAndTheRulesetIsPutBack) {
  NetnsPair ns("dwnt");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(sh("ip netns exec " + ns.a() +
               " nft add table inet dwtt '{ chain dwout { type filter hook output priority 0; "
               "udp dport 4950 accept; udp dport 4951 drop; }; }'"),
            0);
  uint64_t handle = handle_of(ns.a(), "inet", "dwtt", "dwout", "udp dport 4951 drop");
  ASSERT_GT(handle, 0u);
  std::string before = ruleset(ns.a());
  auto dw = trace_run(ns, {"--count", "1"});
  ASSERT_TRUE(dw);
  std::string tables = shell_output("ip netns exec " + ns.a() + " nft list tables");
  EXPECT_NE(tables.find("table inet dropwatch_trace_" + std::to_string(dw->pid())),
            std::string::npos)
      << tables;
  run_in_netns(ns.a(), "dw-nft", [] { return send_udp(NetnsPair::kAddrB, 4951); });
  ASSERT_EQ(dw->wait(20s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << dw->stderr_text();
  ASSERT_TRUE(evs[0].contains("nft")) << evs[0].dump() << dw->stderr_text();
  const json& n = evs[0]["nft"];
  EXPECT_EQ(n["family"], "inet");
  EXPECT_EQ(n["table"], "dwtt");
  EXPECT_EQ(n["chain"], "dwout");
  EXPECT_EQ(n["handle"], handle);
  EXPECT_EQ(n["rule"], "udp dport 4951 drop");
  EXPECT_EQ(n["verdict"], "drop");
  EXPECT_FALSE(n.contains("ambiguous")) << n.dump();
  EXPECT_NE(dw->stderr_text().find("1 drops attributed to a rule, 0 NETFILTER_DROP events"),
            std::string::npos)
      << dw->stderr_text();
  EXPECT_EQ(ruleset(ns.a()), before);
}

// A chain's policy: "policy drop", handle 0.
TEST(NftTrace, APolicyDropIsNamedAsSuch) {
  NetnsPair ns("dwnp");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(sh("ip netns exec " + ns.a() +
               " nft add table ip dwpol '{ chain out { type filter hook output priority 0; "
               "policy drop; }; }'"),
            0);
  auto dw = trace_run(ns, {"--count", "1", "--filter", "udp dst port 4955"});
  ASSERT_TRUE(dw);
  run_in_netns(ns.a(), "dw-nft", [] { return send_udp(NetnsPair::kAddrB, 4955); });
  ASSERT_EQ(dw->wait(20s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u);
  ASSERT_TRUE(evs[0].contains("nft")) << evs[0].dump();
  EXPECT_EQ(evs[0]["nft"]["family"], "ip");
  EXPECT_EQ(evs[0]["nft"]["chain"], "out");
  EXPECT_EQ(evs[0]["nft"]["handle"], 0);
  EXPECT_EQ(evs[0]["nft"]["rule"], "policy drop");
}

TEST(NftTrace, SigtermPutsTheRulesetBack) {
  NetnsPair ns("dwns");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.a(), "output", "udp dport 4956"), 0);
  std::string before = ruleset(ns.a());
  auto dw = trace_run(ns, {});
  ASSERT_TRUE(dw);
  EXPECT_NE(ruleset(ns.a()), before) << "the table is there while it runs";
  dw->signal(SIGTERM);
  ASSERT_EQ(dw->wait(20s), 0) << dw->stderr_text();
  EXPECT_EQ(ruleset(ns.a()), before);
}

// SIGKILL leaves the table; the next run in that namespace removes it,
// says so, and leaves the ruleset as it was before either.
TEST(NftTrace, AfterSigkillTheNextStartRemovesTheTable) {
  NetnsPair ns("dwnk");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.a(), "output", "udp dport 4957"), 0);
  std::string before = ruleset(ns.a());
  auto dw = trace_run(ns, {});
  ASSERT_TRUE(dw);
  std::string table = "dropwatch_trace_" + std::to_string(dw->pid());
  dw->signal(SIGKILL);
  dw->wait(20s);
  EXPECT_NE(ruleset(ns.a()).find(table), std::string::npos) << "a kill leaves it";
  auto next = trace_run(ns, {"--duration", "1"});
  ASSERT_TRUE(next);
  ASSERT_EQ(next->wait(20s), 0) << next->stderr_text();
  EXPECT_NE(next->stderr_text().find("removed nftables table inet " + table), std::string::npos)
      << next->stderr_text();
  EXPECT_EQ(ruleset(ns.a()), before);
}

// iptables-nft rules are nftables rules: attributed like any other. Legacy
// iptables is not nftables: said once, and its drops carry no "nft".
TEST(NftTrace, IptablesNftIsAttributedAndLegacyIsSaidToBeNot) {
  NetnsPair ns("dwni");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(sh("ip netns exec " + ns.a() + " iptables-nft -A OUTPUT -p udp --dport 4958 -j DROP"),
            0);
  auto dw = trace_run(ns, {"--count", "1"});
  ASSERT_TRUE(dw);
  run_in_netns(ns.a(), "dw-nft", [] { return send_udp(NetnsPair::kAddrB, 4958); });
  ASSERT_EQ(dw->wait(20s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u);
  ASSERT_TRUE(evs[0].contains("nft")) << evs[0].dump();
  EXPECT_EQ(evs[0]["nft"]["family"], "ip");
  EXPECT_EQ(evs[0]["nft"]["table"], "filter");
  EXPECT_EQ(evs[0]["nft"]["chain"], "OUTPUT");
  EXPECT_NE(evs[0]["nft"]["rule"].get<std::string>().find("udp dport 4958"), std::string::npos)
      << evs[0]["nft"].dump();

  NetnsPair legacy("dwnl");
  ASSERT_TRUE(legacy.ok());
  ASSERT_EQ(
      sh("ip netns exec " + legacy.a() + " iptables-legacy -A OUTPUT -p udp --dport 4959 -j DROP"),
      0);
  auto lg = trace_run(legacy, {"--count", "2"});
  ASSERT_TRUE(lg);
  run_in_netns(legacy.a(), "dw-nft", [] {
    send_udp(NetnsPair::kAddrB, 4959);
    return send_udp(NetnsPair::kAddrB, 4959);
  });
  ASSERT_EQ(lg->wait(20s), 0) << lg->stderr_text();
  std::string err = lg->stderr_text();
  size_t first = err.find("legacy iptables tables");
  ASSERT_NE(first, std::string::npos) << err;
  EXPECT_EQ(err.find("legacy iptables tables", first + 1), std::string::npos) << "once: " << err;
  EXPECT_NE(err.find("(filter)"), std::string::npos) << err;
  for (const json& e : parse_events(lg->stdout_lines()))
    EXPECT_FALSE(e.contains("nft")) << e.dump();
}

// Two drops with the same headers (IPv6 has no id): the first event's rule
// has another candidate, and says so.
TEST(NftTrace, TwoTracesWithTheSameHeadersAreCalledAmbiguous) {
  NetnsPair ns("dwna");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.a(), "output", "udp dport 4960"), 0);
  auto dw = trace_run(ns, {"--count", "2"});
  ASSERT_TRUE(dw);
  run_in_netns(ns.a(), "dw-nft", [] {
    // One socket, one source port: the same datagram twice.
    return send_udp_twice(NetnsPair::kAddr6B, 4960);
  });
  ASSERT_EQ(dw->wait(20s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 2u);
  ASSERT_TRUE(evs[0].contains("nft")) << evs[0].dump();
  EXPECT_EQ(evs[0]["nft"].value("ambiguous", false), true) << evs[0]["nft"].dump();
  EXPECT_EQ(evs[0]["nft"]["table"], "dwtest");
}

TEST(NftTraceRefused, AnInodeCannotBeEnteredAndNothingIsLoaded) {
  Process p({dropwatch_path(), "--nft-trace", "--netns", "4026531840", "-c", "1"});
  EXPECT_EQ(p.wait(20s), 2);
  EXPECT_NE(p.stderr_text().find("--nft-trace needs a namespace it can enter"), std::string::npos)
      << p.stderr_text();
  EXPECT_EQ(p.stderr_text().find("watching"), std::string::npos);
}

// Without CAP_NET_ADMIN nftables cannot be used: one line, exit 2, before
// the probe is loaded.
TEST(NftTraceRefused, WithoutNetAdminNftablesIsUnavailable) {
  Process p({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "--inh-caps=+bpf,+perfmon,+syslog", "--ambient-caps=+bpf,+perfmon,+syslog",
             dropwatch_for_other_users(), "--nft-trace", "-c", "1"});
  EXPECT_EQ(p.wait(20s), 2) << p.stderr_text();
  std::string err = p.stderr_text();
  EXPECT_NE(err.find("nftables is unavailable"), std::string::npos) << err;
  EXPECT_NE(err.find("CAP_NET_ADMIN"), std::string::npos) << err;
  EXPECT_EQ(err.find("watching"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

}  // namespace
}  // namespace dw::test
