// A drop as userspace sees it: the kernel's dw_event decoded, names resolved.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "events/conntrack.h"
#include "events/packet.h"
#include "probe/drop_reasons.h"
#include "probe/kallsyms.h"
#include "probe/nft_trace.h"

struct dw_event;

namespace dw::events {

// --track: one place a kept packet was seen before its drop.
struct PathHop {
  std::string point;  // the tracepoint, "net:netif_receive_skb"
  std::string dev;    // the device there, empty without one
  int32_t ifindex = 0;
  uint32_t netns = 0;
  uint64_t ns_before_drop = 0;
  bool operator==(const PathHop&) const = default;
};

struct DropEvent {
  std::string task_id;      // --task-id: names the run
  int64_t realtime_ns = 0;  // kernel time of the drop, as UTC ns since the epoch
  uint64_t boot_ns = 0;
  std::string comm;
  uint32_t pid = 0, tid = 0, cpu = 0;
  uint32_t reason_code = 0;
  std::string reason, reason_subsys;
  uint64_t location_addr = 0;
  std::string location;
  uint32_t netns = 0;
  int32_t ifindex = 0, rx_ifindex = 0;
  std::string ifname;
  uint16_t dev_type = 0;
  uint32_t dev_flags = 0;
  uint8_t operstate = 0;
  uint64_t cgroup_id = 0;
  uint64_t sk_cgroup_id = 0;  // the socket's cgroup (0 without a socket)
  std::string cgroup_path;    // of sk_cgroup_id, below the cgroup2 mount
  std::string container_id;   // from cgroup_path: docker, containerd, cri-o
  bool has_sk = false;
  uint8_t sk_state = 0, sk_protocol = 0;
  uint16_t eth_proto = 0;  // skb->protocol, host order
  uint32_t wire_len = 0, skb_len = 0;
  std::vector<uint8_t> packet;      // captured bytes
  LinkType link = LinkType::RawIp;  // what the packet starts with
  Layers layers;
  std::vector<std::string> stack;  // first frame: the function that dropped
  bool stack_truncated = false, stack_error = false;
  bool stack_skipped = false;         // over the stack budget: no stack taken
  std::optional<Conntrack> ct;        // the skb's conntrack entry, when it had one
  std::optional<probe::NftRule> nft;  // --nft-trace: the rule that dropped it
  std::vector<PathHop> path;          // --track: oldest first
  uint32_t path_truncated = 0;        // hops after the kept ones
};

// --track's point names, by enum dw_path_point; empty for an unknown one.
std::string path_point_name(uint8_t point);

class EventDecoder {
 public:
  EventDecoder(const probe::DropReasons& reasons, const probe::Kallsyms& syms);
  // Validates the record's lengths; returns false for a malformed record.
  bool decode(std::span<const uint8_t> record, DropEvent& out) const;
  // The names of a row of the kernel's drop table.
  std::string reason_name(uint32_t code) const { return reasons_.name(code); }
  std::string location_name(uint64_t addr) const { return syms_.symbolize(addr); }

 private:
  const probe::DropReasons& reasons_;
  const probe::Kallsyms& syms_;
  int64_t boot_to_realtime_ns_;
};

// Drops the frames of the tracing machinery (bpf_prog_*, bpf_trace_run*, the
// tracepoint and kfree_skb helpers) so the first frame is `location`'s function.
std::vector<std::string> trim_stack(const std::vector<uint64_t>& frames, uint64_t location,
                                    const probe::Kallsyms& syms);

// net_device flags and operstate as names ("up", "running", "lower_up", ...).
std::vector<std::string> link_status(uint32_t flags, uint8_t operstate);
const char* tcp_state_name(uint8_t state);

}  // namespace dw::events
