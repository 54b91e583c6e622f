// End to end: real drops in namespaces the test creates, seen by the real
// dropwatch binary through the real kernel.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/binaries.h"
#include "tests/support/bpf_programs.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kDropwatch = std::string(DW_BIN_DIR) + "/dropwatch";
constexpr const char* kSender = "dw-sender";

// Starts dropwatch and waits for its ready line; fails the test otherwise.
std::unique_ptr<Process> start_dropwatch(std::vector<std::string> args) {
  args.insert(args.begin(), kDropwatch);
  auto p = std::make_unique<Process>(args);
  bool ready = p->wait_stderr("dropwatch: watching", 20s);
  EXPECT_TRUE(ready) << "dropwatch did not attach; stderr:\n" << p->stderr_text();
  return ready ? std::move(p) : nullptr;
}

std::vector<json> events_in(const std::vector<std::string>& lines, uint32_t netns) {
  std::vector<json> out;
  for (const auto& l : lines) {
    json j = json::parse(l, nullptr, false);
    if (!j.is_discarded() && j.value("netns", 0u) == netns) out.push_back(j);
  }
  return out;
}

struct Expected {
  std::string family;  // "ipv4" or "ipv6"
  std::string l4;      // "tcp" or "udp"
  uint16_t dport;
  std::string reason;
  std::string location_fn;  // function the location (and first frame) must name
};

const Expected kExpected[] = {
    {"ipv4", "tcp", 3306, "NO_SOCKET", "tcp_v4_rcv"},
    {"ipv6", "tcp", 3306, "NO_SOCKET", "tcp_v6_rcv"},
    {"ipv4", "udp", 9999, "NO_SOCKET", "__udp4_lib_rcv"},
    {"ipv6", "udp", 9999, "NO_SOCKET", "__udp6_lib_rcv"},
    {"ipv4", "udp", 7777, "NETFILTER_DROP", "nft_do_chain"},
};

bool matches(const json& e, const Expected& x) {
  const json& l = e["layers"];
  return l.contains(x.family) && l.contains(x.l4) && l[x.l4]["dport"] == x.dport;
}

class E2eDrops : public ::testing::TestWithParam<std::string> {};

TEST_P(E2eDrops, ReportsExactlyTheDropsMadeInANamespace) {
  NetnsPair ns("dwe");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.b(), "input", "udp dport 7777"), 0);
  auto dw = start_dropwatch({"--output", "json", "--attach", GetParam()});
  ASSERT_TRUE(dw);

  int rc = run_in_netns(ns.a(), kSender, [] {
    int bad = 0;
    bad += send_tcp_syn(NetnsPair::kAddrB, 3306) != 0;
    bad += send_tcp_syn(NetnsPair::kAddr6B, 3306) != 0;
    bad += send_udp(NetnsPair::kAddrB, 9999) != 0;
    bad += send_udp(NetnsPair::kAddr6B, 9999) != 0;
    bad += send_udp(NetnsPair::kAddrB, 7777) != 0;
    return bad;
  });
  ASSERT_EQ(rc, 0) << "sending from namespace " << ns.a() << " failed";

  uint32_t inode_b = ns.inode_b();
  ASSERT_NE(inode_b, 0u);
  auto enough = [&](const std::vector<std::string>& lines) {
    size_t found = 0;
    auto evs = events_in(lines, inode_b);
    for (const auto& x : kExpected)
      found += std::any_of(evs.begin(), evs.end(), [&](const json& e) { return matches(e, x); });
    return found == std::size(kExpected);
  };
  dw->wait_stdout(enough, 10s);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();

  std::vector<json> evs = events_in(dw->stdout_lines(), inode_b);
  for (const auto& x : kExpected) {
    SCOPED_TRACE(x.family + "/" + x.l4 + " dport " + std::to_string(x.dport));
    std::vector<json> hits;
    for (const auto& e : evs)
      if (matches(e, x)) hits.push_back(e);
    ASSERT_EQ(hits.size(), 1u) << "events in netns b:\n" << json(evs).dump(1);
    const json& e = hits[0];
    EXPECT_EQ(e["reason"], x.reason);
    EXPECT_EQ(e["reason_subsys"], "core");
    EXPECT_EQ(e["netns"], inode_b);
    EXPECT_EQ(e["netdev_name"], "dwb0");
    EXPECT_EQ(e["comm"], kSender);
    std::string loc = e["location"];
    EXPECT_TRUE(loc.starts_with(x.location_fn + "+0x")) << loc;
    std::string stack = e["stack"];
    EXPECT_TRUE(stack.starts_with(x.location_fn + "+0x")) << "first frame is the dropper:\n"
                                                          << stack;
    EXPECT_GT(std::count(stack.begin(), stack.end(), '\n'), 3);
    const json& l = e["layers"];
    EXPECT_TRUE(l.contains("ether"));
    std::string src = x.family == "ipv4" ? NetnsPair::kAddrA : NetnsPair::kAddr6A;
    std::string dst = x.family == "ipv4" ? NetnsPair::kAddrB : NetnsPair::kAddr6B;
    EXPECT_EQ(l[x.family]["src"], src);
    EXPECT_EQ(l[x.family]["dst"], dst);
    if (x.l4 == "tcp") {
      EXPECT_EQ(l["tcp"]["flags"], "SYN");
      EXPECT_EQ(l["label"], x.family == "ipv4" ? "IPv4/TCP" : "IPv6/TCP");
    } else {
      EXPECT_EQ(l["udp"]["len"], 8 + 9) << "payload 'dropwatch'";
    }
    EXPECT_EQ(e["packet_len"], e["capture_len"]) << "small packets are captured whole";
  }
  // Nothing else of ours was dropped in b: every TCP/UDP event there is expected.
  for (const auto& e : evs) {
    if (!e["layers"].contains("tcp") && !e["layers"].contains("udp")) continue;
    bool known = std::any_of(std::begin(kExpected), std::end(kExpected),
                             [&](const Expected& x) { return matches(e, x); });
    EXPECT_TRUE(known) << "unexpected event: " << e.dump();
  }
  EXPECT_NE(dw->stderr_text().find("written"), std::string::npos) << "exit summary";
  EXPECT_TRUE(no_programs_left("dw_")) << "a program of ours stayed loaded";
}

INSTANTIATE_TEST_SUITE_P(AttachModes, E2eDrops, ::testing::Values("tp_btf", "tracepoint"));

// The acceptance check: --count 2 during two connect()s to a closed port.
TEST(E2e, CountStopsAfterTwoEvents) {
  Netns ns("dwc");
  ASSERT_TRUE(ns.ok());
  // --netns: drops elsewhere on the host (other tests' namespaces going
  // away) must not count towards the two.
  auto dw = start_dropwatch({"--output", "json", "--count", "2", "--snaplen", "60", "--netns",
                             "/run/netns/" + ns.name()});
  ASSERT_TRUE(dw);
  // A namespace with only loopback: nothing else drops there.
  ASSERT_EQ(run_in_netns(
                ns.name(), kSender,
                [] { return send_tcp_syn("127.0.0.1", 4242) + send_tcp_syn("127.0.0.1", 4242); }),
            0);
  int rc = dw->wait(10s);
  if (rc < 0) dw->signal(SIGINT);
  ASSERT_EQ(rc, 0) << "--count 2 did not stop dropwatch; stderr:\n" << dw->stderr_text();
  auto lines = dw->stdout_lines();
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    json e = json::parse(line);
    EXPECT_EQ(e["netns"], ns.inode()) << "a drop from elsewhere on the host: " << line;
    EXPECT_EQ(e["reason"], "NO_SOCKET");
    EXPECT_EQ(e["layers"]["tcp"]["flags"], "SYN");
    EXPECT_EQ(e["layers"]["tcp"]["dport"], 4242);
    EXPECT_EQ(e["capture_len"], 60) << "--snaplen 60";
    EXPECT_EQ(e["packet_len"], 74) << "wire length of a SYN with options";
    EXPECT_TRUE(std::string(e["stack"]).starts_with("tcp_v4_rcv+0x")) << e["stack"];
    EXPECT_EQ(e["netdev_name"], "lo");
  }
  EXPECT_NE(dw->stderr_text().find("2 written"), std::string::npos) << dw->stderr_text();
}

TEST(E2e, TextOutputWithoutStacks) {
  NetnsPair ns("dwt");
  ASSERT_TRUE(ns.ok());
  auto dw = start_dropwatch({"--output", "text", "--no-stack"});
  ASSERT_TRUE(dw);
  ASSERT_EQ(run_in_netns(ns.a(), kSender, [] { return send_udp(NetnsPair::kAddrB, 9999); }), 0);
  std::string needle = "10.0.42.1.";
  bool seen = dw->wait_stdout(
      [&](const std::vector<std::string>& lines) {
        for (const auto& l : lines)
          if (l.find(needle) != std::string::npos && l.find("10.0.42.2.9999") != std::string::npos)
            return true;
        return false;
      },
      10s);
  dw->signal(SIGTERM);
  ASSERT_EQ(dw->wait(10s), 0);
  ASSERT_TRUE(seen);
  auto lines = dw->stdout_lines();
  for (size_t i = 0; i < lines.size(); i++) {
    if (lines[i].find("10.0.42.2.9999") == std::string::npos) continue;
    ASSERT_GT(i, 0u);
    EXPECT_NE(lines[i - 1].find("[dw-sender]"), std::string::npos) << lines[i - 1];
    EXPECT_NE(lines[i - 1].find("drop (reason NO_SOCKET) at __udp4_lib_rcv+0x"), std::string::npos)
        << lines[i - 1];
    EXPECT_TRUE(lines[i].starts_with("  if ")) << lines[i];
    EXPECT_NE(lines[i].find("(dwb0) netns " + std::to_string(ns.inode_b())), std::string::npos);
    EXPECT_NE(lines[i].find("proto UDP (17) len 17"), std::string::npos) << lines[i];
    if (i + 1 < lines.size()) {
      EXPECT_FALSE(lines[i + 1].starts_with("    ")) << "--no-stack printed a stack";
    }
  }
}

TEST(E2e, NotRootFailsCleanly) {
  Process p({dropwatch_for_other_users(), "--output", "json"}, [] {
    if (setgid(65534) || setuid(65534)) _exit(99);
  });
  int rc = p.wait(20s);
  EXPECT_EQ(rc, 1) << p.stderr_text();
  std::string err = p.stderr_text();
  EXPECT_NE(err.find("root"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one sentence:\n" << err;
  EXPECT_TRUE(p.stdout_lines().empty());
  EXPECT_TRUE(no_programs_left("dw_"));
}

struct BadArgs {
  std::vector<std::string> args;
  std::string message;
};

TEST(E2e, BadFlagsExitTwoWithAMessage) {
  const BadArgs cases[] = {
      {{"--output", "xml"}, "--output"},      {{"--snaplen", "5000"}, "--snaplen"},
      {{"--count", "-1"}, "--count"},         {{"--ringbuf-size", "3"}, "power of two"},
      {{"--no-such-flag"}, "--no-such-flag"}, {{"--attach", "kprobe"}, "--attach"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {kDropwatch};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    Process p(argv);
    EXPECT_EQ(p.wait(10s), 2) << c.args[0];
    EXPECT_NE(p.stderr_text().find(c.message), std::string::npos) << p.stderr_text();
    EXPECT_TRUE(p.stdout_lines().empty());
  }
  EXPECT_TRUE(no_programs_left("dw_"));
}

TEST(E2e, HelpReadsLikeAManPage) {
  Process p({kDropwatch, "--help"});
  EXPECT_EQ(p.wait(10s), 0);
  std::string out;
  for (const auto& l : p.stdout_lines()) out += l + "\n";
  for (const char* s : {"Output", "Stopping", "Advanced", "EXAMPLES", "EXIT STATUS", "--snaplen",
                        "256", "--no-stack", "--count"})
    EXPECT_NE(out.find(s), std::string::npos) << s << " missing from --help:\n" << out;
}

// The long options named in `text` ("--output-file", ...).
std::set<std::string> long_options(const std::string& text) {
  std::set<std::string> out;
  std::regex re("(^|[^a-z-])(--[a-z][a-z0-9-]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it)
    out.insert((*it)[2]);
  return out;
}

std::string help(std::vector<std::string> args) {
  args.insert(args.begin(), kDropwatch);
  args.push_back("--help");
  Process p(args);
  EXPECT_EQ(p.wait(10s), 0);
  std::string out;
  for (const auto& l : p.stdout_lines()) out += l + "\n";
  return out;
}

// docs/cli.md's option table and --help name the same options, each with
// the shape of its value, and every command's help lists its exit codes.
TEST(E2e, HelpAndDocsNameTheSameOptionsWithTheirShapes) {
  std::ifstream f(std::string(DW_TEST_DATA) + "/../../docs/cli.md");
  std::string doc((std::istreambuf_iterator<char>(f)), {});
  // The table of dropwatch's options: from its header to the first blank line.
  size_t start = doc.find("| group | option | what |");
  ASSERT_NE(start, std::string::npos);
  std::string table = doc.substr(start, doc.find("\n\n", start) - start);
  std::string top = help({});
  std::set<std::string> in_help = long_options(top.substr(0, top.find("EXAMPLES")));
  in_help.erase("--help");
  std::set<std::string> in_doc = long_options(table);
  for (const auto& o : in_doc) EXPECT_TRUE(in_help.count(o)) << o << " is in docs/cli.md only";
  for (const auto& o : in_help) EXPECT_TRUE(in_doc.count(o)) << o << " is in --help only";
  for (const char* shape :
       {"--output-storage unix:PATH", "--metrics ADDR:PORT", "--netns NS", "-C,--file-size SIZE",
        "--ringbuf-size MIB", "--task-id ID", "-s,--snaplen BYTES", "--summary SECONDS"})
    EXPECT_NE(top.find(shape), std::string::npos) << shape << " not in --help:\n" << top;
  for (std::string cmd : {"", "print", "pcap", "summary", "reasons"}) {
    std::string h = help(cmd.empty() ? std::vector<std::string>{} : std::vector{cmd});
    EXPECT_NE(h.find("EXIT STATUS\n  0  "), std::string::npos) << cmd << ":\n" << h;
  }
}

}  // namespace
}  // namespace dw::test
