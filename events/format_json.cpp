#include <netinet/in.h>

#include <cstdio>
#include <ctime>

#include "events/base64.h"
#include "events/format.h"
#include "events/json.h"

namespace dw::events {
namespace {

std::string hex16(uint16_t v) {
  char b[8];
  std::snprintf(b, sizeof(b), "0x%04x", v);
  return b;
}

std::string ipv4_flags(uint8_t f) {
  std::string s;
  if (f & 2) s = "DF";
  if (f & 1) s += s.empty() ? "MF" : "|MF";
  return s;
}

void icmp_layer(json::Object& layers, const char* name, const IcmpLayer& ic) {
  json::Object o = layers.child(name);
  o.num("type", ic.type).num("code", ic.code).num("checksum", ic.checksum);
  if (ic.id) o.num("id", *ic.id);
  if (ic.seq) o.num("seq", *ic.seq);
  o.close();
}

void layers_json(json::Object& ev, const DropEvent& e) {
  const Layers& l = e.layers;
  json::Object o = ev.child("layers");
  o.str("label", l.label);
  if (l.ether) {
    json::Object eth = o.child("ether");
    eth.str("src", mac_string(l.ether->src)).str("dst", mac_string(l.ether->dst));
    if (l.ether->length)
      eth.str("type", "802.3").num("len", *l.ether->length);
    else
      eth.str("type", ethertype_name(l.ether->type));
    eth.close();
  }
  if (!l.vlans.empty()) {
    o.key("vlan");
    std::string& out = o.raw();
    out += '[';
    for (size_t i = 0; i < l.vlans.size(); i++) {
      const VlanLayer& v = l.vlans[i];
      if (i) out += ',';
      json::Object vo(out);
      vo.num("id", v.id).num("pcp", v.pcp).num("dei", v.dei).str("tpid", hex16(v.tpid));
      vo.str("type", ethertype_name(v.type)).boolean("offloaded", v.offloaded);
      vo.close();
    }
    out += ']';
  }
  if (l.arp) {
    const ArpLayer& a = *l.arp;
    json::Object ao = o.child("arp");
    ao.num("addr_type", a.addr_type).str("protocol", hex16(a.protocol));
    ao.num("hw_address_size", a.hw_size).num("prot_address_size", a.prot_size);
    ao.num("operation", a.operation);
    if (!a.sender_mac.empty()) {
      ao.str("sender_mac", mac_string(a.sender_mac)).str("sender_ip", ip_string(a.sender_ip));
      ao.str("target_mac", mac_string(a.target_mac)).str("target_ip", ip_string(a.target_ip));
    }
    ao.close();
  }
  if (l.ipv4) {
    const Ipv4Layer& ip = *l.ipv4;
    json::Object io = o.child("ipv4");
    io.num("version", ip.version).num("ihl", ip.ihl).num("tos", ip.tos).num("len", ip.len);
    io.num("id", ip.id).str("flags", ipv4_flags(ip.flags)).num("frag_offset", ip.frag_offset);
    io.num("ttl", ip.ttl).str("protocol", ip_protocol_name(ip.protocol));
    io.num("checksum", ip.checksum);
    io.str("src", ip_string(ip.src)).str("dst", ip_string(ip.dst));
    io.close();
  }
  if (l.ipv6) {
    const Ipv6Layer& ip = *l.ipv6;
    json::Object io = o.child("ipv6");
    io.num("version", ip.version).num("traffic_class", ip.traffic_class);
    io.num("flow_label", ip.flow_label).num("len", ip.len);
    io.str("next_header", ip_protocol_name(ip.next_header)).num("hop_limit", ip.hop_limit);
    io.str("src", ip_string(ip.src)).str("dst", ip_string(ip.dst));
    io.close();
  }
  if (l.tcp) {
    const TcpLayer& t = *l.tcp;
    json::Object to = o.child("tcp");
    to.num("sport", t.sport).num("dport", t.dport).num("seq", t.seq).num("ack", t.ack);
    to.num("data_offset", t.data_offset).str("flags", tcp_flags_names(t.flags));
    to.num("window", t.window).num("checksum", t.checksum).num("urgent", t.urgent);
    if (e.has_sk && e.sk_protocol == IPPROTO_TCP) to.str("sk_state", tcp_state_name(e.sk_state));
    to.close();
  }
  if (l.udp) {
    const UdpLayer& u = *l.udp;
    json::Object uo = o.child("udp");
    uo.num("sport", u.sport).num("dport", u.dport).num("len", u.len).num("checksum", u.checksum);
    uo.close();
  }
  if (l.icmp) icmp_layer(o, "icmp", *l.icmp);
  if (l.icmp6) icmp_layer(o, "icmp6", *l.icmp6);
  if (l.truncated) o.boolean("truncated", true);
  o.close();
}

}  // namespace

std::string rfc3339_utc(int64_t realtime_ns) {
  time_t sec = realtime_ns / 1000000000;
  long nsec = realtime_ns % 1000000000;
  tm t;
  gmtime_r(&sec, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", nsec);
  return buf;
}

void format_json(const DropEvent& e, std::string& out, bool packet_data) {
  json::Object o(out);
  o.str("observed_timestamp", rfc3339_utc(e.realtime_ns));
  if (!e.task_id.empty()) o.str("task_id", e.task_id);
  o.str("comm", e.comm).num("pid", e.pid).num("tid", e.tid).num("cpu", e.cpu);
  o.str("reason", e.reason).num("reason_code", e.reason_code);
  o.str("reason_subsys", e.reason_subsys).str("location", e.location);
  o.num("netns", e.netns);
  if (e.ifindex) {
    o.str("netdev_name", e.ifname).num("netdev_ifindex", e.ifindex);
    o.strings("netdev_linkstatus", link_status(e.dev_flags, e.operstate));
  }
  o.num("rx_ifindex", e.rx_ifindex).num("cgroup_id", e.cgroup_id);
  if (e.sk_cgroup_id) {
    o.num("sk_cgroup_id", e.sk_cgroup_id);
    if (!e.cgroup_path.empty()) o.str("cgroup_path", e.cgroup_path);
    if (!e.container_id.empty()) o.str("container_id", e.container_id);
  }
  o.str("packet_eth_proto", hex16(e.eth_proto)).num("packet_len", e.wire_len);
  o.num("capture_len", e.packet.size());
  if (!e.packet.empty()) layers_json(o, e);
  if (packet_data && !e.packet.empty()) {
    o.str("packet_link", e.link == LinkType::Ethernet ? "ether" : "raw");
    o.key("packet");
    out += '"';
    base64_append(e.packet, out);
    out += '"';
  }
  if (!e.stack.empty()) {
    std::string stack;
    for (const std::string& f : e.stack) {
      if (!stack.empty()) stack += '\n';
      stack += f;
    }
    o.str("stack", stack);
  }
  if (e.stack_truncated) o.boolean("stack_truncated", true);
  if (e.stack_error) o.boolean("stack_error", true);
  if (e.stack_skipped) o.boolean("stack_skipped", true);
  if (e.ct) ct_json(o, *e.ct);
  if (e.nft) {
    json::Object n = o.child("nft");
    n.str("family", e.nft->family).str("table", e.nft->table).str("chain", e.nft->chain);
    n.num("handle", e.nft->handle).str("rule", e.nft->rule).str("verdict", e.nft->verdict);
    if (e.nft->ambiguous) n.boolean("ambiguous", true);
    n.close();
  }
  if (!e.path.empty() || e.path_truncated) {
    o.key("path");
    out += '[';
    for (size_t i = 0; i < e.path.size(); i++) {
      const PathHop& h = e.path[i];
      if (i) out += ',';
      json::Object ho(out);
      ho.str("point", h.point);
      if (!h.dev.empty()) ho.str("dev", h.dev);
      ho.snum("ifindex", h.ifindex).num("netns", h.netns).num("ns_before_drop", h.ns_before_drop);
      ho.close();
    }
    out += ']';
    if (e.path_truncated) o.num("path_truncated", e.path_truncated);
  }
  o.close();
  out += '\n';
}

}  // namespace dw::events
