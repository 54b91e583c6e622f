#include "events/conntrack.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <iterator>
#include <nlohmann/json.hpp>

#include "bpf/dropwatch_abi.h"
#include "events/packet.h"

namespace dw::events {
namespace {

// enum ip_conntrack_status, bit by bit (uapi nf_conntrack_common.h).
constexpr const char* kStatusBits[] = {
    "EXPECTED",   "SEEN_REPLY",   "ASSURED",      "CONFIRMED", "SRC_NAT",       "DST_NAT",
    "SEQ_ADJUST", "SRC_NAT_DONE", "DST_NAT_DONE", "DYING",     "FIXED_TIMEOUT", "TEMPLATE",
    "NAT_CLASH",  "HELPER",       "OFFLOAD",      "HW_OFFLOAD"};

// enum ip_conntrack_info: the packet's relation to its entry.
std::string state_name(uint8_t ctinfo) {
  switch (ctinfo) {
    case 0: return "ESTABLISHED";
    case 1: return "RELATED";
    case 2: return "NEW";
    case 3: return "REPLY";
    case 4: return "RELATED_REPLY";
    case DW_CT_UNTRACKED: return "UNTRACKED";
    default: return "INVALID";
  }
}

bool has_ports(uint8_t proto) {
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_DCCP ||
         proto == IPPROTO_SCTP || proto == IPPROTO_UDPLITE;
}
bool is_icmp(uint8_t proto) { return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6; }

CtTuple tuple(const dw_ct_tuple& t) {
  CtTuple out;
  size_t n = t.l3num == AF_INET6 ? 16 : 4;
  out.src = ip_string({t.src, n});
  out.dst = ip_string({t.dst, n});
  out.proto = t.protonum;
  if (has_ports(t.protonum)) {
    out.sport = ntohs(t.src_u);
    out.dport = ntohs(t.dst_u);
  } else if (is_icmp(t.protonum)) {
    const auto* tc = reinterpret_cast<const uint8_t*>(&t.dst_u);
    out.icmp_id = ntohs(t.src_u);
    out.icmp_type = tc[0];
    out.icmp_code = tc[1];
  }
  return out;
}

void tuple_json(json::Object& ct, const char* key, const CtTuple& t) {
  json::Object o = ct.child(key);
  o.str("src", t.src).str("dst", t.dst);
  if (t.sport && t.dport) o.num("sport", *t.sport).num("dport", *t.dport);
  o.str("proto", ip_protocol_name(t.proto));
  if (t.icmp_type && t.icmp_code && t.icmp_id)
    o.num("type", *t.icmp_type).num("code", *t.icmp_code).num("id", *t.icmp_id);
  o.close();
}

Result<CtTuple> tuple_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail("a \"ct\" tuple is not an object");
  CtTuple t;
  t.src = j.value("src", "");
  t.dst = j.value("dst", "");
  std::string proto = j.value("proto", "");
  bool known = false;
  for (int p = 0; p < 256 && !known; p++)
    if (ip_protocol_name(uint8_t(p)) == proto) t.proto = uint8_t(p), known = true;
  if (!known) return fail("\"ct\" names an unknown protocol \"" + proto + "\"");
  if (j.contains("sport")) t.sport = j.at("sport").get<uint16_t>();
  if (j.contains("dport")) t.dport = j.at("dport").get<uint16_t>();
  if (j.contains("type")) {
    t.icmp_type = j.at("type").get<uint8_t>();
    t.icmp_code = j.value("code", uint8_t(0));
    t.icmp_id = j.value("id", uint16_t(0));
  }
  return t;
}

std::string tuple_text(const CtTuple& t) {
  auto end = [](const std::string& a, std::optional<uint16_t> p) {
    return p ? a + "." + std::to_string(*p) : a;
  };
  std::string s = end(t.src, t.sport) + " > " + end(t.dst, t.dport);
  if (t.icmp_type && t.icmp_code && t.icmp_id)
    s += " type " + std::to_string(*t.icmp_type) + " code " + std::to_string(*t.icmp_code) +
         " id " + std::to_string(*t.icmp_id);
  return s;
}

}  // namespace

std::vector<std::string> ct_status_names(uint64_t bits) {
  std::vector<std::string> out;
  for (size_t i = 0; i < 64; i++) {
    if (!(bits >> i & 1)) continue;
    out.push_back(i < std::size(kStatusBits) ? kStatusBits[i] : "BIT" + std::to_string(i));
  }
  return out;
}

Conntrack decode_ct(const dw_ct& ct) {
  Conntrack out;
  out.state = state_name(ct.ctinfo);
  if (ct.ctinfo == DW_CT_UNTRACKED) return out;
  out.status = ct_status_names(ct.status);
  out.zone = ct.zone;
  out.mark = ct.mark;
  out.orig = tuple(ct.orig);
  out.reply = tuple(ct.reply);
  return out;
}

void ct_json(json::Object& event, const Conntrack& ct) {
  json::Object o = event.child("ct");
  o.str("state", ct.state);
  if (ct.orig && ct.reply) {
    o.strings("status", ct.status).num("zone", ct.zone).num("mark", ct.mark);
    tuple_json(o, "orig", *ct.orig);
    tuple_json(o, "reply", *ct.reply);
  }
  o.close();
}

Result<Conntrack> ct_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail("\"ct\" is not an object");
  Conntrack ct;
  ct.state = j.value("state", "");
  if (ct.state.empty()) return fail("\"ct\" has no \"state\"");
  if (j.contains("status")) ct.status = j.at("status").get<std::vector<std::string>>();
  ct.zone = j.value("zone", uint16_t(0));
  ct.mark = j.value("mark", uint32_t(0));
  if (j.contains("orig") != j.contains("reply")) return fail("\"ct\" has one tuple of two");
  if (j.contains("orig")) {
    auto o = tuple_from_json(j.at("orig"));
    if (!o) return std::unexpected(o.error());
    auto r = tuple_from_json(j.at("reply"));
    if (!r) return std::unexpected(r.error());
    ct.orig = *o;
    ct.reply = *r;
  }
  return ct;
}

std::string ct_text(const Conntrack& ct) {
  std::string s = "ct " + ct.state;
  if (!ct.orig || !ct.reply) return s;
  s += " [";
  for (size_t i = 0; i < ct.status.size(); i++) s += (i ? "," : "") + ct.status[i];
  s += "] zone " + std::to_string(ct.zone) + " mark " + std::to_string(ct.mark) + " " +
       ip_protocol_name(ct.orig->proto) + " orig " + tuple_text(*ct.orig) + " reply " +
       tuple_text(*ct.reply);
  return s;
}

}  // namespace dw::events
