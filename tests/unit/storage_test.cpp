// Stored events: base64, the NDJSON reader (format_json's inverse), the
// rotating --output-file, tcpdump's -C sizes.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "bpf/dropwatch_abi.h"
#include "events/base64.h"
#include "events/event_json.h"
#include "events/format.h"
#include "events/output_file.h"
#include "events/record_stream.h"
#include "events/summary.h"
#include "tests/support/packet_builder.h"

namespace dw::events {
namespace {

// A conntrack tuple with ports (no ICMP fields).
CtTuple port_tuple(std::string src, std::string dst, uint8_t proto, uint16_t sport,
                   uint16_t dport) {
  CtTuple t;
  t.src = std::move(src);
  t.dst = std::move(dst);
  t.proto = proto;
  t.sport = sport;
  t.dport = dport;
  return t;
}

struct B64Case {
  std::string raw, text;
};

TEST(Base64, Rfc4648Vectors) {
  const B64Case cases[] = {{"", ""},
                           {"f", "Zg=="},
                           {"fo", "Zm8="},
                           {"foo", "Zm9v"},
                           {"foob", "Zm9vYg=="},
                           {"fooba", "Zm9vYmE="},
                           {"foobar", "Zm9vYmFy"},
                           {"\xff\xfe\x00", "//4A"}};
  for (const auto& c : cases) {
    std::vector<uint8_t> raw(c.raw.begin(), c.raw.end());
    if (c.text == "//4A") raw = {0xff, 0xfe, 0x00};
    std::string out;
    base64_append(raw, out);
    EXPECT_EQ(out, c.text);
    auto back = base64_decode(c.text);
    ASSERT_TRUE(back) << c.text;
    EXPECT_EQ(*back, raw);
  }
}

TEST(Base64, RejectsWhatIsNotBase64) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v!A==", "Zg==Zg==", "Z=g=", "Zm 9"})
    EXPECT_FALSE(base64_decode(bad)) << bad;
}

TEST(Rfc3339, ParsesWhatFormatJsonWrites) {
  for (int64_t ns : {int64_t(0), int64_t(1781944212123456789), int64_t(1795313028716453365)}) {
    std::string s = rfc3339_utc(ns);
    auto back = parse_rfc3339_utc(s);
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, ns) << s;
  }
  // Years 0000 and 9999 would overflow the nanoseconds (signed overflow,
  // a negative fraction when printed): outside 1970..2261 is not a time.
  for (const char* bad :
       {"2026-06-20T08:30:12Z", "2026-06-20T08:30:12.123456789", "2026-06-20 08:30:12.123456789Z",
        "x", "", "0000-01-01T00:00:00.000000000Z", "9999-12-31T23:59:59.999999999Z",
        "1969-12-31T23:59:59.999999999Z", "2026-13-01T00:00:00.000000000Z",
        "2026-06-20T08:30:12.-12345678Z"})
    EXPECT_FALSE(parse_rfc3339_utc(bad)) << bad;
}

DropEvent sample(bool link_level) {
  DropEvent e;
  e.realtime_ns = 1781944212123456789;
  e.comm = "curl";
  if (link_level) e.task_id = "run-42 (eu-west)";
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
  e.eth_proto = 0x0800;
  if (link_level) {
    e.packet =
        test::Frame().eth(0x0800).ipv4("10.0.42.1", "10.0.42.2", 6, 20).tcp(52414, 443, 2, 5);
  } else {
    e.packet = test::Frame().ipv4("10.0.42.1", "10.0.42.2", 17, 8).udp(5353, 53, 0);
  }
  e.wire_len = e.packet.size() + 100;
  e.link = link_level ? LinkType::Ethernet : LinkType::RawIp;
  e.layers = decode_packet(e.packet, link_level ? LinkType::Ethernet : LinkType::RawIp);
  e.stack = {"tcp_v4_rcv+0x91", "ip_protocol_deliver_rcu+0x28"};
  if (link_level) {
    CtTuple orig = port_tuple("10.0.42.1", "10.0.42.99", 6, 40000, 80);
    CtTuple reply = port_tuple("10.0.42.2", "10.0.42.1", 6, 8080, 40000);
    e.ct = Conntrack{"NEW", {"CONFIRMED", "DST_NAT"}, 3, 0x2a, orig, reply};
    e.path = {{"net:net_dev_queue", "veth1", 5, 4026532001, 41000},
              {"net:netif_receive_skb", "veth0", 2, 4026532345, 9000}};
    e.path_truncated = 2;
  } else {
    e.ct = Conntrack{"UNTRACKED", {}, 0, 0, {}, {}};
  }
  return e;
}

TEST(EventJson, RoundTripGivesTheSameTextAndJson) {
  for (bool link : {true, false}) {
    DropEvent e = sample(link);
    std::string line;
    format_json(e, line, true);
    auto back = parse_event_json(line);
    ASSERT_TRUE(back) << back.error().message << "\n" << line;
    EXPECT_EQ(back->packet, e.packet);
    EXPECT_EQ(back->link == LinkType::Ethernet, link);
    EXPECT_EQ(back->wire_len, e.wire_len);
    EXPECT_EQ(back->stack, e.stack);
    EXPECT_EQ(back->ct, e.ct);
    EXPECT_EQ(back->path, e.path);
    EXPECT_EQ(back->path_truncated, e.path_truncated);
    std::string t1, t2, j2;
    format_text(e, t1);
    format_text(*back, t2);
    EXPECT_EQ(t1, t2);
    format_json(*back, j2, true);
    // Only the link status is not stored (flags and operstate are not in the JSON).
    EXPECT_EQ(j2, line);
  }
}

// The probe's dw_ct as the kernel fills it: addresses by family, ports in
// network order for port protocols, ICMP id/type/code for ICMP.
dw_ct_tuple raw_tuple(int family, const char* src, const char* dst, uint8_t proto, uint16_t su,
                      uint16_t du) {
  dw_ct_tuple t{};
  inet_pton(family, src, t.src);
  inet_pton(family, dst, t.dst);
  t.l3num = uint16_t(family);
  t.protonum = proto;
  t.src_u = su;
  t.dst_u = du;
  return t;
}

TEST(Conntrack, DecodedFromTheProbesRecord) {
  dw_ct nat{};
  nat.ctinfo = 2;
  nat.status = 0x128;  // CONFIRMED | DST_NAT | DST_NAT_DONE
  nat.zone = 7;
  nat.mark = 0x10;
  nat.orig = raw_tuple(AF_INET, "10.0.42.1", "10.0.42.99", 6, htons(40000), htons(80));
  nat.reply = raw_tuple(AF_INET, "10.0.42.2", "10.0.42.1", 6, htons(8080), htons(40000));
  Conntrack c = decode_ct(nat);
  EXPECT_EQ(c.state, "NEW");
  EXPECT_EQ(c.status, (std::vector<std::string>{"CONFIRMED", "DST_NAT", "DST_NAT_DONE"}));
  EXPECT_EQ(c.zone, 7);
  EXPECT_EQ(c.mark, 0x10u);
  ASSERT_TRUE(c.orig && c.reply);
  EXPECT_EQ(*c.orig, port_tuple("10.0.42.1", "10.0.42.99", 6, 40000, 80));
  EXPECT_EQ(*c.reply, port_tuple("10.0.42.2", "10.0.42.1", 6, 8080, 40000));
  EXPECT_EQ(ct_text(c),
            "ct NEW [CONFIRMED,DST_NAT,DST_NAT_DONE] zone 7 mark 16 TCP orig 10.0.42.1.40000 > "
            "10.0.42.99.80 reply 10.0.42.2.8080 > 10.0.42.1.40000");

  dw_ct ping{};
  ping.ctinfo = 3;
  uint8_t type_code[2] = {129, 0};  // echo reply
  uint16_t tc;
  std::memcpy(&tc, type_code, 2);
  ping.orig = raw_tuple(AF_INET6, "fd00:42::1", "fd00:42::2", 58, htons(99), tc);
  ping.reply = ping.orig;
  c = decode_ct(ping);
  EXPECT_EQ(c.state, "REPLY");
  EXPECT_TRUE(c.status.empty());
  ASSERT_TRUE(c.orig);
  EXPECT_EQ(c.orig->src, "fd00:42::1");
  EXPECT_FALSE(c.orig->sport);
  EXPECT_EQ(c.orig->icmp_type, 129);
  EXPECT_EQ(c.orig->icmp_code, 0);
  EXPECT_EQ(c.orig->icmp_id, 99);

  dw_ct gre{};
  gre.orig = raw_tuple(AF_INET, "10.0.0.1", "10.0.0.2", 47, 1, 2);
  gre.reply = gre.orig;
  c = decode_ct(gre);
  EXPECT_EQ(c.state, "ESTABLISHED");
  EXPECT_FALSE(c.orig->sport || c.orig->icmp_type) << "no ports for GRE";

  dw_ct none{};
  none.ctinfo = DW_CT_UNTRACKED;
  c = decode_ct(none);
  EXPECT_EQ(c.state, "UNTRACKED");
  EXPECT_FALSE(c.orig);
  EXPECT_EQ(ct_text(c), "ct UNTRACKED");
  EXPECT_EQ(ct_status_names(1ull << 40), std::vector<std::string>{"BIT40"});
}

struct BadLine {
  std::string line, message;
};

TEST(EventJson, SaysWhatIsWrongWithALine) {
  std::string good;
  format_json(sample(true), good, true);
  good.pop_back();
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const BadLine cases[] = {
      {good.substr(0, good.size() / 2), "not JSON"},
      {"[1,2]", "not a JSON object"},
      {"{}", "no valid \"observed_timestamp\""},
      {with("\"reason\":\"NO_SOCKET\"", "\"reason\":\"\""), "no \"reason\""},
      {with("\"pid\":4521", "\"pid\":\"x\""), "wrong type"},
      {with("\"packet\":\"", "\"packet\":\"!"), "not base64"},
      {with("\"capture_len\":54", "\"capture_len\":53"), "holds 54 bytes"},
      {with("\"packet_link\":\"ether\"", "\"packet_link\":\"sll\""), "not ether or raw"},
      {with("\"proto\":\"TCP\"", "\"proto\":\"XTP\""), "unknown protocol \"XTP\""},
      {with("\"state\":\"NEW\"", "\"stat\":\"NEW\""), "\"ct\" has no \"state\""},
      {with(",\"reply\":{", ",\"rep\":{"), "one tuple of two"},
  };
  for (const auto& c : cases) {
    auto r = parse_event_json(c.line);
    ASSERT_FALSE(r) << c.line;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << r.error().message << " / expected " << c.message;
  }
}

struct SizeCase {
  std::string text;
  std::optional<uint64_t> bytes;
};

TEST(FileSize, TcpdumpUnits) {
  const SizeCase cases[] = {{"1", 1000000},
                            {"100", 100000000},
                            {"1k", 1024},
                            {"2K", 2048},
                            {"3m", 3 << 20},
                            {"1g", 1ull << 30},
                            {"0", std::nullopt},
                            {"", std::nullopt},
                            {"k", std::nullopt},
                            {"1.5", std::nullopt},
                            {"-1", std::nullopt},
                            {"1kb", std::nullopt},
                            {"99999999999", std::nullopt}};
  for (const auto& c : cases) EXPECT_EQ(parse_file_size(c.text), c.bytes) << c.text;
}

class OutputFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dw-output-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string read(const std::string& name) {
    std::ifstream f(dir_ + "/" + name);
    std::stringstream s;
    s << f.rdbuf();
    return f ? s.str() : "<missing>";
  }
  bool exists(const std::string& name) {
    struct stat st;
    return stat((dir_ + "/" + name).c_str(), &st) == 0;
  }
  std::string dir_;
};

TEST_F(OutputFiles, RotateAsTcpdumpDoes) {
  // 4-byte events, a new file once one holds 8 bytes: two events a file.
  auto f = OutputFile::open(dir_ + "/ev", 8, 0);
  ASSERT_TRUE(f);
  for (const char* e : {"aaa\n", "bbb\n", "ccc\n", "ddd\n", "eee\n"}) ASSERT_TRUE(f->add(e));
  f->close(Clock::time_point::max());
  ASSERT_EQ(f->failure(), nullptr);
  EXPECT_EQ(read("ev"), "aaa\nbbb\n");
  EXPECT_EQ(read("ev1"), "ccc\nddd\n");
  EXPECT_EQ(read("ev2"), "eee\n");
  EXPECT_EQ(f->files_started(), 3u);
  EXPECT_EQ(f->written(), 5u);
}

TEST_F(OutputFiles, RingOfCountFilesOverwritesTheOldest) {
  auto f = OutputFile::open(dir_ + "/ev", 4, 10);
  ASSERT_TRUE(f);
  for (int i = 0; i < 12; i++) ASSERT_TRUE(f->add(std::to_string(i % 10) + "..\n"));
  f->close(Clock::time_point::max());
  ASSERT_EQ(f->failure(), nullptr);
  EXPECT_EQ(read("ev0"), "0..\n") << "event 10 overwrote event 0's file";
  EXPECT_EQ(read("ev1"), "1..\n");
  EXPECT_EQ(read("ev2"), "2..\n");
  EXPECT_EQ(read("ev9"), "9..\n");
  EXPECT_FALSE(exists("ev10"));
  EXPECT_FALSE(exists("ev"));
  auto g = OutputFile::open(dir_ + "/w", 4, 100);
  ASSERT_TRUE(g);
  ASSERT_TRUE(g->add("x\n"));
  g->close(Clock::time_point::max());
  EXPECT_EQ(read("w00"), "x\n") << "names padded to the width of COUNT-1";
}

TEST_F(OutputFiles, NothingWrittenLeavesNoFileAndDevicesAreKept) {
  auto f = OutputFile::open(dir_ + "/empty", 0, 0);
  ASSERT_TRUE(f);
  EXPECT_TRUE(exists("empty"));
  f->close(Clock::time_point::max());
  EXPECT_FALSE(exists("empty"));
  auto n = OutputFile::open("/dev/null", 0, 0);
  ASSERT_TRUE(n);
  n->close(Clock::time_point::max());
  struct stat st;
  EXPECT_EQ(stat("/dev/null", &st), 0) << "a device is never removed";
}

TEST_F(OutputFiles, AFullDiskIsCountedNotSilent) {
  auto f = OutputFile::open("/dev/full", 0, 0);
  ASSERT_TRUE(f);
  std::string big(3000, 'x');
  big += '\n';
  bool failed = false;
  for (int i = 0; i < 5 && !failed; i++) failed = !f->add(big) || (f->flush({}), f->failure());
  EXPECT_TRUE(failed);
  f->close(Clock::time_point::max());
  EXPECT_NE(f->failure(), nullptr);
  EXPECT_EQ(f->written(), 0u);
  EXPECT_GE(f->unwritten(), 1u);
  EXPECT_FALSE(f->add("more\n")) << "no write after a failure";
}

TEST_F(OutputFiles, UnwritablePathFailsAtOpen) {
  auto f = OutputFile::open(dir_ + "/no/such/dir/ev", 0, 0);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("No such file or directory"), std::string::npos);
}

}  // namespace
}  // namespace dw::events

namespace dw::events {
namespace {

DropEvent drop(const std::string& reason, const std::string& loc, const std::string& dev) {
  DropEvent e;
  e.reason = reason;
  e.location = loc;
  e.ifname = dev;
  e.ifindex = dev.empty() ? 0 : 2;
  e.netns = 7;
  return e;
}

// Lines of a table after its title line.
std::vector<std::string> rows(const std::string& table) {
  std::vector<std::string> out;
  std::istringstream in(table);
  std::string l;
  std::getline(in, l);  // title
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

TEST(Summary, TopRowsByCountThenTheRest) {
  DropSummary s(2, 0, nullptr);
  for (int i = 0; i < 5; i++) s.add(drop("NO_SOCKET", "tcp_v4_rcv+0x91", "eth0"));
  for (int i = 0; i < 3; i++) s.add(drop("NETFILTER_DROP", "nft_do_chain+0x3e8", "eth0"));
  s.add(drop("NO_SOCKET", "tcp_v4_rcv+0x91", "eth1"));
  s.add(drop("NOT_SPECIFIED", "sk_skb_reason_drop+0x4a", ""));
  std::string t = s.interval(2.0);
  EXPECT_NE(t.find("last 2.0 s, 10 drops"), std::string::npos) << t;
  auto r = rows(t);
  ASSERT_EQ(r.size(), 4u) << t;
  EXPECT_EQ(r[0], "     DROPS    PER SEC  REASON          LOCATION            DEVICE");
  EXPECT_EQ(r[1], "         5        2.5  NO_SOCKET       tcp_v4_rcv+0x91     eth0 netns 7");
  EXPECT_EQ(r[2], "         3        1.5  NETFILTER_DROP  nft_do_chain+0x3e8  eth0 netns 7");
  EXPECT_EQ(r[3], "         2        1.0  (2 more)");
  // A new interval starts empty; the whole run keeps everything.
  s.add(drop("NO_SOCKET", "tcp_v4_rcv+0x91", ""));
  auto next = rows(s.interval(1.0));
  ASSERT_EQ(next.size(), 2u);
  EXPECT_NE(next[1].find("NO_SOCKET  tcp_v4_rcv+0x91  -"), std::string::npos) << next[1];
  std::string all = s.total(11.0);
  EXPECT_NE(all.find("whole run, 11.0 s, 11 drops"), std::string::npos) << all;
  EXPECT_NE(rows(all)[1].find("         5        0.5  NO_SOCKET"), std::string::npos) << all;
}

}  // namespace
}  // namespace dw::events

namespace dw::events {
namespace {

// The output files' opening policy (issue: a link planted in a shared
// directory made dropwatch, as root, truncate and remove its target).
class Streams : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dw-streams-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string path(const std::string& n) const { return dir_ + "/" + n; }
  static void put(const std::string& p, const std::string& text) { std::ofstream(p) << text; }
  static std::string get(const std::string& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  std::string dir_;
};

TEST_F(Streams, ASymbolicLinkIsNotFollowedUnlessAsked) {
  put(path("target"), "precious\n");
  ASSERT_EQ(symlink(path("target").c_str(), path("link").c_str()), 0);
  auto s = RecordStream::open(path("link"));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("symbolic link"), std::string::npos) << s.error().message;
  EXPECT_EQ(get(path("target")), "precious\n") << "the target is untouched";
  OpenOptions follow;
  follow.follow_symlinks = true;
  auto f = RecordStream::open(path("link"), follow);
  ASSERT_TRUE(f) << f.error().message;
  f->add("new\n");
  ASSERT_TRUE(f->close(Clock::now()));
  EXPECT_EQ(get(path("target")), "new\n");
}

TEST_F(Streams, OnlyAFileThisRunCreatedIsRemovedWhenEmpty) {
  auto fresh = RecordStream::open(path("fresh"));
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->created());
  ASSERT_TRUE(fresh->close(Clock::now(), /*remove_if_none=*/true));
  struct stat st;
  EXPECT_NE(stat(path("fresh").c_str(), &st), 0) << "ours, empty: removed";
  put(path("old"), "old contents\n");
  auto old = RecordStream::open(path("old"));
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->created());
  ASSERT_TRUE(old->close(Clock::now(), /*remove_if_none=*/true));
  EXPECT_EQ(stat(path("old").c_str(), &st), 0) << "someone else's: kept";
  EXPECT_EQ(get(path("old")), "") << "truncated as tcpdump -w truncates";
}

TEST_F(Streams, AnInputIsNeverTheOutput) {
  put(path("events"), "an event\n");
  OpenOptions o;
  o.not_these.push_back(*file_id(path("events")));
  ASSERT_EQ(symlink(path("events").c_str(), path("alias").c_str()), 0);
  o.follow_symlinks = true;
  for (const char* name : {"events", "alias"}) {
    auto s = RecordStream::open(path(name), o);
    ASSERT_FALSE(s) << name;
    EXPECT_NE(s.error().message.find("also an input"), std::string::npos) << s.error().message;
  }
  EXPECT_EQ(get(path("events")), "an event\n");
}

TEST_F(Streams, AFullQueueDropsAndCountsInsteadOfWaiting) {
  // A pipe nobody reads: 64 KiB fit in it, a 1 KiB queue behind it.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string p = "/proc/self/fd/" + std::to_string(fds[1]);
  OpenOptions o;
  o.max_queue = 1024;
  o.follow_symlinks = true;  // /proc/self/fd/N is a link to the pipe
  auto s = RecordStream::open(p, o);
  ASSERT_TRUE(s) << s.error().message;
  std::string rec(100, 'x');
  rec += '\n';
  for (int i = 0; i < 1000; i++) s->add(rec);
  (void)s->pump();
  EXPECT_GT(s->written(), 500u) << "the pipe's own buffer";
  EXPECT_GT(s->dropped(), 0u);
  EXPECT_LE(s->written() + s->dropped(), 1000u);
  EXPECT_LE(s->pending(), 1024u + rec.size()) << "the queue stays bounded";
  auto t0 = Clock::now();
  EXPECT_TRUE(s->close(Clock::now() + std::chrono::milliseconds(200)));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2)) << "close() gives up at its deadline";
  EXPECT_EQ(s->written() + s->unwritten(), 1000u) << "every record written or counted";
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace dw::events
