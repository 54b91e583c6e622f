// Enumerates the BPF programs loaded in the kernel, to prove that dropwatch
// leaves none of its own behind.
#pragma once

#include <string>
#include <vector>

namespace dw::test {

// Names of loaded programs whose name starts with `prefix` ("dw_").
std::vector<std::string> loaded_programs(const std::string& prefix);

// True once no program named prefix* is loaded; the kernel frees a detached
// program after an RCU grace period, so this waits up to `seconds`.
bool no_programs_left(const std::string& prefix, double seconds = 5);

}  // namespace dw::test
