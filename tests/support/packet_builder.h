// Builds frames for tests: Ethernet, VLAN, IPv4/IPv6, TCP/UDP/ICMP, ARP.
// Checksums are left zero unless a test sets them; the decoders and filters
// under test do not verify them.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace dw::test {

using Bytes = std::vector<uint8_t>;

class Frame {
 public:
  Frame& u8(uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  Frame& u16(uint16_t v) { return u8(v >> 8).u8(v & 0xff); }
  Frame& u32(uint32_t v) { return u16(v >> 16).u16(v & 0xffff); }
  Frame& bytes(const Bytes& v) {
    b_.insert(b_.end(), v.begin(), v.end());
    return *this;
  }
  Frame& zeros(size_t n) {
    b_.insert(b_.end(), n, 0);
    return *this;
  }
  Frame& mac(const std::string& s) {
    unsigned m[6];
    sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
    for (unsigned x : m) u8(x);
    return *this;
  }
  Frame& ip4(const std::string& s) {
    uint8_t a[4];
    inet_pton(AF_INET, s.c_str(), a);
    return bytes(Bytes(a, a + 4));
  }
  Frame& ip6(const std::string& s) {
    uint8_t a[16];
    inet_pton(AF_INET6, s.c_str(), a);
    return bytes(Bytes(a, a + 16));
  }
  Frame& eth(uint16_t type, const std::string& dst = "02:00:00:00:00:02",
             const std::string& src = "02:00:00:00:00:01") {
    return mac(dst).mac(src).u16(type);
  }
  Frame& vlan(uint16_t tci, uint16_t inner) { return u16(tci).u16(inner); }
  // IPv4 header without options; total length covers `payload` bytes.
  Frame& ipv4(const std::string& src, const std::string& dst, uint8_t proto, uint16_t payload,
              uint8_t ttl = 64, uint16_t frag = 0x4000, uint16_t id = 1) {
    return u8(0x45)
        .u8(0)
        .u16(20 + payload)
        .u16(id)
        .u16(frag)
        .u8(ttl)
        .u8(proto)
        .u16(0)
        .ip4(src)
        .ip4(dst);
  }
  Frame& ipv6(const std::string& src, const std::string& dst, uint8_t next, uint16_t payload,
              uint8_t hops = 64) {
    return u32(0x60000000).u16(payload).u8(next).u8(hops).ip6(src).ip6(dst);
  }
  Frame& tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq = 1000, uint32_t ack = 0,
             uint16_t win = 64240) {
    return u16(sport).u16(dport).u32(seq).u32(ack).u8(0x50).u8(flags).u16(win).u16(0).u16(0);
  }
  Frame& udp(uint16_t sport, uint16_t dport, uint16_t payload) {
    return u16(sport).u16(dport).u16(8 + payload).u16(0);
  }
  Frame& icmp_echo(uint8_t type, uint16_t id, uint16_t seq) {
    return u8(type).u8(0).u16(0).u16(id).u16(seq);
  }
  Frame& arp(uint16_t op, const std::string& smac, const std::string& sip, const std::string& tmac,
             const std::string& tip) {
    return u16(1).u16(0x0800).u8(6).u8(4).u16(op).mac(smac).ip4(sip).mac(tmac).ip4(tip);
  }
  const Bytes& bytes() const { return b_; }
  operator Bytes() const { return b_; }

 private:
  Bytes b_;
};

}  // namespace dw::test
