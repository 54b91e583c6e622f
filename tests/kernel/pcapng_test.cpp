// dropwatch -w: real drops written as pcapng and read back by tshark, the
// reference reader, field by field against the events dropwatch printed.
#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <thread>

#include "tests/support/bpf_programs.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

uint16_t dport_of(const json& e) {
  const json& l = e["layers"];
  if (l.contains("tcp")) return l["tcp"]["dport"];
  if (l.contains("udp")) return l["udp"]["dport"];
  return 0;
}

// Two receivers' drops (Ethernet frames, IPv4 and IPv6), one sender's drop
// in its output path (a raw IP packet: no MAC header yet) and one packet
// longer than the snap length.
TEST(Pcapng, TsharkReadsEveryDropWithItsReasonAndLengths) {
  NetnsPair ns("dwg");
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(nft_drop(ns.a(), "output", "udp dport 4403"), 0);
  std::string path = std::string(DW_BUILD_DIR) + "/test-drops.pcapng";
  std::remove(path.c_str());

  std::string why;
  auto dw = start_dropwatch({"-w", path, "--print", "--output", "json", "--no-stack", "-s", "128",
                             "--filter", "port 4401 or port 4402 or port 4403"},
                            &why);
  ASSERT_TRUE(dw) << why;
  int rc = run_in_netns(ns.a(), "dw-pcap", [] {
    int bad = 0;
    bad += send_tcp_syn(NetnsPair::kAddrB, 4401) != 0;
    bad += send_udp(NetnsPair::kAddr6B, 4402) != 0;
    bad += send_udp(NetnsPair::kAddrB, 4402, std::string(1000, 'x')) != 0;
    send_udp(NetnsPair::kAddrB, 4403);  // fails with EPERM: nft dropped it
    return bad;
  });
  ASSERT_EQ(rc, 0);
  dw->wait_stdout([](const std::vector<std::string>& l) { return l.size() >= 4; }, 10s);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  std::vector<json> evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 4u) << dw->stderr_text();
  EXPECT_NE(dw->stderr_text().find("4 packets written to " + path), std::string::npos)
      << dw->stderr_text();

  std::string out = shell_output("tshark -n -r " + path +
                                 " -T fields -E separator=/t -e frame.interface_name -e frame.len"
                                 " -e frame.cap_len -e frame.time_epoch -e frame.comment -e ip.src"
                                 " -e ipv6.src -e tcp.dstport -e udp.dstport 2>/dev/null");
  std::vector<std::string> lines = split(out, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  ASSERT_EQ(lines.size(), evs.size()) << "one frame per event:\n" << out;

  int raw = 0, truncated = 0;
  for (size_t i = 0; i < evs.size(); i++) {
    const json& e = evs[i];
    SCOPED_TRACE(e.dump());
    auto f = split(lines[i], '\t');
    ASSERT_EQ(f.size(), 9u) << lines[i];
    std::string dport = f[7].empty() ? f[8] : f[7];
    EXPECT_EQ(dport, std::to_string(dport_of(e))) << "tshark decodes the transport header";
    EXPECT_EQ(f[1], std::to_string(e["packet_len"].get<int>()));
    EXPECT_EQ(f[2], std::to_string(e["capture_len"].get<int>()));
    // The nanoseconds of the event time are the frame's.
    std::string ts = e["observed_timestamp"];
    std::string ns9 = ts.substr(ts.find('.') + 1, 9);
    EXPECT_EQ(f[3].substr(f[3].find('.') + 1), ns9);
    std::string reason = e["reason"], location = e["location"];
    EXPECT_TRUE(f[4].starts_with(reason + " at " + location + " comm dw-pcap pid ")) << f[4];
    std::string src = f[5].empty() ? f[6] : f[5];
    EXPECT_TRUE(src == NetnsPair::kAddrA || src == NetnsPair::kAddr6A) << src;
    if (dport_of(e) == 4403) {
      raw++;
      EXPECT_EQ(reason, "NETFILTER_DROP");
      EXPECT_FALSE(e["layers"].contains("ether")) << "raw IP: no made-up Ethernet header";
      EXPECT_EQ(e["packet_len"], 20 + 8 + 9);
    } else {
      EXPECT_EQ(reason, "NO_SOCKET");
      EXPECT_EQ(f[0], "dwb0");
    }
    if (e["packet_len"] == 14 + 20 + 8 + 1000) {
      truncated++;
      EXPECT_EQ(f[2], "128");
    }
  }
  EXPECT_EQ(raw, 1);
  EXPECT_EQ(truncated, 1);
  // Interface blocks: one per (namespace, device, link type), link types as written.
  std::string ifaces = shell_output("tshark -n -r " + path +
                                    " -T fields -e frame.interface_id"
                                    " -e frame.encap_type 2>/dev/null | sort -u");
  EXPECT_EQ(std::count(ifaces.begin(), ifaces.end(), '\n'), 2) << ifaces;
  EXPECT_NE(ifaces.find("\t1\n"), std::string::npos) << "Ethernet (encap 1)\n" << ifaces;
  EXPECT_NE(ifaces.find("\t7\n"), std::string::npos) << "raw IP (encap 7)\n" << ifaces;
  std::remove(path.c_str());
}

// A file holding Ethernet frames only is read by tcpdump too (libpcap 1.10
// reads pcapng files with one link type).
TEST(Pcapng, TcpdumpReadsAnEthernetCapture) {
  NetnsPair ns("dwh");
  ASSERT_TRUE(ns.ok());
  std::string path = std::string(DW_BUILD_DIR) + "/test-eth.pcapng";
  std::remove(path.c_str());
  std::string why;
  auto dw = start_dropwatch({"-w", path, "--no-stack", "--filter", "udp port 4404"}, &why);
  ASSERT_TRUE(dw) << why;
  int rc = run_in_netns(ns.a(), "dw-pcap", [] {
    return send_udp(NetnsPair::kAddrB, 4404) + send_udp(NetnsPair::kAddr6B, 4404);
  });
  ASSERT_EQ(rc, 0);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string out;
  while (std::chrono::steady_clock::now() < deadline) {
    out = shell_output("tcpdump -nn -r " + path + " 2>/dev/null");
    if (std::count(out.begin(), out.end(), '\n') >= 2) break;
    std::this_thread::sleep_for(100ms);
  }
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  EXPECT_TRUE(dw->stdout_lines().empty()) << "-w without --print prints no events";
  out = shell_output("tcpdump -nn -r " + path + " 2>&1");
  EXPECT_NE(out.find("link-type EN10MB"), std::string::npos) << out;
  EXPECT_NE(out.find("IP 10.0.42.1."), std::string::npos) << out;
  EXPECT_NE(out.find("> 10.0.42.2.4404: UDP, length 9"), std::string::npos) << out;
  EXPECT_NE(out.find("IP6 fd00:42::1."), std::string::npos) << out;
  std::remove(path.c_str());
}

TEST(Pcapng, NothingMatchedLeavesNoFile) {
  std::string path = std::string(DW_BUILD_DIR) + "/test-empty.pcapng";
  std::remove(path.c_str());
  std::string why;
  auto dw = start_dropwatch({"-w", path, "--filter", "udp port 1 and udp port 2"}, &why);
  ASSERT_TRUE(dw) << why;
  EXPECT_TRUE(exists(path)) << "opened before attaching";
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  EXPECT_FALSE(exists(path));
  EXPECT_NE(dw->stderr_text().find("0 packets written to " + path + " (removed: empty)"),
            std::string::npos)
      << dw->stderr_text();
}

TEST(Pcapng, UnwritablePathFailsBeforeAttaching) {
  for (const char* flag : {"-w", "--output-file"}) {
    Process p({dropwatch_path(), flag, "/nonexistent-dir/drops"});
    EXPECT_EQ(p.wait(20s), 2) << flag;
    EXPECT_NE(p.stderr_text().find("cannot write /nonexistent-dir/drops: No such file"),
              std::string::npos)
        << p.stderr_text();
    EXPECT_EQ(p.stderr_text().find("watching"), std::string::npos) << "never attached";
  }
  EXPECT_TRUE(no_programs_left("dw_"));
}

}  // namespace
}  // namespace dw::test
