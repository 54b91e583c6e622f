// Turns dropwatch's command-line names into what the probe matches on:
// namespace inodes, (namespace, ifindex) device keys, drop-reason codes.
// Every error names the bad value and, where it helps, what would be valid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "probe/drop_reasons.h"
#include "probe/probe.h"

namespace dw::cli {

struct Netns {
  uint32_t inode = 0;
  std::string path;  // a file that opens the namespace, for setns()
};

// INODE, /proc/PID/ns/net, /run/netns/NAME, or NAME (under /run/netns);
// a path must be a network namespace. Empty: dropwatch's own namespace.
Result<Netns> resolve_netns(const std::string& spec);

// Comma-separated device names, looked up in namespace `ns`.
Result<std::vector<probe::DeviceKey>> resolve_devices(const std::string& list, const Netns& ns);

// Comma-separated reason names (NO_SOCKET, or SKB_DROP_REASON_NO_SOCKET),
// checked against the running kernel's reasons.
Result<std::vector<uint32_t>> resolve_reasons(const std::string& list,
                                              const probe::DropReasons& known);

std::vector<std::string> split_list(const std::string& list);

}  // namespace dw::cli
