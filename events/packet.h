// Header decoding of a captured drop into layers (ether, vlan, arp, ipv4,
// ipv6, tcp, udp, icmp, icmp6). Never reads past the captured bytes: a layer
// cut short is omitted and `truncated` is set.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/link_type.h"

namespace dw::events {

struct EtherLayer {
  std::array<uint8_t, 6> dst, src;
  uint16_t type = 0;               // 0 for 802.3 frames
  std::optional<uint16_t> length;  // 802.3 length field
};

struct VlanLayer {
  uint16_t tpid = 0;  // 0x8100, 0x88a8, ...
  uint16_t id = 0;
  uint8_t pcp = 0;
  uint8_t dei = 0;
  uint16_t type = 0;       // encapsulated ethertype
  bool offloaded = false;  // from skb metadata, not in the frame
};

struct ArpLayer {
  uint16_t addr_type = 0, protocol = 0;
  uint8_t hw_size = 0, prot_size = 0;
  uint16_t operation = 0;
  std::vector<uint8_t> sender_mac, sender_ip, target_mac, target_ip;
};

struct Ipv4Layer {
  uint8_t version = 0, ihl = 0, tos = 0;
  uint16_t len = 0, id = 0;
  uint8_t flags = 0;  // bit 1 DF, bit 0 MF (as in the header's top bits >> 13)
  uint16_t frag_offset = 0;
  uint8_t ttl = 0, protocol = 0;
  uint16_t checksum = 0;
  std::array<uint8_t, 4> src, dst;
};

struct Ipv6Layer {
  uint8_t version = 0, traffic_class = 0;
  uint32_t flow_label = 0;
  uint16_t len = 0;
  uint8_t next_header = 0, hop_limit = 0;
  std::array<uint8_t, 16> src, dst;
  uint8_t upper_protocol = 0;  // after extension headers
};

struct TcpLayer {
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t data_offset = 0;
  uint16_t flags = 0;  // FIN 0x01 ... CWR 0x80, NS 0x100
  uint16_t window = 0, checksum = 0, urgent = 0;
};

struct UdpLayer {
  uint16_t sport = 0, dport = 0, len = 0, checksum = 0;
};

struct IcmpLayer {  // ICMP and ICMPv6 share the first 8 bytes' layout
  uint8_t type = 0, code = 0;
  uint16_t checksum = 0;
  std::optional<uint16_t> id, seq;  // echo request/reply only
};

struct Layers {
  std::optional<EtherLayer> ether;
  std::vector<VlanLayer> vlans;
  std::optional<ArpLayer> arp;
  std::optional<Ipv4Layer> ipv4;
  std::optional<Ipv6Layer> ipv6;
  std::optional<TcpLayer> tcp;
  std::optional<UdpLayer> udp;
  std::optional<IcmpLayer> icmp;
  std::optional<IcmpLayer> icmp6;
  uint8_t ip_protocol = 0;  // transport protocol when an IP layer was decoded
  bool fragment = false;    // non-first fragment: no transport header
  bool truncated = false;   // a layer was cut short by the capture
  std::string label;        // "IPv4/TCP", "IPv6/ICMPv6", "ARP", ...
};

// `offloaded_vlan` is an skb metadata tag (tci, tpid) shown as the outer tag.
Layers decode_packet(std::span<const uint8_t> bytes, LinkType link,
                     std::optional<std::pair<uint16_t, uint16_t>> offloaded_vlan = {});

// Names used by both output formats.
std::string ethertype_name(uint16_t type);       // "IPv4", "ARP", or "0x88cc"
std::string ip_protocol_name(uint8_t protocol);  // "TCP", "ICMPv6", or "253"
std::string tcp_flags_names(uint16_t flags);     // "SYN|ACK"
std::string tcp_flags_tcpdump(uint16_t flags);   // "S.", as tcpdump prints them
std::string mac_string(std::span<const uint8_t> mac);
std::string ip_string(std::span<const uint8_t> addr);  // 4 or 16 bytes

}  // namespace dw::events
