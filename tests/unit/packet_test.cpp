#include "events/packet.h"

#include <gtest/gtest.h>

#include "tests/support/packet_builder.h"

namespace dw::events {
namespace {

using test::Bytes;
using test::Frame;

Bytes tcp_syn_v4() {
  return Frame().eth(0x0800).ipv4("10.0.42.1", "10.0.42.2", 6, 20).tcp(52414, 443, 0x02, 7);
}

TEST(Packet, Ipv4Tcp) {
  Layers l = decode_packet(tcp_syn_v4(), LinkType::Ethernet);
  ASSERT_TRUE(l.ether && l.ipv4 && l.tcp);
  EXPECT_EQ(l.label, "IPv4/TCP");
  EXPECT_EQ(mac_string(l.ether->src), "02:00:00:00:00:01");
  EXPECT_EQ(ip_string(l.ipv4->src), "10.0.42.1");
  EXPECT_EQ(ip_string(l.ipv4->dst), "10.0.42.2");
  EXPECT_EQ(l.ipv4->flags, 2) << "DF";
  EXPECT_EQ(l.tcp->sport, 52414);
  EXPECT_EQ(l.tcp->dport, 443);
  EXPECT_EQ(l.tcp->seq, 7u);
  EXPECT_EQ(tcp_flags_names(l.tcp->flags), "SYN");
  EXPECT_EQ(tcp_flags_tcpdump(l.tcp->flags), "S");
  EXPECT_FALSE(l.truncated);
}

TEST(Packet, RawIpv6Udp) {
  Bytes f = Frame().ipv6("fd00::1", "fd00::2", 17, 8).udp(5353, 53, 0);
  Layers l = decode_packet(f, LinkType::RawIp);
  EXPECT_FALSE(l.ether);
  ASSERT_TRUE(l.ipv6 && l.udp);
  EXPECT_EQ(l.label, "IPv6/UDP");
  EXPECT_EQ(ip_string(l.ipv6->dst), "fd00::2");
  EXPECT_EQ(l.udp->dport, 53);
}

TEST(Packet, Icmp4AndIcmp6Echo) {
  Layers a =
      decode_packet(Frame().eth(0x0800).ipv4("1.1.1.1", "2.2.2.2", 1, 8).icmp_echo(8, 7, 9).bytes(),
                    LinkType::Ethernet);
  ASSERT_TRUE(a.icmp);
  EXPECT_EQ(a.label, "IPv4/ICMP");
  EXPECT_EQ(a.icmp->type, 8);
  EXPECT_EQ(a.icmp->id, 7);
  EXPECT_EQ(a.icmp->seq, 9);
  Layers b =
      decode_packet(Frame().eth(0x86dd).ipv6("::1", "::2", 58, 8).icmp_echo(128, 1, 2).bytes(),
                    LinkType::Ethernet);
  ASSERT_TRUE(b.icmp6);
  EXPECT_FALSE(b.icmp);
  EXPECT_EQ(b.label, "IPv6/ICMPv6");
  EXPECT_EQ(b.icmp6->seq, 2);
}

TEST(Packet, Arp) {
  Layers l =
      decode_packet(Frame()
                        .eth(0x0806, "ff:ff:ff:ff:ff:ff")
                        .arp(1, "02:00:00:00:00:01", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2")
                        .bytes(),
                    LinkType::Ethernet);
  ASSERT_TRUE(l.arp);
  EXPECT_EQ(l.label, "ARP");
  EXPECT_EQ(l.arp->operation, 1);
  EXPECT_EQ(ip_string(l.arp->target_ip), "10.0.0.2");
  EXPECT_EQ(mac_string(l.arp->sender_mac), "02:00:00:00:00:01");
}

TEST(Packet, VlanAndQinQ) {
  Bytes f = Frame()
                .eth(0x88a8)
                .vlan(0x2064, 0x8100)
                .vlan(0x00c8, 0x0800)
                .ipv4("10.0.0.1", "10.0.0.2", 17, 8)
                .udp(1, 2, 0);
  Layers l = decode_packet(f, LinkType::Ethernet);
  ASSERT_EQ(l.vlans.size(), 2u);
  EXPECT_EQ(l.vlans[0].id, 100);
  EXPECT_EQ(l.vlans[0].pcp, 1);
  EXPECT_EQ(l.vlans[0].tpid, 0x88a8);
  EXPECT_EQ(l.vlans[1].id, 200);
  ASSERT_TRUE(l.udp);
  EXPECT_EQ(l.label, "IPv4/UDP");
}

TEST(Packet, OffloadedVlanComesFirst) {
  Layers l = decode_packet(tcp_syn_v4(), LinkType::Ethernet,
                           std::make_pair(uint16_t(42), uint16_t(0x8100)));
  ASSERT_EQ(l.vlans.size(), 1u);
  EXPECT_EQ(l.vlans[0].id, 42);
  EXPECT_TRUE(l.vlans[0].offloaded);
  EXPECT_TRUE(l.tcp);
}

TEST(Packet, Ipv6ExtensionHeadersAndFragments) {
  // hop-by-hop (8 bytes) then TCP
  Bytes f = Frame().eth(0x86dd).ipv6("::1", "::2", 0, 28).u8(6).u8(0).zeros(6).tcp(1, 80, 0x12);
  Layers l = decode_packet(f, LinkType::Ethernet);
  ASSERT_TRUE(l.tcp);
  EXPECT_EQ(l.ipv6->next_header, 0);
  EXPECT_EQ(l.ipv6->upper_protocol, 6);
  EXPECT_EQ(tcp_flags_names(l.tcp->flags), "SYN|ACK");
  EXPECT_EQ(tcp_flags_tcpdump(l.tcp->flags), "S.");
  // non-first fragment: no transport layer
  Bytes g = Frame().eth(0x86dd).ipv6("::1", "::2", 44, 16).u8(17).u8(0).u16(0x0100).u32(1).zeros(8);
  Layers m = decode_packet(g, LinkType::Ethernet);
  EXPECT_TRUE(m.fragment);
  EXPECT_FALSE(m.udp);
  // IPv4 non-first fragment
  Bytes h = Frame().eth(0x0800).ipv4("1.1.1.1", "2.2.2.2", 6, 20, 64, 0x0010).tcp(1, 2, 2);
  Layers n = decode_packet(h, LinkType::Ethernet);
  EXPECT_TRUE(n.fragment);
  EXPECT_FALSE(n.tcp);
  EXPECT_EQ(n.label, "IPv4");
}

TEST(Packet, Ieee8023Frame) {
  Bytes f = Frame()
                .mac("01:80:c2:00:00:00")
                .mac("02:00:00:00:00:01")
                .u16(38)
                .u8(0x42)
                .u8(0x42)
                .u8(3)
                .zeros(35);
  Layers l = decode_packet(f, LinkType::Ethernet);
  ASSERT_TRUE(l.ether);
  EXPECT_EQ(l.ether->length, 38);
  EXPECT_EQ(l.label, "802.3");
}

// Every prefix of every frame decodes without reading past the end (ASan
// checks that in the sanitizer build) and marks what it cut.
TEST(Packet, TruncatedFramesGivePartialLayers) {
  std::vector<Bytes> frames = {
      tcp_syn_v4(),
      Frame().eth(0x86dd).ipv6("::1", "::2", 0, 28).u8(6).u8(0).zeros(6).tcp(1, 80, 0x12),
      Frame().eth(0x8100).vlan(5, 0x0806).arp(2, "02:00:00:00:00:01", "1.2.3.4",
                                              "02:00:00:00:00:02", "1.2.3.5"),
      Frame().eth(0x0800).ipv4("1.1.1.1", "2.2.2.2", 1, 8).icmp_echo(0, 1, 1),
  };
  for (const Bytes& f : frames) {
    for (size_t n = 0; n < f.size(); n++) {
      Bytes cut(f.begin(), f.begin() + n);
      Layers l = decode_packet(cut, LinkType::Ethernet);
      EXPECT_TRUE(l.truncated) << "prefix " << n;
      Layers r = decode_packet(cut, LinkType::RawIp);
      (void)r;
    }
    EXPECT_FALSE(decode_packet(f, LinkType::Ethernet).truncated);
  }
  Bytes syn = tcp_syn_v4();
  Layers partial = decode_packet(Bytes(syn.begin(), syn.begin() + 40), LinkType::Ethernet);
  EXPECT_TRUE(partial.ipv4);
  EXPECT_FALSE(partial.tcp);
  EXPECT_EQ(partial.label, "IPv4");
}

TEST(Packet, Names) {
  EXPECT_EQ(ethertype_name(0x88cc), "LLDP");
  EXPECT_EQ(ethertype_name(0x1234), "0x1234");
  EXPECT_EQ(ip_protocol_name(58), "ICMPv6");
  EXPECT_EQ(ip_protocol_name(253), "253");
  EXPECT_EQ(tcp_flags_tcpdump(0x14), "R.");
  EXPECT_EQ(tcp_flags_tcpdump(0), "none");
}

}  // namespace
}  // namespace dw::events
