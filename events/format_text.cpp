#include <netinet/in.h>

#include <cstdio>
#include <ctime>

#include "events/format.h"
#include "events/text.h"

namespace dw::events {
namespace {

std::string endpoint(const std::string& addr, std::optional<uint16_t> port, bool v6) {
  if (!port) return addr;
  return addr + (v6 ? "." : ".") + std::to_string(*port);
}

// tcpdump-style description of the packet, after the device part.
void packet_line(const DropEvent& e, std::string& out) {
  const Layers& l = e.layers;
  if (e.packet.empty()) {
    appendf(out, "no packet headers (protocol 0x%04x len %u)", e.eth_proto, e.skb_len);
    return;
  }
  for (const VlanLayer& v : l.vlans)
    appendf(out, "vlan %u p %u%s, ", v.id, v.pcp, v.offloaded ? " (offloaded)" : "");
  std::optional<uint16_t> sport, dport;
  if (l.tcp) sport = l.tcp->sport, dport = l.tcp->dport;
  if (l.udp) sport = l.udp->sport, dport = l.udp->dport;
  if (l.ipv4) {
    const Ipv4Layer& ip = *l.ipv4;
    out += endpoint(ip_string(ip.src), sport, false) + " > " +
           endpoint(ip_string(ip.dst), dport, false);
    appendf(out, " ttl %u tos 0x%x id %u off %u len %u", ip.ttl, ip.tos, ip.id, ip.frag_offset * 8u,
            ip.len);
    if (ip.flags & 2) out += " [DF]";
    if (ip.flags & 1) out += " [MF]";
    appendf(out, " proto %s (%u)", ip_protocol_name(ip.protocol).c_str(), ip.protocol);
  } else if (l.ipv6) {
    const Ipv6Layer& ip = *l.ipv6;
    out +=
        endpoint(ip_string(ip.src), sport, true) + " > " + endpoint(ip_string(ip.dst), dport, true);
    appendf(out, " ttl %u label 0x%x len %u proto %s (%u)", ip.hop_limit, ip.flow_label, ip.len,
            ip_protocol_name(ip.upper_protocol).c_str(), ip.upper_protocol);
  } else if (l.arp) {
    const ArpLayer& a = *l.arp;
    if (a.sender_ip.empty())
      appendf(out, "ARP op %u", a.operation);
    else if (a.operation == 1)
      out += "ARP, Request who-has " + ip_string(a.target_ip) + " tell " + ip_string(a.sender_ip);
    else if (a.operation == 2)
      out += "ARP, Reply " + ip_string(a.sender_ip) + " is-at " + mac_string(a.sender_mac);
    else
      appendf(out, "ARP op %u", a.operation);
  } else if (l.ether) {
    out += mac_string(l.ether->src) + " > " + mac_string(l.ether->dst);
    if (l.ether->length)
      appendf(out, " 802.3 length %u", *l.ether->length);
    else
      out += " ethertype " + ethertype_name(l.ether->type);
  } else {
    appendf(out, "unknown network header (protocol 0x%04x)", e.eth_proto);
  }
  if (l.tcp) {
    const TcpLayer& t = *l.tcp;
    appendf(out, " flags [%s] seq %u", tcp_flags_tcpdump(t.flags).c_str(), t.seq);
    if (t.flags & 0x10) appendf(out, " ack %u", t.ack);
    appendf(out, " win %u", t.window);
    if (e.has_sk && e.sk_protocol == IPPROTO_TCP)
      out += std::string(" state ") + tcp_state_name(e.sk_state);
  } else if (l.udp) {
    appendf(out, " len %u", l.udp->len);
  } else if (l.icmp || l.icmp6) {
    const IcmpLayer& ic = l.icmp ? *l.icmp : *l.icmp6;
    appendf(out, " type %u code %u", ic.type, ic.code);
    if (ic.id && ic.seq) appendf(out, " id %u seq %u", *ic.id, *ic.seq);
  }
  if (l.fragment) out += " (fragment)";
  if (l.truncated) out += " [|truncated]";
}

}  // namespace

void format_text(const DropEvent& e, std::string& out, bool stack) {
  time_t sec = e.realtime_ns / 1000000000;
  tm t;
  localtime_r(&sec, &t);
  char ts[32];
  strftime(ts, sizeof(ts), "%H:%M:%S", &t);
  appendf(out, "%s.%09lld [", ts, static_cast<long long>(e.realtime_ns % 1000000000));
  append_escaped(out, e.comm);
  appendf(out, "] %u cpu %u drop (reason ", e.pid, e.cpu);
  append_escaped(out, e.reason);
  out += ") at ";
  append_escaped(out, e.location);
  if (!e.task_id.empty()) {
    out += " task ";
    append_escaped(out, e.task_id);
  }
  out += "\n  ";
  if (e.ifindex) {
    appendf(out, "if %d (", e.ifindex);
    append_escaped(out, e.ifname);
    out += ") ";
  } else {
    out += "no device ";
  }
  appendf(out, "netns %u ", e.netns);
  packet_line(e, out);
  out += '\n';
  if (e.ct) out += "  " + ct_text(*e.ct) + '\n';
  if (e.nft) {
    out += "  nft ";
    append_escaped(out, e.nft->family + " " + e.nft->table + " " + e.nft->chain);
    if (e.nft->handle) appendf(out, " handle %llu", (unsigned long long)e.nft->handle);
    out += ": ";
    append_escaped(out, e.nft->rule);
    out += " (verdict ";
    append_escaped(out, e.nft->verdict);
    out += e.nft->ambiguous ? ", ambiguous: another trace had the same headers)\n" : ")\n";
  }
  if (!e.path.empty() || e.path_truncated) {
    out += "  path";
    for (size_t i = 0; i < e.path.size(); i++) {
      const PathHop& h = e.path[i];
      out += i ? " > " : " ";
      append_escaped(out, h.point);
      out += ' ';
      if (h.dev.empty())
        out += "-";
      else
        append_escaped(out, h.dev);
      appendf(out, " (-%llu ns)", static_cast<unsigned long long>(h.ns_before_drop));
    }
    if (e.path_truncated) appendf(out, " (+%u hops not kept)", e.path_truncated);
    out += '\n';
  }
  if (stack) {
    for (const std::string& f : e.stack) {
      out += "    ";
      append_escaped(out, f);
      out += '\n';
    }
    if (e.stack_truncated) out += "    ... (stack truncated)\n";
    if (e.stack_error) out += "    (stack unavailable)\n";
    if (e.stack_skipped) out += "    (no stack: over the stack budget, --stack-budget)\n";
  }
}

}  // namespace dw::events
