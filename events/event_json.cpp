#include "events/event_json.h"

#include <nlohmann/json.hpp>

#include <ctime>

#include "events/base64.h"

namespace dw::events {

std::optional<int64_t> parse_rfc3339_utc(std::string_view s) {
  tm t{};
  unsigned ns = 0;
  int used = 0;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%9uZ%n", &t.tm_year, &t.tm_mon, &t.tm_mday,
                  &t.tm_hour, &t.tm_min, &t.tm_sec, &ns, &used) != 7 ||
      size_t(used) != str.size() || str.size() != 30)
    return std::nullopt;
  // Nanoseconds since 1970 fit an int64 until 2262; before 1970 no drop
  // was ever recorded.
  if (t.tm_year < 1970 || t.tm_year > 2261 || t.tm_mon < 1 || t.tm_mon > 12 || t.tm_mday < 1 ||
      t.tm_mday > 31 || t.tm_hour > 23 || t.tm_min > 59 || t.tm_sec > 60 || ns > 999999999)
    return std::nullopt;
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  time_t sec = timegm(&t);
  if (sec == time_t(-1)) return std::nullopt;
  return int64_t(sec) * 1000000000 + ns;
}

Result<DropEvent> parse_event_json(std::string_view line) {
  using nlohmann::json;
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded()) return fail("not JSON (a truncated or corrupt line)");
  if (!j.is_object()) return fail("not a JSON object");
  DropEvent ev;
  try {
    auto ts = j.contains("observed_timestamp")
                  ? parse_rfc3339_utc(j.at("observed_timestamp").get<std::string>())
                  : std::nullopt;
    if (!ts) return fail("no valid \"observed_timestamp\"");
    ev.realtime_ns = *ts;
    ev.task_id = j.value("task_id", "");
    ev.reason = j.value("reason", "");
    if (ev.reason.empty()) return fail("no \"reason\"");
    ev.reason_code = j.value("reason_code", 0u);
    ev.reason_subsys = j.value("reason_subsys", "");
    ev.location = j.value("location", "");
    ev.comm = j.value("comm", "");
    ev.pid = j.value("pid", 0u);
    ev.tid = j.value("tid", 0u);
    ev.cpu = j.value("cpu", 0u);
    ev.netns = j.value("netns", 0u);
    ev.ifname = j.value("netdev_name", "");
    ev.ifindex = j.value("netdev_ifindex", 0);
    ev.rx_ifindex = j.value("rx_ifindex", 0);
    ev.cgroup_id = j.value("cgroup_id", uint64_t(0));
    ev.sk_cgroup_id = j.value("sk_cgroup_id", uint64_t(0));
    ev.cgroup_path = j.value("cgroup_path", "");
    ev.container_id = j.value("container_id", "");
    ev.eth_proto = uint16_t(std::stoul(j.value("packet_eth_proto", "0x0000"), nullptr, 16));
    ev.wire_len = j.value("packet_len", 0u);
    ev.skb_len = ev.wire_len;
    if (j.contains("packet")) {
      auto bytes = base64_decode(j.at("packet").get<std::string>());
      if (!bytes) return fail("\"packet\" is not base64");
      if (bytes->size() != j.value("capture_len", size_t(0)))
        return fail("\"packet\" holds " + std::to_string(bytes->size()) +
                    " bytes, \"capture_len\" says " + std::to_string(j.value("capture_len", 0)));
      ev.packet = std::move(*bytes);
      std::string link = j.value("packet_link", "");
      if (link != "ether" && link != "raw") return fail("\"packet_link\" is not ether or raw");
      ev.link = link == "ether" ? LinkType::Ethernet : LinkType::RawIp;
      ev.layers = decode_packet(ev.packet, ev.link);
      if (j.contains("layers") && j["layers"].contains("vlan")) {
        const json& v = j["layers"]["vlan"];
        for (size_t i = 0; i < v.size() && i < ev.layers.vlans.size(); i++)
          ev.layers.vlans[i].offloaded = v[i].value("offloaded", false);
      }
      if (j.contains("layers") && j["layers"].contains("tcp") &&
          j["layers"]["tcp"].contains("sk_state")) {
        std::string st = j["layers"]["tcp"]["sk_state"];
        for (uint8_t s = 1; s < 14; s++)
          if (st == tcp_state_name(s)) ev.has_sk = true, ev.sk_state = s, ev.sk_protocol = 6;
      }
    }
    if (j.contains("stack")) {
      std::string s = j.at("stack").get<std::string>();
      size_t start = 0;
      while (start <= s.size() && !s.empty()) {
        size_t nl = s.find('\n', start);
        ev.stack.push_back(s.substr(start, nl == std::string::npos ? nl : nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
    }
    ev.stack_truncated = j.value("stack_truncated", false);
    ev.stack_error = j.value("stack_error", false);
    ev.stack_skipped = j.value("stack_skipped", false);
    if (j.contains("nft")) {
      const json& n = j.at("nft");
      if (!n.is_object() || !n.contains("table")) return fail("\"nft\" has no \"table\"");
      probe::NftRule r;
      r.family = n.value("family", "");
      r.table = n.at("table").get<std::string>();
      r.chain = n.value("chain", "");
      r.handle = n.value("handle", uint64_t(0));
      r.rule = n.value("rule", "");
      r.verdict = n.value("verdict", "drop");
      r.ambiguous = n.value("ambiguous", false);
      ev.nft = std::move(r);
    }
    if (j.contains("path")) {
      for (const json& h : j.at("path")) {
        if (!h.is_object() || !h.contains("point")) return fail("a \"path\" hop has no \"point\"");
        ev.path.push_back({h.at("point").get<std::string>(), h.value("dev", ""),
                           h.value("ifindex", 0), h.value("netns", 0u),
                           h.value("ns_before_drop", uint64_t(0))});
      }
    }
    ev.path_truncated = j.value("path_truncated", 0u);
    if (j.contains("ct")) {
      auto ct = ct_from_json(j.at("ct"));
      if (!ct) return std::unexpected(ct.error());
      ev.ct = std::move(*ct);
    }
  } catch (const std::exception& e) {
    return fail(std::string("a field has the wrong type: ") + e.what());
  }
  return ev;
}

}  // namespace dw::events
