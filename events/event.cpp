#include "events/event.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <time.h>

#include <cstring>

#include "bpf/dropwatch_abi.h"

namespace dw::events {
namespace {

static_assert(sizeof(dw_event) == DW_EVENT_HEADER_SIZE, "event header layout");

int64_t now_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string fixed_string(const char* s, size_t n) { return std::string(s, strnlen(s, n)); }

bool is_tracing_frame(const std::string& sym) {
  static constexpr const char* kPrefixes[] = {
      "bpf_prog_",        "bpf_trace_run",      "__bpf_trace_",   "__traceiter_",
      "trace_event_raw_", "perf_trace_",        "bpf_trampoline", "__probestub_",
      "kfree_skb",        "sk_skb_reason_drop", "__kfree_skb",    "kfree_skb_list_reason",
      "kfree_skb_reason", "consume_skb"};
  for (const char* p : kPrefixes)
    if (sym.starts_with(p)) return true;
  return false;
}

}  // namespace

EventDecoder::EventDecoder(const probe::DropReasons& reasons, const probe::Kallsyms& syms)
    : reasons_(reasons),
      syms_(syms),
      boot_to_realtime_ns_(now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME)) {}

bool EventDecoder::decode(std::span<const uint8_t> record, DropEvent& ev) const {
  if (record.size() < sizeof(dw_event)) return false;
  dw_event h;
  std::memcpy(&h, record.data(), sizeof(h));
  size_t padded = (h.capture_len + 7u) & ~7u;
  size_t path_room = h.flags & DW_EV_PATH ? sizeof(dw_path) : 0;
  if (sizeof(h) + path_room + padded + h.stack_bytes > record.size() || h.stack_bytes % 8)
    return false;

  ev = DropEvent{};
  ev.boot_ns = h.ts_boot_ns;
  ev.realtime_ns = int64_t(h.ts_boot_ns) + boot_to_realtime_ns_;
  ev.comm = fixed_string(h.comm, sizeof(h.comm));
  ev.pid = h.pid;
  ev.tid = h.tid;
  ev.cpu = h.cpu;
  ev.reason_code = h.reason;
  ev.reason = reasons_.name(h.reason);
  ev.reason_subsys = reasons_.subsystem(h.reason);
  ev.location_addr = h.location;
  ev.location = syms_.symbolize(h.location);
  ev.netns = h.netns;
  ev.ifindex = h.ifindex;
  ev.rx_ifindex = h.rx_ifindex;
  ev.ifname = fixed_string(h.ifname, sizeof(h.ifname));
  ev.dev_type = h.dev_type;
  ev.dev_flags = h.dev_flags;
  ev.operstate = h.operstate;
  ev.cgroup_id = h.cgroup_id;
  ev.sk_cgroup_id = h.sk_cgroup_id;
  ev.has_sk = h.flags & DW_EV_HAS_SK;
  ev.sk_state = h.sk_state;
  ev.sk_protocol = h.sk_protocol;
  ev.eth_proto = ntohs(h.protocol);
  ev.wire_len = h.wire_len;
  ev.skb_len = h.skb_len;

  const uint8_t* body = record.data() + sizeof(h) + path_room;
  ev.packet.assign(body, body + h.capture_len);
  ev.link = h.origin == DW_ORIGIN_MAC ? LinkType::Ethernet : LinkType::RawIp;
  if (h.origin != DW_ORIGIN_NONE) {
    ev.layers = decode_packet(ev.packet, ev.link);
    // The probe wrote an offloaded tag into the frame; say where it came from.
    if ((h.flags & DW_EV_VLAN) && !ev.layers.vlans.empty()) ev.layers.vlans[0].offloaded = true;
  }

  std::vector<uint64_t> frames(h.stack_bytes / 8);
  std::memcpy(frames.data(), body + padded, h.stack_bytes);
  ev.stack = trim_stack(frames, h.location, syms_);
  ev.stack_truncated = h.flags & DW_EV_STACK_FULL;
  ev.stack_error = h.flags & DW_EV_STACK_ERROR;
  ev.stack_skipped = h.flags & DW_EV_STACK_SKIPPED;
  if (h.flags & DW_EV_CT) ev.ct = decode_ct(h.ct);
  if (path_room) {
    dw_path p;
    std::memcpy(&p, record.data() + sizeof(h), sizeof(p));
    for (uint32_t i = 0; i < p.count && i < DW_PATH_MAX; i++) {
      const dw_path_hop& hop = p.hops[i];
      ev.path.push_back({path_point_name(hop.point), fixed_string(hop.ifname, sizeof(hop.ifname)),
                         hop.ifindex, hop.netns,
                         h.ts_boot_ns > hop.ts_boot_ns ? h.ts_boot_ns - hop.ts_boot_ns : 0});
    }
    ev.path_truncated = p.truncated;
  }
  return true;
}

std::string path_point_name(uint8_t point) {
  switch (point) {
    case DW_PT_NET_DEV_QUEUE: return "net:net_dev_queue";
    case DW_PT_NET_DEV_START_XMIT: return "net:net_dev_start_xmit";
    case DW_PT_NETIF_RX: return "net:netif_rx";
    case DW_PT_NETIF_RECEIVE_SKB: return "net:netif_receive_skb";
    case DW_PT_NAPI_GRO_RECEIVE: return "net:napi_gro_receive_entry";
    default: return "";
  }
}

std::vector<std::string> trim_stack(const std::vector<uint64_t>& frames, uint64_t location,
                                    const probe::Kallsyms& syms) {
  size_t first = 0;
  const probe::Kallsyms::Symbol* loc = syms.find(location);
  size_t at_location = frames.size();
  for (size_t i = 0; i < frames.size() && loc; i++) {
    if (syms.find(frames[i]) == loc) {
      at_location = i;
      break;
    }
  }
  if (at_location < frames.size()) {
    first = at_location;
  } else {
    while (first < frames.size()) {
      const probe::Kallsyms::Symbol* s = syms.find(frames[first]);
      if (!s || !is_tracing_frame(s->name)) break;
      first++;
    }
  }
  std::vector<std::string> out;
  for (size_t i = first; i < frames.size(); i++) {
    if (frames[i] == 0) break;
    out.push_back(syms.symbolize(frames[i]));
  }
  return out;
}

std::vector<std::string> link_status(uint32_t flags, uint8_t operstate) {
  std::vector<std::string> s;
  if (flags & IFF_UP) s.push_back("up");
  if (flags & IFF_BROADCAST) s.push_back("broadcast");
  if (flags & IFF_LOOPBACK) s.push_back("loopback");
  if (flags & IFF_POINTOPOINT) s.push_back("pointopoint");
  if (flags & IFF_NOARP) s.push_back("noarp");
  if (flags & IFF_PROMISC) s.push_back("promisc");
  if (flags & IFF_MULTICAST) s.push_back("multicast");
  // RUNNING/LOWER_UP/DORMANT are not in dev->flags; dev_get_flags() derives
  // them from the carrier, which operstate (RFC 2863) reflects.
  constexpr uint8_t kOperUnknown = 0, kOperDormant = 5, kOperUp = 6;
  if ((flags & IFF_UP) && (operstate == kOperUp || operstate == kOperUnknown)) {
    s.push_back("running");
    s.push_back("lower_up");
  } else if (operstate == kOperDormant) {
    s.push_back("lower_up");
    s.push_back("dormant");
  }
  return s;
}

const char* tcp_state_name(uint8_t state) {
  static constexpr const char* kNames[] = {"UNKNOWN",      "ESTABLISHED",   "SYN_SENT",  "SYN_RECV",
                                           "FIN_WAIT1",    "FIN_WAIT2",     "TIME_WAIT", "CLOSE",
                                           "CLOSE_WAIT",   "LAST_ACK",      "LISTEN",    "CLOSING",
                                           "NEW_SYN_RECV", "BOUND_INACTIVE"};
  return state < std::size(kNames) ? kNames[state] : "UNKNOWN";
}

}  // namespace dw::events
