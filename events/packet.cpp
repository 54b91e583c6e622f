#include "events/packet.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

namespace dw::events {
namespace {

// Bounds-checked big-endian reader over the captured bytes.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> b) : b_(b) {}
  bool has(size_t off, size_t n) const { return off <= b_.size() && n <= b_.size() - off; }
  uint8_t u8(size_t off) const { return b_[off]; }
  uint16_t u16(size_t off) const { return uint16_t(b_[off] << 8 | b_[off + 1]); }
  uint32_t u32(size_t off) const { return uint32_t(u16(off)) << 16 | u16(off + 2); }
  template <size_t N>
  std::array<uint8_t, N> bytes(size_t off) const {
    std::array<uint8_t, N> a;
    std::copy_n(b_.begin() + off, N, a.begin());
    return a;
  }
  std::vector<uint8_t> vec(size_t off, size_t n) const {
    return std::vector<uint8_t>(b_.begin() + off, b_.begin() + off + n);
  }

 private:
  std::span<const uint8_t> b_;
};

constexpr uint16_t kEthIp = 0x0800, kEthArp = 0x0806, kEthRarp = 0x8035, kEthIp6 = 0x86dd;

bool is_vlan_tpid(uint16_t t) { return t == 0x8100 || t == 0x88a8 || t == 0x9100; }

void decode_transport(const Cursor& c, size_t off, uint8_t proto, Layers& l) {
  switch (proto) {
    case IPPROTO_TCP:
      if (!c.has(off, 20)) {
        l.truncated = true;
        return;
      }
      l.tcp = TcpLayer{c.u16(off),
                       c.u16(off + 2),
                       c.u32(off + 4),
                       c.u32(off + 8),
                       uint8_t(c.u8(off + 12) >> 4),
                       uint16_t(c.u16(off + 12) & 0x1ff),
                       c.u16(off + 14),
                       c.u16(off + 16),
                       c.u16(off + 18)};
      return;
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
      if (!c.has(off, 8)) {
        l.truncated = true;
        return;
      }
      l.udp = UdpLayer{c.u16(off), c.u16(off + 2), c.u16(off + 4), c.u16(off + 6)};
      return;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
      if (!c.has(off, 4)) {
        l.truncated = true;
        return;
      }
      IcmpLayer ic{c.u8(off), c.u8(off + 1), c.u16(off + 2), {}, {}};
      bool echo = proto == IPPROTO_ICMP ? (ic.type == 0 || ic.type == 8)
                                        : (ic.type == 128 || ic.type == 129);
      if (echo && c.has(off, 8)) {
        ic.id = c.u16(off + 4);
        ic.seq = c.u16(off + 6);
      } else if (echo) {
        l.truncated = true;
      }
      (proto == IPPROTO_ICMP ? l.icmp : l.icmp6) = ic;
      return;
    }
    default: return;
  }
}

void decode_ipv4(const Cursor& c, size_t off, Layers& l) {
  if (!c.has(off, 20)) {
    l.truncated = true;
    return;
  }
  Ipv4Layer ip;
  ip.version = c.u8(off) >> 4;
  ip.ihl = c.u8(off) & 0xf;
  ip.tos = c.u8(off + 1);
  ip.len = c.u16(off + 2);
  ip.id = c.u16(off + 4);
  ip.flags = c.u16(off + 6) >> 13;
  ip.frag_offset = c.u16(off + 6) & 0x1fff;
  ip.ttl = c.u8(off + 8);
  ip.protocol = c.u8(off + 9);
  ip.checksum = c.u16(off + 10);
  ip.src = c.bytes<4>(off + 12);
  ip.dst = c.bytes<4>(off + 16);
  l.ipv4 = ip;
  l.ip_protocol = ip.protocol;
  if (ip.frag_offset != 0) {
    l.fragment = true;
    return;
  }
  if (ip.ihl < 5) return;  // malformed: no transport to find
  decode_transport(c, off + size_t(ip.ihl) * 4, ip.protocol, l);
}

void decode_ipv6(const Cursor& c, size_t off, Layers& l) {
  if (!c.has(off, 40)) {
    l.truncated = true;
    return;
  }
  Ipv6Layer ip;
  uint32_t w = c.u32(off);
  ip.version = w >> 28;
  ip.traffic_class = (w >> 20) & 0xff;
  ip.flow_label = w & 0xfffff;
  ip.len = c.u16(off + 4);
  ip.next_header = c.u8(off + 6);
  ip.hop_limit = c.u8(off + 7);
  ip.src = c.bytes<16>(off + 8);
  ip.dst = c.bytes<16>(off + 24);
  // Walk extension headers to the upper-layer protocol.
  uint8_t nh = ip.next_header;
  size_t p = off + 40;
  for (int hops = 0; hops < 8; hops++) {
    if (nh == 0 || nh == 43 || nh == 60) {  // hop-by-hop, routing, destination
      if (!c.has(p, 2)) {
        l.truncated = true;
        break;
      }
      uint8_t next = c.u8(p);
      p += (size_t(c.u8(p + 1)) + 1) * 8;
      nh = next;
    } else if (nh == 44) {  // fragment
      if (!c.has(p, 8)) {
        l.truncated = true;
        break;
      }
      uint8_t next = c.u8(p);
      if ((c.u16(p + 2) & 0xfff8) != 0) l.fragment = true;
      p += 8;
      nh = next;
    } else if (nh == 51) {  // AH
      if (!c.has(p, 2)) {
        l.truncated = true;
        break;
      }
      uint8_t next = c.u8(p);
      p += (size_t(c.u8(p + 1)) + 2) * 4;
      nh = next;
    } else {
      break;
    }
  }
  ip.upper_protocol = nh;
  l.ipv6 = ip;
  l.ip_protocol = nh;
  if (!l.fragment && !l.truncated) decode_transport(c, p, nh, l);
}

void decode_arp(const Cursor& c, size_t off, Layers& l) {
  if (!c.has(off, 8)) {
    l.truncated = true;
    return;
  }
  ArpLayer a;
  a.addr_type = c.u16(off);
  a.protocol = c.u16(off + 2);
  a.hw_size = c.u8(off + 4);
  a.prot_size = c.u8(off + 5);
  a.operation = c.u16(off + 6);
  size_t hs = a.hw_size, ps = a.prot_size, p = off + 8;
  if (c.has(p, 2 * (hs + ps))) {
    a.sender_mac = c.vec(p, hs);
    a.sender_ip = c.vec(p + hs, ps);
    a.target_mac = c.vec(p + hs + ps, hs);
    a.target_ip = c.vec(p + 2 * hs + ps, ps);
  } else {
    l.truncated = true;
  }
  l.arp = std::move(a);
}

void decode_network(const Cursor& c, size_t off, uint16_t type, Layers& l) {
  switch (type) {
    case kEthIp: decode_ipv4(c, off, l); break;
    case kEthIp6: decode_ipv6(c, off, l); break;
    case kEthArp:
    case kEthRarp: decode_arp(c, off, l); break;
    default: break;
  }
}

std::string make_label(const Layers& l, uint16_t type) {
  std::string s;
  if (l.ipv4)
    s = "IPv4";
  else if (l.ipv6)
    s = "IPv6";
  else if (l.arp)
    return type == kEthRarp ? "RARP" : "ARP";
  else if (l.ether && l.ether->length)
    return "802.3";
  else if (type)
    return ethertype_name(type);
  else
    return "";
  if (l.tcp || l.udp || l.icmp || l.icmp6 || (!l.fragment && !l.truncated))
    s += "/" + ip_protocol_name(l.ip_protocol);
  return s;
}

}  // namespace

Layers decode_packet(std::span<const uint8_t> bytes, LinkType link,
                     std::optional<std::pair<uint16_t, uint16_t>> offloaded_vlan) {
  Layers l;
  Cursor c(bytes);
  uint16_t type = 0;
  if (link == LinkType::Ethernet) {
    if (!c.has(0, 14)) {
      l.truncated = true;
      return l;
    }
    EtherLayer e{c.bytes<6>(0), c.bytes<6>(6), c.u16(12), {}};
    if (e.type <= 1500) {  // 802.3 length: LLC follows, nothing we decode
      e.length = e.type;
      e.type = 0;
    }
    type = e.type;
    l.ether = e;
    size_t off = 14;
    if (offloaded_vlan) {
      auto [tci, tpid] = *offloaded_vlan;
      l.vlans.push_back(
          {tpid, uint16_t(tci & 0xfff), uint8_t(tci >> 13), uint8_t((tci >> 12) & 1), type, true});
    }
    while (is_vlan_tpid(type) && l.vlans.size() < 8) {
      if (!c.has(off, 4)) {
        l.truncated = true;
        break;
      }
      uint16_t tci = c.u16(off);
      uint16_t inner = c.u16(off + 2);
      l.vlans.push_back({type, uint16_t(tci & 0xfff), uint8_t(tci >> 13), uint8_t((tci >> 12) & 1),
                         inner, false});
      type = inner;
      off += 4;
    }
    if (!l.truncated) decode_network(c, off, type, l);
  } else {
    if (!c.has(0, 1)) {
      l.truncated = true;
      return l;
    }
    uint8_t v = c.u8(0) >> 4;
    type = v == 4 ? kEthIp : v == 6 ? kEthIp6 : 0;
    decode_network(c, 0, type, l);
  }
  l.label = make_label(l, type);
  return l;
}

std::string ethertype_name(uint16_t type) {
  switch (type) {
    case kEthIp: return "IPv4";
    case kEthIp6: return "IPv6";
    case kEthArp: return "ARP";
    case kEthRarp: return "RARP";
    case 0x8100: return "802.1Q";
    case 0x88a8: return "802.1ad";
    case 0x8847: return "MPLS";
    case 0x8848: return "MPLS-mcast";
    case 0x8863: return "PPPoE-D";
    case 0x8864: return "PPPoE-S";
    case 0x88cc: return "LLDP";
    default: {
      char b[8];
      std::snprintf(b, sizeof(b), "0x%04x", type);
      return b;
    }
  }
}

std::string ip_protocol_name(uint8_t p) {
  switch (p) {
    case IPPROTO_ICMP: return "ICMP";
    case IPPROTO_IGMP: return "IGMP";
    case IPPROTO_IPIP: return "IPIP";
    case IPPROTO_TCP: return "TCP";
    case IPPROTO_UDP: return "UDP";
    case IPPROTO_IPV6: return "IPv6";
    case IPPROTO_GRE: return "GRE";
    case IPPROTO_ESP: return "ESP";
    case IPPROTO_AH: return "AH";
    case IPPROTO_ICMPV6: return "ICMPv6";
    case IPPROTO_PIM: return "PIM";
    case 112: return "VRRP";
    case IPPROTO_SCTP: return "SCTP";
    case IPPROTO_UDPLITE: return "UDPLite";
    default: return std::to_string(p);
  }
}

std::string tcp_flags_names(uint16_t f) {
  static constexpr std::pair<uint16_t, const char*> kNames[] = {
      {0x01, "FIN"}, {0x02, "SYN"}, {0x04, "RST"}, {0x08, "PSH"}, {0x10, "ACK"},
      {0x20, "URG"}, {0x40, "ECE"}, {0x80, "CWR"}, {0x100, "NS"}};
  std::string s;
  for (auto [bit, name] : kNames)
    if (f & bit) s += (s.empty() ? "" : "|") + std::string(name);
  return s;
}

std::string tcp_flags_tcpdump(uint16_t f) {
  std::string s;
  if (f & 0x02) s += 'S';
  if (f & 0x01) s += 'F';
  if (f & 0x08) s += 'P';
  if (f & 0x04) s += 'R';
  if (f & 0x20) s += 'U';
  if (f & 0x40) s += 'E';
  if (f & 0x80) s += 'W';
  if (f & 0x10) s += '.';
  return s.empty() ? "none" : s;
}

std::string mac_string(std::span<const uint8_t> mac) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < mac.size(); i++) {
    std::snprintf(b, sizeof(b), i ? ":%02x" : "%02x", mac[i]);
    s += b;
  }
  return s;
}

std::string ip_string(std::span<const uint8_t> addr) {
  char b[INET6_ADDRSTRLEN];
  if (addr.size() == 4) return inet_ntop(AF_INET, addr.data(), b, sizeof(b));
  if (addr.size() == 16) return inet_ntop(AF_INET6, addr.data(), b, sizeof(b));
  return mac_string(addr);  // odd ARP protocol sizes: show the bytes
}

}  // namespace dw::events
