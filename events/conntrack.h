// A kept drop's connection-tracking entry (skb->_nfct, read by the probe):
// its state for this packet, the entry's status bits by name, and both
// tuples, so a NAT'd flow shows the address the application used (orig)
// and the one the packet had (reply). Decoded from the probe's dw_ct,
// written to and read back from NDJSON, shown on one text line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "events/json.h"

struct dw_ct;

namespace dw::events {

struct CtTuple {
  std::string src, dst;
  uint8_t proto = 0;  // IPPROTO_*
  // Ports for protocols that have them; the ICMP id, type and code for ICMP.
  std::optional<uint16_t> sport, dport, icmp_id;
  std::optional<uint8_t> icmp_type, icmp_code;
  bool operator==(const CtTuple&) const = default;
};

struct Conntrack {
  // NEW, ESTABLISHED, RELATED, REPLY (established, reply direction),
  // RELATED_REPLY, UNTRACKED; INVALID for a ctinfo the kernel does not define.
  std::string state;
  std::vector<std::string> status;  // IPS_* bits by name: CONFIRMED, DST_NAT, ...
  uint16_t zone = 0;
  uint32_t mark = 0;
  std::optional<CtTuple> orig, reply;  // absent when UNTRACKED
  bool operator==(const Conntrack&) const = default;
};

Conntrack decode_ct(const dw_ct& ct);
std::vector<std::string> ct_status_names(uint64_t bits);

// "ct": {...} in an event object.
void ct_json(json::Object& event, const Conntrack& ct);
Result<Conntrack> ct_from_json(const nlohmann::json& j);
// "ct NEW [CONFIRMED,DST_NAT] zone 0 mark 0 UDP orig 127.0.0.1.4000 >
// 127.0.0.99.7000 reply 127.0.0.1.7001 > 127.0.0.1.4000", on one line.
std::string ct_text(const Conntrack& ct);

}  // namespace dw::events
