// Keeping drops: --output-file (with rotation), then dropwatch print and
// dropwatch pcap over the stored events, checked against what the live run
// saw: the same packets, the same filter verdicts.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "events/format.h"
#include "tests/support/bpf_programs.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using events::DropEvent;
using events::format_json;
using nlohmann::json;

using CliRun = Finished;

CliRun run(const std::vector<std::string>& args) { return run_to_end(args); }

std::vector<json> read_events(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  return parse_events(lines);
}

// Each probe stamps its own time; a packet is known by its decoded headers
// (addresses, ports, IP id, lengths).
std::set<std::string> packets(const std::vector<json>& evs) {
  std::set<std::string> out;
  for (const auto& e : evs) out.insert(e["reason"].dump() + e["layers"].dump());
  return out;
}

std::set<std::string> timestamps(const std::vector<json>& evs) {
  std::set<std::string> out;
  for (const auto& e : evs) out.insert(e["observed_timestamp"].get<std::string>());
  return out;
}

// What tshark shows of a capture: per frame the time, lengths, comment,
// interface and link type, then every frame's bytes.
std::string tshark_view(const std::string& path) {
  return shell_output(
      "tshark -n -r " + path +
      " -T fields -e frame.time_epoch -e frame.len -e frame.cap_len -e frame.comment"
      " -e frame.interface_name -e frame.encap_type 2>/dev/null; tshark -n -r " +
      path + " -x 2>/dev/null");
}

// Drops in namespace b (Ethernet, IPv4 and IPv6, TCP and UDP) and in a's
// output path (raw IP), with the given ports.
void make_drops(const NetnsPair& ns, uint16_t port) {
  nft_drop(ns.a(), "output", "udp dport " + std::to_string(port + 2));
  run_in_netns(ns.a(), "dw-store", [port] {
    send_tcp_syn(NetnsPair::kAddrB, port);
    send_tcp_syn(NetnsPair::kAddr6B, port);
    send_udp(NetnsPair::kAddrB, port + 1);
    send_udp(NetnsPair::kAddr6B, port + 1, std::string(600, 'y'));
    send_udp(NetnsPair::kAddrB, port + 2);
    return 0;
  });
}

TEST(Storage, StoredEventsGiveTheLivePacketsAndTheLiveFilterVerdicts) {
  NetnsPair ns("dws");
  ASSERT_TRUE(ns.ok());
  std::string dir = std::string(DW_BUILD_DIR) + "/test-storage";
  sh("rm -rf " + dir + " && mkdir -p " + dir);
  const std::string all = "portrange 4411-4413";
  const std::string narrow = "ip6 or tcp[tcpflags] & tcp-syn != 0 or udp port 4413";
  std::string why;
  // Two probes at once: one stores everything (events and pcapng), one
  // applies the narrow filter live.
  auto store = start_dropwatch({"--filter", all, "-s", "200", "-w", dir + "/live.pcapng", "--print",
                                "-o", "json", "--output-file", dir + "/ev.ndjson"},
                               &why);
  ASSERT_TRUE(store) << why;
  auto live = start_dropwatch({"--filter", "(" + all + ") and (" + narrow + ")", "-o", "json",
                               "--no-stack", "--packet-data"},
                              &why);
  ASSERT_TRUE(live) << why;
  make_drops(ns, 4411);
  live->wait_stdout([](const std::vector<std::string>& l) { return l.size() >= 4; }, 10s);
  std::this_thread::sleep_for(500ms);
  store->signal(SIGINT);
  live->signal(SIGINT);
  ASSERT_EQ(store->wait(10s), 0) << store->stderr_text();
  ASSERT_EQ(live->wait(10s), 0) << live->stderr_text();
  EXPECT_TRUE(store->stdout_lines().empty()) << "events went to --output-file";
  EXPECT_NE(store->stderr_text().find("5 events written to " + dir + "/ev.ndjson"),
            std::string::npos)
      << store->stderr_text();

  std::vector<json> stored = read_events(dir + "/ev.ndjson");
  ASSERT_EQ(stored.size(), 5u);
  for (const auto& e : stored) {
    EXPECT_TRUE(e.contains("packet")) << "a file gets the packet bytes: " << e.dump();
    EXPECT_EQ(e["packet_link"], e["layers"].contains("ether") ? "ether" : "raw");
  }

  // dropwatch pcap: the packets -w wrote, byte for byte, with their comments.
  CliRun conv = run({dropwatch_path(), "pcap", dir + "/ev.ndjson", "-o", dir + "/offline.pcapng"});
  ASSERT_EQ(conv.status, 0) << conv.err;
  EXPECT_NE(conv.err.find("5 packets written"), std::string::npos) << conv.err;
  std::string a = tshark_view(dir + "/live.pcapng"), b = tshark_view(dir + "/offline.pcapng");
  EXPECT_GT(std::count(a.begin(), a.end(), '\n'), 20) << a;
  EXPECT_EQ(a, b);

  // dropwatch print --filter: the events the live filter let through.
  std::vector<json> live_evs = parse_events(live->stdout_lines());
  for (const auto& e : live_evs)
    EXPECT_EQ(e.value("packet", "").size(), (e["capture_len"].get<size_t>() + 2) / 3 * 4)
        << "--packet-data on stdout: " << e.dump();
  std::set<std::string> live_pkts = packets(live_evs);
  EXPECT_EQ(live_pkts.size(), 4u) << "two SYNs, the IPv6 datagram, the port-4413 one";
  CliRun printed =
      run({dropwatch_path(), "print", dir + "/ev.ndjson", "-o", "json", "--filter", narrow});
  ASSERT_EQ(printed.status, 0) << printed.err;
  std::vector<std::string> lines;
  std::istringstream in(printed.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  EXPECT_EQ(packets(parse_events(lines)), live_pkts);

  // As text: one header line per event, the reason in it.
  CliRun text =
      run({dropwatch_path(), "print", dir + "/ev.ndjson", "--no-stack", "--filter", "ip6"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(std::count(text.out.begin(), text.out.end(), '\n'), 4) << text.out;
  EXPECT_NE(text.out.find("drop (reason NO_SOCKET) at tcp_v6_rcv+0x"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("fd00:42::1."), std::string::npos) << text.out;
  sh("rm -rf " + dir);
}

TEST(Storage, RotationKeepsARingOfFiles) {
  NetnsPair ns("dwr");
  ASSERT_TRUE(ns.ok());
  std::string dir = std::string(DW_BUILD_DIR) + "/test-rotation";
  sh("rm -rf " + dir + " && mkdir -p " + dir);
  std::string why;
  // Events are ~1.3 KB with stacks and packet bytes: one or two a file.
  auto dw = start_dropwatch({"--filter", "udp port 4421", "-o", "json", "--output-file",
                             dir + "/ev", "-C", "1k", "-W", "3"},
                            &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-store", [] {
    for (int i = 0; i < 12; i++) send_udp(NetnsPair::kAddrB, 4421);
    return 0;
  });
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline &&
         dw->stderr_text().find("events lost") == std::string::npos) {
    std::string ls = shell_output("cat " + dir + "/ev? 2>/dev/null | wc -l");
    if (std::stoi(ls.empty() ? "0" : ls) >= 3) break;
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(1s);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  EXPECT_EQ(shell_output("ls " + dir), "ev0\nev1\nev2\n");
  std::vector<json> evs;
  for (const char* n : {"/ev0", "/ev1", "/ev2"}) {
    auto part = read_events(dir + n);
    EXPECT_FALSE(part.empty()) << n;
    evs.insert(evs.end(), part.begin(), part.end());
  }
  EXPECT_LT(evs.size(), 12u) << "the ring keeps the newest only";
  EXPECT_NE(dw->stderr_text().find(" 0 lost, 12 written"), std::string::npos) << dw->stderr_text();
  EXPECT_NE(dw->stderr_text().find("12 events written to " + dir + "/ev ("), std::string::npos)
      << dw->stderr_text();
  // The newest event is in the file written last.
  std::set<std::string> ts = timestamps(evs);
  std::string last = *ts.rbegin();
  std::string current = dw->stderr_text().substr(dw->stderr_text().find("the last ") + 9);
  current = current.substr(0, current.find(')'));
  EXPECT_EQ(timestamps(read_events(current)).count(last), 1u) << current;
  sh("rm -rf " + dir);
}

TEST(Storage, MalformedLinesAreReportedWithTheirNumberAndTheRestIsRead) {
  std::string dir = std::string(DW_BUILD_DIR) + "/test-malformed";
  sh("rm -rf " + dir + " && mkdir -p " + dir);
  DropEvent e;
  e.realtime_ns = 1781944212123456789;
  e.reason = "NO_SOCKET";
  e.location = "tcp_v4_rcv+0x91";
  e.packet = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
  e.wire_len = 20;
  std::string good;
  format_json(e, good, true);
  std::ofstream(dir + "/ev.ndjson") << good << "{\"truncated\n"
                                    << good << "\n"
                                    << good.substr(0, 40);
  CliRun r = run({dropwatch_path(), "print", dir + "/ev.ndjson", "--filter", "host 10.0.0.2"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4) << "both good events:\n" << r.out;
  EXPECT_NE(r.err.find(dir + "/ev.ndjson:2: not JSON"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dir + "/ev.ndjson:5: not JSON"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 events read, 2 printed, 2 lines not events"), std::string::npos) << r.err;

  CliRun none = run({dropwatch_path(), "pcap", dir + "/ev.ndjson", "-o", dir + "/x.pcapng",
                     "--filter", "host 10.9.9.9"});
  EXPECT_EQ(none.status, 1) << none.err;
  EXPECT_NE(none.err.find("(removed: empty)"), std::string::npos) << none.err;
  struct stat st;
  EXPECT_NE(stat((dir + "/x.pcapng").c_str(), &st), 0) << "no empty capture left";

  CliRun bad = run({dropwatch_path(), "print", dir + "/ev.ndjson", "--filter", "host 10.0.0.300"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("^"), std::string::npos) << bad.err;
  CliRun missing = run({dropwatch_path(), "print", dir + "/nope.ndjson"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("cannot read " + dir + "/nope.ndjson"), std::string::npos);
  sh("rm -rf " + dir);
}

TEST(Storage, AFullDiskStopsDropwatchAndCountsTheLoss) {
  NetnsPair ns("dwf");
  ASSERT_TRUE(ns.ok());
  std::string why;
  auto dw = start_dropwatch(
      {"--filter", "udp port 4431", "-o", "json", "--output-file", "/dev/full"}, &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-store", [] {
    for (int i = 0; i < 5; i++) send_udp(NetnsPair::kAddrB, 4431);
    return 0;
  });
  int rc = dw->wait(10s);
  EXPECT_EQ(rc, 1) << dw->stderr_text();
  std::string err = dw->stderr_text();
  EXPECT_NE(err.find("cannot write /dev/full: No space left on device"), std::string::npos) << err;
  EXPECT_NE(err.find("events could not be written"), std::string::npos) << err;
  EXPECT_TRUE(dw->stdout_lines().empty());
  EXPECT_TRUE(no_programs_left("dw_"));
}

}  // namespace
}  // namespace dw::test

namespace dw::test {
namespace {

// A real full disk: a 64 KiB tmpfs. What was written before stays readable,
// the rest is counted.
TEST(Storage, AFullFilesystemKeepsWhatWasWrittenAndCountsTheRest) {
  NetnsPair ns("dwt");
  ASSERT_TRUE(ns.ok());
  std::string dir = std::string(DW_BUILD_DIR) + "/test-full-fs";
  sh("umount " + dir + " 2>/dev/null; rm -rf " + dir + " && mkdir -p " + dir);
  ASSERT_EQ(sh("mount -t tmpfs -o size=64k dwtest " + dir), 0);
  struct Case {
    std::vector<std::string> args;
    std::string file, unit;
  };
  const Case cases[] = {
      {{"-w", dir + "/drops.pcapng"}, dir + "/drops.pcapng", "packets"},
      {{"-o", "json", "--output-file", dir + "/drops.ndjson"}, dir + "/drops.ndjson", "events"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    std::vector<std::string> args = {"--filter", "udp port 4441", "-s", "4096", "--no-stack"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    std::string why;
    auto dw = start_dropwatch(args, &why);
    ASSERT_TRUE(dw) << why;
    run_in_netns(ns.a(), "dw-store", [] {
      for (int i = 0; i < 80; i++) {
        send_udp(NetnsPair::kAddrB, 4441, std::string(1400, 'z'));
        usleep(2000);
      }
      return 0;
    });
    EXPECT_EQ(dw->wait(10s), 1) << dw->stderr_text();
    std::string err = dw->stderr_text();
    EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
    EXPECT_NE(err.find(c.unit + " could not be written"), std::string::npos) << err;
    size_t at = err.find(" " + c.unit + " written to " + c.file);
    ASSERT_NE(at, std::string::npos) << err;
    unsigned long long written = std::stoull(err.substr(err.rfind(' ', at - 1) + 1));
    EXPECT_GT(written, 10u) << err;
    EXPECT_LT(written, 80u) << err;
    // Everything reported as written is in the file, readable.
    unsigned long long in_file;
    if (c.unit == "packets") {
      in_file = std::stoull(shell_output("tshark -r " + c.file + " 2>/dev/null | wc -l"));
    } else {
      in_file = 0;
      for (const auto& e : read_events(c.file)) in_file += e.contains("packet");
    }
    EXPECT_EQ(in_file, written) << "the file ends on a whole record";
    sh("rm -f " + c.file);
  }
  sh("umount " + dir + "; rm -rf " + dir);
  EXPECT_TRUE(no_programs_left("dw_"));
}

}  // namespace
}  // namespace dw::test

namespace dw::test {
namespace {

// --summary: 200 datagrams to a closed port and 20 to an nft-dropped one;
// the tables count them by reason, location and device.
TEST(Summary, TablesCountTheDropsOfAStorm) {
  NetnsPair ns("dwy");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.b(), "input", "udp dport 4452"), 0);
  std::string why;
  auto dw = start_dropwatch(
      {"--filter", "udp port 4451 or udp port 4452", "--summary", "1", "--top", "5"}, &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-storm", [] {
    for (int i = 0; i < 200; i++) send_udp(NetnsPair::kAddrB, 4451);
    for (int i = 0; i < 20; i++) send_udp(NetnsPair::kAddrB, 4452);
    return 0;
  });
  std::this_thread::sleep_for(2500ms);  // two intervals or more; events arrive in ~0.1 s
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  std::vector<std::string> lines = dw->stdout_lines();
  std::string dev = "dwb0 netns " + std::to_string(ns.inode_b());
  // The whole-run table is the last one.
  size_t title = lines.size();
  for (size_t i = 0; i < lines.size(); i++)
    if (lines[i].find("whole run") != std::string::npos) title = i;
  ASSERT_LT(title + 3, lines.size() + 1) << testing::PrintToString(lines);
  EXPECT_NE(lines[title].find(", 220 drops"), std::string::npos) << lines[title];
  ASSERT_EQ(lines.size(), title + 4) << "title, header, two rows:\n"
                                     << testing::PrintToString(lines);
  EXPECT_TRUE(lines[title + 2].starts_with("       200 ")) << lines[title + 2];
  EXPECT_NE(lines[title + 2].find("NO_SOCKET"), std::string::npos) << lines[title + 2];
  EXPECT_NE(lines[title + 2].find("__udp4_lib_rcv+0x"), std::string::npos) << lines[title + 2];
  EXPECT_TRUE(lines[title + 2].ends_with(dev)) << lines[title + 2];
  EXPECT_TRUE(lines[title + 3].starts_with("        20 ")) << lines[title + 3];
  EXPECT_NE(lines[title + 3].find("NETFILTER_DROP"), std::string::npos) << lines[title + 3];
  // Interval tables came first, and no event lines were printed.
  EXPECT_GE(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) { return l.find("-- ") == 0; }),
            2);
  for (const auto& l : lines) EXPECT_NE(l.front(), '{') << "an event was printed: " << l;
}

// dropwatch summary: the events stored by a live run give, read back by an
// unprivileged user on their own, the table the live run printed at exit.
TEST(Summary, StoredEventsGiveTheSameTableWithoutRoot) {
  NetnsPair ns("dwyo");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.b(), "input", "udp dport 4454"), 0);
  std::string file = "/tmp/dw-summary-" + std::to_string(getpid()) + ".ndjson";
  std::string why;
  auto dw = start_dropwatch({"--filter", "udp port 4453 or udp port 4454", "--summary", "1000",
                             "--output-file", file, "--no-stack"},
                            &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-stored", [] {
    for (int i = 0; i < 30; i++) send_udp(NetnsPair::kAddrB, 4453);
    for (int i = 0; i < 7; i++) send_udp(NetnsPair::kAddrB, 4454);
    return 0;
  });
  std::this_thread::sleep_for(1s);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  // The live whole-run table's rows (after its title and header).
  std::vector<std::string> live = dw->stdout_lines();
  auto title = std::find_if(live.begin(), live.end(), [](const std::string& l) {
    return l.find("whole run") != std::string::npos;
  });
  ASSERT_NE(title, live.end()) << testing::PrintToString(live);
  std::vector<std::string> live_rows(title + 2, live.end());
  ASSERT_EQ(live_rows.size(), 2u) << testing::PrintToString(live);
  // Rates differ (the live run's span is its own): compare counts and keys.
  auto without_rate = [](const std::string& row) {
    std::istringstream in(row);
    std::string drops, rate, rest;
    in >> drops >> rate;
    std::getline(in, rest);
    return drops + rest;
  };
  sh("chmod 644 " + file);
  Process offline({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                   "--inh-caps=-all", "--bounding-set=-all", dropwatch_for_other_users(), "summary",
                   file});
  ASSERT_EQ(offline.wait(20s), 0) << offline.stderr_text();
  std::vector<std::string> rows = offline.stdout_lines();
  ASSERT_EQ(rows.size(), 4u) << testing::PrintToString(rows);
  EXPECT_TRUE(rows[0].starts_with("-- drops by reason, location and device: 1 file, ")) << rows[0];
  EXPECT_TRUE(rows[0].ends_with(", 37 drops")) << rows[0];
  EXPECT_EQ(without_rate(rows[2]), without_rate(live_rows[0]));
  EXPECT_EQ(without_rate(rows[3]), without_rate(live_rows[1]));
  EXPECT_NE(offline.stderr_text().find("37 events read, 37 counted"), std::string::npos)
      << offline.stderr_text();
  // --filter as print and pcap take it, --top as the live table.
  Process filtered(
      {dropwatch_path(), "summary", file, "--filter", "udp dst port 4454", "--top", "1"});
  ASSERT_EQ(filtered.wait(20s), 0) << filtered.stderr_text();
  rows = filtered.stdout_lines();
  ASSERT_EQ(rows.size(), 3u) << testing::PrintToString(rows);
  EXPECT_TRUE(rows[0].ends_with(", 7 drops")) << rows[0];
  EXPECT_NE(rows[2].find("NETFILTER_DROP"), std::string::npos) << rows[2];
  unlink(file.c_str());
}

}  // namespace
}  // namespace dw::test
