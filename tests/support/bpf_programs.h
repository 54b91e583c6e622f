// Proves that dropwatch leaves none of its programs behind, on a host where
// other dropwatch instances (a DaemonSet, another test run) may be running:
// a program is told by who holds it, not by its name alone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace dw::test {

// Names of loaded programs whose name starts with `prefix` ("dw_").
std::vector<std::string> loaded_programs(const std::string& prefix);

// Ids of the programs process `pid` holds, through program or link fds.
std::set<uint32_t> programs_held_by(pid_t pid);

// True once no program named prefix* is loaded that no live process holds
// (what a dropwatch that exited would leave if it leaked one: programs of
// running instances are held by them). The kernel frees a detached program
// after an RCU grace period, so this waits up to `seconds`.
bool no_programs_left(const std::string& prefix, double seconds = 5);

// True once none of `ids` is loaded any more, waiting up to `seconds`.
bool programs_gone(const std::set<uint32_t>& ids, double seconds = 5);

}  // namespace dw::test
