#include "tests/support/corpus.h"

#include <random>

#include "tests/support/packet_builder.h"

namespace dw::test {
namespace {

Bytes tcp4(const char* s, const char* d, uint16_t sp, uint16_t dp, uint8_t flags,
           uint16_t frag = 0x4000, uint8_t ttl = 64) {
  return Frame().ipv4(s, d, 6, 20, ttl, frag).tcp(sp, dp, flags);
}
Bytes udp4(const char* s, const char* d, uint16_t sp, uint16_t dp, uint16_t frag = 0) {
  return Frame().ipv4(s, d, 17, 12, 64, frag).udp(sp, dp, 4).u32(0xdeadbeef);
}
Bytes sctp4(const char* s, const char* d, uint16_t sp, uint16_t dp) {
  return Frame().ipv4(s, d, 132, 12).u16(sp).u16(dp).u32(1).u32(0);
}
Bytes ip4proto(const char* s, const char* d, uint8_t proto, size_t payload) {
  return Frame().ipv4(s, d, proto, payload).zeros(payload);
}
Bytes tcp6(const char* s, const char* d, uint16_t sp, uint16_t dp, uint8_t flags) {
  return Frame().ipv6(s, d, 6, 20).tcp(sp, dp, flags);
}
Bytes udp6(const char* s, const char* d, uint16_t sp, uint16_t dp) {
  return Frame().ipv6(s, d, 17, 8).udp(sp, dp, 0);
}
Bytes icmp6(const char* s, const char* d, uint8_t type) {
  return Frame().ipv6(s, d, 58, 8).u8(type).u8(0).u16(0).u32(0x00010001);
}

void add(std::vector<CorpusFrame>& c, std::string name, Bytes b) {
  uint32_t len = b.size();
  c.push_back({std::move(name), std::move(b), len});
}

Bytes eth(uint16_t type, const Bytes& payload, const char* dst = "02:00:00:00:00:02",
          const char* src = "02:00:00:00:00:01") {
  return Frame().eth(type, dst, src).bytes(payload);
}

// IP packets (no link header) shared by both corpora.
std::vector<std::pair<std::string, Bytes>> ip_packets() {
  std::vector<std::pair<std::string, Bytes>> v = {
      {"tcp4-syn-80", tcp4("10.0.0.1", "10.0.0.2", 40000, 80, 0x02)},
      {"tcp4-synack-443", tcp4("192.168.1.10", "10.1.2.3", 443, 51000, 0x12)},
      {"tcp4-rst-22", tcp4("172.16.5.4", "192.168.1.1", 22, 60000, 0x14)},
      {"tcp4-fin-3306", tcp4("10.0.42.1", "10.0.42.2", 52414, 3306, 0x11)},
      {"tcp4-push-8080", tcp4("1.2.3.4", "5.6.7.8", 8080, 1024, 0x18, 0x0000, 1)},
      {"tcp4-ece-cwr", tcp4("10.0.0.2", "10.0.0.1", 25, 25, 0xc2)},
      {"tcp4-firstfrag-mf", tcp4("10.0.0.1", "10.0.0.2", 1000, 80, 0x02, 0x2000)},
      {"tcp4-laterfrag", tcp4("10.0.0.1", "10.0.0.2", 1000, 80, 0x02, 0x0010)},
      {"udp4-dns", udp4("10.0.0.1", "8.8.8.8", 5353, 53)},
      {"udp4-dhcp", udp4("0.0.0.0", "255.255.255.255", 68, 67)},
      {"udp4-9999", udp4("10.0.42.1", "10.0.42.2", 34567, 9999)},
      {"udp4-mcast", udp4("192.168.1.5", "224.0.0.251", 5353, 5353)},
      {"udp4-frag", udp4("10.0.0.1", "10.0.0.2", 53, 53, 0x0005)},
      {"sctp4", sctp4("10.0.0.1", "10.0.0.2", 2905, 80)},
      {"icmp4-echo", Frame().ipv4("10.0.0.1", "10.0.0.2", 1, 8).icmp_echo(8, 7, 1)},
      {"icmp4-reply", Frame().ipv4("10.0.0.2", "10.0.0.1", 1, 8).icmp_echo(0, 7, 1)},
      {"icmp4-unreach", Frame().ipv4("10.0.0.2", "10.0.0.1", 1, 8).u8(3).u8(3).u16(0).u32(0)},
      {"igmp", ip4proto("192.168.1.5", "224.0.0.1", 2, 8)},
      {"gre", ip4proto("10.0.0.1", "10.0.0.2", 47, 8)},
      {"esp4", ip4proto("10.0.0.1", "10.0.0.2", 50, 16)},
      {"ah4", ip4proto("10.0.0.1", "10.0.0.2", 51, 16)},
      {"pim4", ip4proto("10.0.0.1", "224.0.0.13", 103, 8)},
      {"vrrp", ip4proto("10.0.0.1", "224.0.0.18", 112, 8)},
      {"igrp", ip4proto("10.0.0.1", "10.0.0.2", 9, 8)},
      {"ipip", ip4proto("10.0.0.1", "10.0.0.2", 4, 20)},
      // IPv4 with options: IHL 6 and 8
      {"tcp4-opts", Frame()
                        .u8(0x46)
                        .u8(0)
                        .u16(44)
                        .u16(1)
                        .u16(0)
                        .u8(64)
                        .u8(6)
                        .u16(0)
                        .ip4("10.0.0.1")
                        .ip4("10.0.0.2")
                        .u32(0x01010101)
                        .tcp(1234, 80, 0x02)},
      {"udp4-opts8", Frame()
                         .u8(0x48)
                         .u8(0x10)
                         .u16(44)
                         .u16(1)
                         .u16(0)
                         .u8(64)
                         .u8(17)
                         .u16(0)
                         .ip4("10.9.8.7")
                         .ip4("10.0.0.2")
                         .zeros(12)
                         .udp(53, 1053, 0)},
      {"tcp6-syn-80", tcp6("2001:db8::1", "2001:db8::2", 40000, 80, 0x02)},
      {"tcp6-443", tcp6("fe80::1", "fe80::2", 443, 50000, 0x10)},
      {"udp6-dns", udp6("2001:db8::1", "2001:4860::8888", 5353, 53)},
      {"udp6-mcast", udp6("fe80::1", "ff02::fb", 5353, 5353)},
      {"icmp6-echo", icmp6("2001:db8::1", "2001:db8::2", 128)},
      {"icmp6-ns", icmp6("fe80::1", "ff02::1:ff00:2", 135)},
      {"icmp6-ra", icmp6("fe80::1", "ff02::1", 134)},
      {"tcp6-hbh",
       Frame().ipv6("2001:db8::1", "2001:db8::2", 0, 28).u8(6).u8(0).zeros(6).tcp(1111, 22, 0x02)},
      {"udp6-frag", Frame()
                        .ipv6("2001:db8::1", "2001:db8::2", 44, 16)
                        .u8(17)
                        .u8(0)
                        .u16(0)
                        .u32(1)
                        .udp(53, 53, 0)},
      {"tcp6-frag", Frame()
                        .ipv6("2001:db8::1", "2001:db8::2", 44, 28)
                        .u8(6)
                        .u8(0)
                        .u16(1)
                        .u32(7)
                        .tcp(80, 80, 0x02)},
      {"esp6", Frame().ipv6("2001:db8::1", "2001:db8::2", 50, 8).zeros(8)},
      {"pim6", Frame().ipv6("fe80::1", "ff02::d", 103, 8).zeros(8)},
      {"sctp6", Frame().ipv6("2001:db8::1", "2001:db8::2", 132, 12).u16(9).u16(80).u32(0).u32(0)},
      // extension-header chains for protochain: dest opts -> routing -> TCP
      {"tcp6-chain", Frame()
                         .ipv6("2001:db8::1", "2001:db8::2", 60, 44)
                         .u8(43)
                         .u8(0)
                         .zeros(6)
                         .u8(6)
                         .u8(0)
                         .zeros(6)
                         .tcp(1, 2, 0x02)},
      // AH (4 words after the first 2) then UDP, over IPv6 and IPv4
      {"udp6-ah",
       Frame().ipv6("2001:db8::1", "2001:db8::2", 51, 32).u8(17).u8(4).zeros(22).udp(7, 8, 0)},
      {"udp4-ah", Frame().ipv4("10.0.0.1", "10.0.0.2", 51, 32).u8(17).u8(4).zeros(22).udp(7, 8, 0)},
      {"ip6-nonext", Frame().ipv6("2001:db8::1", "2001:db8::2", 59, 0)},
  };
  return v;
}

Bytes arp(uint16_t op) {
  return Frame().arp(op, "02:00:00:00:00:01", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2");
}

// 802.3 frame: length field, then LLC header and payload.
Bytes llc_frame(const Bytes& llc, const char* dst = "01:80:c2:00:00:00") {
  return Frame().mac(dst).mac("02:00:00:00:00:01").u16(uint16_t(llc.size())).bytes(llc);
}

}  // namespace

std::vector<CorpusFrame> ethernet_corpus() {
  std::vector<CorpusFrame> c;
  for (auto& [name, ip] : ip_packets()) {
    bool v6 = (ip[0] >> 4) == 6;
    add(c, "eth-" + name, eth(v6 ? 0x86dd : 0x0800, ip));
  }
  auto ips = ip_packets();
  const Bytes& syn4 = ips[0].second;
  const Bytes& syn6 = ips[27].second;
  add(c, "eth-bcast-dhcp", eth(0x0800, ips[9].second, "ff:ff:ff:ff:ff:ff"));
  add(c, "eth-mcast-mdns", eth(0x0800, ips[11].second, "01:00:5e:00:00:fb"));
  add(c, "eth-mcast6", eth(0x86dd, ips[30].second, "33:33:00:00:00:fb"));
  add(c, "arp-request", eth(0x0806, arp(1), "ff:ff:ff:ff:ff:ff"));
  add(c, "arp-reply", eth(0x0806, arp(2)));
  add(c, "rarp", eth(0x8035, arp(3), "ff:ff:ff:ff:ff:ff"));
  add(c, "vlan100-tcp4", Frame().eth(0x8100).vlan(100, 0x0800).bytes(syn4));
  add(c, "vlan200-tcp6", Frame().eth(0x8100).vlan(0x20c8, 0x86dd).bytes(syn6));
  add(c, "vlan5-arp", Frame().eth(0x8100).vlan(5, 0x0806).bytes(arp(1)));
  add(c, "qinq-tcp4", Frame().eth(0x88a8).vlan(300, 0x8100).vlan(100, 0x0800).bytes(syn4));
  add(c, "vlan9100-udp", Frame().eth(0x9100).vlan(7, 0x0800).bytes(ips[8].second));
  add(c, "mpls-ip4", Frame().eth(0x8847).u32(0x0001f1ff).bytes(syn4));  // label 31, S=1
  add(c, "mpls2-ip6", Frame().eth(0x8847).u32(0x00010040).u32(0x00002140).bytes(syn6));
  add(c, "pppoed", Frame().eth(0x8863).u8(0x11).u8(0x09).u16(0).u16(4).u32(0x01010000));
  add(c, "pppoes-ip4",
      Frame().eth(0x8864).u8(0x11).u8(0).u16(0x1234).u16(62).u16(0x0021).bytes(syn4));
  add(c, "pppoes-ip6",
      Frame().eth(0x8864).u8(0x11).u8(0).u16(0x0042).u16(62).u16(0x0057).bytes(syn6));
  add(c, "stp", llc_frame(Frame().u8(0x42).u8(0x42).u8(0x03).zeros(35)));
  add(c, "snap-ip",
      llc_frame(Frame().u8(0xaa).u8(0xaa).u8(0x03).u8(0).u8(0).u8(0).u16(0x0800).bytes(syn4),
                "02:00:00:00:00:02"));
  add(c, "snap-atalk",
      llc_frame(Frame().u8(0xaa).u8(0xaa).u8(0x03).u8(0x08).u8(0).u8(0x07).u16(0x809b).zeros(20)));
  add(c, "snap-aarp",
      llc_frame(Frame().u8(0xaa).u8(0xaa).u8(0x03).u8(0).u8(0).u8(0).u16(0x80f3).zeros(20)));
  add(c, "snap-ipx",
      llc_frame(Frame().u8(0xaa).u8(0xaa).u8(0x03).u8(0).u8(0).u8(0).u16(0x8137).zeros(20)));
  add(c, "ipx-raw8023", llc_frame(Frame().u16(0xffff).zeros(28)));
  add(c, "ipx-llc", llc_frame(Frame().u8(0xe0).u8(0xe0).u8(0x03).zeros(28)));
  add(c, "ipx-eth2", eth(0x8137, Frame().u16(0xffff).zeros(28)));
  add(c, "netbeui", llc_frame(Frame().u8(0xf0).u8(0xf0).u8(0x03).zeros(20)));
  add(c, "llc-ip-sap", llc_frame(Frame().u8(0x06).u8(0x06).u8(0x03).zeros(20)));
  add(c, "iso-clnp", llc_frame(Frame().u8(0xfe).u8(0xfe).u8(0x03).u8(0x81).zeros(20)));
  add(c, "iso-esis", llc_frame(Frame().u8(0xfe).u8(0xfe).u8(0x03).u8(0x82).zeros(20)));
  for (uint8_t pdu : {15, 16, 17, 18, 20, 24, 25, 26, 27})
    add(c, "isis-" + std::to_string(pdu),
        llc_frame(
            Frame().u8(0xfe).u8(0xfe).u8(0x03).u8(0x83).u8(27).u8(1).u8(0).u8(pdu).zeros(20)));
  add(c, "llc-ui", llc_frame(Frame().u8(0x42).u8(0x42).u8(0x03).zeros(10)));
  add(c, "llc-i", llc_frame(Frame().u8(0xf0).u8(0xf0).u8(0x02).u8(0x00).zeros(10)));
  add(c, "llc-rr", llc_frame(Frame().u8(0xf0).u8(0xf0).u8(0x01).u8(0x01).zeros(10)));
  add(c, "llc-rej", llc_frame(Frame().u8(0xf0).u8(0xf0).u8(0x09).u8(0x01).zeros(10)));
  add(c, "llc-xid", llc_frame(Frame().u8(0x42).u8(0x42).u8(0xaf).zeros(10)));
  add(c, "llc-test", llc_frame(Frame().u8(0x42).u8(0x42).u8(0xf3).zeros(10)));
  add(c, "atalk", eth(0x809b, Frame().zeros(20)));
  add(c, "aarp", eth(0x80f3, Frame().zeros(28)));
  add(c, "decnet", eth(0x6003, Frame().zeros(20)));
  // DECnet routing headers: long form (flags 0x06 after a 2-byte length,
  // destination node at payload 9, source at 17), optional pad byte 0x81, and
  // short form (0x02), addressed to and from 1.2 = 0x0402 (little-endian).
  add(c, "decnet-long",
      eth(0x6003,
          Frame().u16(0x1a00).u8(0x06).zeros(6).u16(0x0204).zeros(6).u16(0x0204).zeros(10)));
  add(c, "decnet-short",
      eth(0x6003, Frame().u16(0x0800).u8(0x02).u16(0x0204).u16(0x0e00).zeros(10)));
  add(c, "decnet-long-pad",
      eth(0x6003,
          Frame().u16(0x1b00).u8(0x81).u8(0x06).zeros(6).u16(0x0204).zeros(6).u16(0x0204).zeros(
              10)));
  add(c, "lat", eth(0x6004, Frame().zeros(20)));
  add(c, "mopdl", eth(0x6001, Frame().zeros(20)));
  add(c, "moprc", eth(0x6002, Frame().zeros(20)));
  add(c, "sca", eth(0x6007, Frame().zeros(20)));
  add(c, "lldp", eth(0x88cc, Frame().zeros(30), "01:80:c2:00:00:0e"));
  add(c, "loopback9000", eth(0x9000, Frame().zeros(30)));
  // Geneve (UDP 6081): VNI 10 carrying Ethernet, VNI 20 carrying IPv4 directly.
  {
    Bytes inner_eth = Frame()
                          .eth(0x0800, "02:00:00:00:00:0a", "02:00:00:00:00:0b")
                          .ipv4("192.168.7.1", "192.168.7.2", 6, 20)
                          .tcp(3333, 80, 0x02);
    Bytes g1 = Frame().u8(0x00).u8(0x00).u16(0x6558).u32(10 << 8).bytes(inner_eth);
    add(c, "geneve-vni10-eth",
        eth(0x0800, Frame()
                        .ipv4("10.0.0.1", "10.0.0.2", 17, 8 + g1.size())
                        .udp(40000, 6081, g1.size())
                        .bytes(g1)));
    Bytes inner_ip = Frame().ipv4("192.168.8.1", "192.168.8.2", 17, 8).udp(53, 53, 0);
    Bytes g2 = Frame().u8(0x01).u8(0x00).u16(0x0800).u32(20 << 8).u32(0x01020304).bytes(inner_ip);
    add(c, "geneve-vni20-ip",
        eth(0x0800, Frame()
                        .ipv4("10.0.0.1", "10.0.0.2", 17, 8 + g2.size())
                        .udp(40000, 6081, g2.size())
                        .bytes(g2)));
    Bytes g3 = Frame().u8(0x00).u8(0x00).u16(0x6558).u32(30 << 8).bytes(inner_eth);
    add(c, "geneve6-vni30-eth",
        eth(0x86dd, Frame()
                        .ipv6("2001:db8::1", "2001:db8::2", 17, 8 + g3.size())
                        .udp(40000, 6081, g3.size())
                        .bytes(g3)));
  }
  // Short and truncated frames.
  add(c, "empty", {});
  add(c, "short-6", Bytes(6, 0xff));
  add(c, "short-13", Frame().mac("ff:ff:ff:ff:ff:ff").mac("02:00:00:00:00:01").u8(0x08));
  add(c, "eth-only-ip", Frame().eth(0x0800));
  add(c, "eth-only-ip6", Frame().eth(0x86dd));
  {
    Bytes f = eth(0x0800, syn4);
    for (size_t n : {16, 24, 30, 34, 36, 38, 40, 47, 50}) {
      Bytes cut(f.begin(), f.begin() + n);
      c.push_back({"tcp4-cut-" + std::to_string(n), cut, uint32_t(f.size())});
    }
    Bytes g = eth(0x86dd, syn6);
    for (size_t n : {20, 22, 30, 38, 54, 56, 58, 60, 70}) {
      Bytes cut(g.begin(), g.begin() + n);
      c.push_back({"tcp6-cut-" + std::to_string(n), cut, uint32_t(g.size())});
    }
    Bytes h = Frame().eth(0x8100).vlan(100, 0x0800).bytes(syn4);
    for (size_t n : {16, 18, 20, 30, 40}) {
      Bytes cut(h.begin(), h.begin() + n);
      c.push_back({"vlan-cut-" + std::to_string(n), cut, uint32_t(h.size())});
    }
    // caplen < wire length (snaplen): the whole header captured, payload not
    Bytes big = eth(0x0800, Frame().ipv4("10.0.0.1", "10.0.0.2", 17, 1480).udp(1, 2, 1472));
    big.resize(1514);  // the headers say 1514 bytes: the payload is there, zeros
    c.push_back({"udp4-snap64", Bytes(big.begin(), big.begin() + 64), 1514});
  }
  // A malformed IPv4 header (IHL 2) and an IPv4 header with IHL 15.
  add(c, "ip4-ihl2", eth(0x0800, Frame().u8(0x42).u8(0).u16(40).zeros(36)));
  add(c, "ip4-ihl15-short",
      eth(0x0800, Frame()
                      .u8(0x4f)
                      .u8(0)
                      .u16(60)
                      .u16(0)
                      .u16(0)
                      .u8(64)
                      .u8(6)
                      .u16(0)
                      .ip4("10.0.0.1")
                      .ip4("10.0.0.2")
                      .zeros(8)));
  return c;
}

std::vector<CorpusFrame> raw_ip_corpus() {
  std::vector<CorpusFrame> c;
  for (auto& [name, ip] : ip_packets()) add(c, "raw-" + name, ip);
  auto ips = ip_packets();
  add(c, "raw-empty", {});
  add(c, "raw-1byte-45", {0x45});
  add(c, "raw-version5", Bytes(40, 0x50));
  add(c, "raw-arp-bytes", arp(1));
  for (size_t n : {1, 9, 10, 19, 20, 22, 24, 33}) {
    const Bytes& f = ips[0].second;
    c.push_back(
        {"raw-tcp4-cut-" + std::to_string(n), Bytes(f.begin(), f.begin() + n), uint32_t(f.size())});
  }
  for (size_t n : {6, 7, 39, 40, 42, 44, 54}) {
    const Bytes& f = ips[27].second;
    c.push_back(
        {"raw-tcp6-cut-" + std::to_string(n), Bytes(f.begin(), f.begin() + n), uint32_t(f.size())});
  }
  return c;
}

std::vector<CorpusFrame> random_frames(uint32_t seed, size_t count, bool ethernet) {
  std::mt19937 rng(seed);
  std::vector<CorpusFrame> base = ethernet ? ethernet_corpus() : raw_ip_corpus();
  std::vector<CorpusFrame> out;
  for (size_t i = 0; i < count; i++) {
    CorpusFrame f = base[rng() % base.size()];
    f.name = "random-" + std::to_string(i) + "-" + f.name;
    // flip a few bytes, then maybe cut
    int flips = rng() % 4;
    for (int k = 0; k < flips && !f.bytes.empty(); k++)
      f.bytes[rng() % f.bytes.size()] = uint8_t(rng());
    if (!f.bytes.empty() && rng() % 3 == 0) f.bytes.resize(rng() % (f.bytes.size() + 1));
    if (rng() % 5 == 0) f.wire_len += rng() % 1000;
    f.wire_len = std::max<uint32_t>(f.wire_len, f.bytes.size());
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace dw::test
