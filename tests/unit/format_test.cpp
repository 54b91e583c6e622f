#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "events/format.h"
#include "events/json.h"
#include "events/text.h"
#include "tests/support/packet_builder.h"

namespace dw::events {
namespace {

struct EscapeCase {
  std::string in, out;
};

TEST(Json, Escaping) {
  const EscapeCase cases[] = {
      {"nginx", R"("nginx")"},
      {"a\"b\\c", R"("a\"b\\c")"},
      {"tab\there\nnl", R"("tab\there\nnl")"},
      {std::string("\x01\x1f\x7f", 3), R"("\u0001\u001f\u007f")"},
      {"caf\xc3\xa9", "\"caf\xc3\xa9\""},           // valid UTF-8 kept
      {"\xe2\x82\xac", "\"\xe2\x82\xac\""},         // euro sign
      {"bad\xff", R"("bad\ufffd")"},                // invalid byte
      {"\xc3", R"("\ufffd")"},                      // cut sequence
      {"\xc0\xaf", R"("\ufffd\ufffd")"},            // overlong
      {"\xed\xa0\x80", R"("\ufffd\ufffd\ufffd")"},  // surrogate
      {std::string("nul\0x", 5), R"("nul\u0000x")"},
      {"ab\"cd\\ef\x01gh\xc3\xa9ij\x7f", R"("ab\"cd\\ef\u0001gh)"
                                         "\xc3\xa9"
                                         R"(ij\u007f")"},  // runs between escapes
      {"", R"("")"},
  };
  for (const auto& c : cases) {
    std::string out;
    json::append_string(out, c.in);
    EXPECT_EQ(out, c.out);
    EXPECT_TRUE(nlohmann::json::accept(out)) << out;
  }
}

DropEvent sample_event() {
  DropEvent e;
  e.realtime_ns = 1781944212123456789;  // 2026-06-20T08:30:12.123456789Z
  e.comm = std::string("we\"ird\n\xff", 8);
  e.pid = 4521;
  e.tid = 4522;
  e.cpu = 1;
  e.reason_code = 3;
  e.reason = "NO_SOCKET";
  e.reason_subsys = "core";
  e.location = "tcp_v4_rcv+0x91";
  e.netns = 4026532345;
  e.ifindex = 2;
  e.ifname = "veth0";
  e.dev_flags = 0x1003;  // UP|BROADCAST|MULTICAST
  e.operstate = 6;
  e.eth_proto = 0x0800;
  e.wire_len = 74;
  e.packet = test::Frame().eth(0x0800).ipv4("10.0.42.1", "10.0.42.2", 6, 20).tcp(52414, 443, 2, 5);
  e.link = LinkType::Ethernet;
  e.layers = decode_packet(e.packet, LinkType::Ethernet);
  e.stack = {"tcp_v4_rcv+0x91", "ip_protocol_deliver_rcu+0x28"};
  return e;
}

TEST(Json, EventHasHuatuoFieldsAndOurs) {
  std::string line;
  format_json(sample_event(), line);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per event";
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["observed_timestamp"], "2026-06-20T08:30:12.123456789Z");
  EXPECT_EQ(j["comm"], "we\"ird\n\xef\xbf\xbd");
  EXPECT_EQ(j["pid"], 4521);
  EXPECT_EQ(j["reason"], "NO_SOCKET");
  EXPECT_EQ(j["reason_code"], 3);
  EXPECT_EQ(j["reason_subsys"], "core");
  EXPECT_EQ(j["location"], "tcp_v4_rcv+0x91");
  EXPECT_EQ(j["netns"], 4026532345u);
  EXPECT_EQ(j["netdev_name"], "veth0");
  EXPECT_EQ(j["netdev_linkstatus"],
            nlohmann::json({"up", "broadcast", "multicast", "running", "lower_up"}));
  EXPECT_EQ(j["packet_eth_proto"], "0x0800");
  EXPECT_EQ(j["packet_len"], 74);
  EXPECT_EQ(j["capture_len"], 54);
  EXPECT_EQ(j["layers"]["label"], "IPv4/TCP");
  EXPECT_EQ(j["layers"]["ether"]["type"], "IPv4");
  EXPECT_EQ(j["layers"]["ipv4"]["src"], "10.0.42.1");
  EXPECT_EQ(j["layers"]["ipv4"]["protocol"], "TCP");
  EXPECT_EQ(j["layers"]["tcp"]["dport"], 443);
  EXPECT_EQ(j["layers"]["tcp"]["flags"], "SYN");
  EXPECT_FALSE(j["layers"].contains("udp")) << "missing layers are omitted";
  EXPECT_FALSE(j["layers"]["tcp"].contains("sk_state")) << "no socket, no state";
  EXPECT_EQ(j["stack"], "tcp_v4_rcv+0x91\nip_protocol_deliver_rcu+0x28");
}

TEST(Json, SocketStateAndNoDevice) {
  DropEvent e = sample_event();
  e.has_sk = true;
  e.sk_protocol = 6;
  e.sk_state = 2;
  e.ifindex = 0;
  e.stack.clear();
  std::string line;
  format_json(e, line);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["layers"]["tcp"]["sk_state"], "SYN_SENT");
  EXPECT_FALSE(j.contains("netdev_name"));
  EXPECT_FALSE(j.contains("stack")) << "--no-stack leaves the field out";
}

TEST(Text, HeaderPacketAndStack) {
  std::string out;
  DropEvent e = sample_event();
  e.comm = "nc";
  format_text(e, out);
  EXPECT_NE(out.find("[nc] 4521 cpu 1 drop (reason NO_SOCKET) at tcp_v4_rcv+0x91\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\n  if 2 (veth0) netns 4026532345 10.0.42.1.52414 > 10.0.42.2.443 ttl 64 "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("proto TCP (6) flags [S] seq 5 win 64240\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n    tcp_v4_rcv+0x91\n    ip_protocol_deliver_rcu+0x28\n"),
            std::string::npos)
      << out;
}

// An unprivileged process names itself with terminal escapes and gets a
// packet dropped: the text reaching root's terminal must carry none of them.
TEST(Text, KernelStringsReachTheTerminalEscaped) {
  DropEvent e = sample_event();
  e.comm = "\x1b]0;PWNED\a\x1b[2J";
  e.ifname = "ev\x1b[1mil";
  e.reason = "NO\rSOCKET";
  e.location =
      "f\x9b"
      "1m+0x1";  // C1 CSI, as a single byte
  e.stack = {"tcp_v4_rcv+0x91", "\x1b[31mred"};
  std::string out;
  format_text(e, out);
  for (char c : out) {
    auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(c == '\n' || (u >= 0x20 && u < 0x7f)) << "raw byte " << int(u) << " in:\n" << out;
  }
  EXPECT_NE(out.find("[\\x1b]0;PWNED\\x07\\x1b[2J]"), std::string::npos) << out;
  EXPECT_NE(out.find("(ev\\x1b[1mil)"), std::string::npos) << out;
  EXPECT_NE(out.find("reason NO\\x0dSOCKET"), std::string::npos) << out;
  EXPECT_NE(out.find("at f\\x9b1m+0x1"), std::string::npos) << out;
  EXPECT_NE(out.find("    \\x1b[31mred\n"), std::string::npos) << out;
  EXPECT_EQ(escaped("plain name-0.1_x"), "plain name-0.1_x");
  EXPECT_EQ(escaped("back\\slash"), "back\\x5cslash") << "so an escape cannot be forged";
}

// Long kernel strings (module symbols) make long lines: never cut, always
// ended.
TEST(Text, LongLinesAreWholeAndEnded) {
  DropEvent e = sample_event();
  e.location = std::string(300, 'f') + "+0x1 [some_module]";
  std::string out;
  format_text(e, out, false);
  size_t nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(out.substr(nl - 18, 18), "+0x1 [some_module]") << out;
  std::string big;
  appendf(big, "%s|%d", std::string(1000, 'x').c_str(), 7);
  EXPECT_EQ(big.size(), 1002u);
  EXPECT_EQ(big.substr(998), "xx|7");
}

}  // namespace
}  // namespace dw::events
