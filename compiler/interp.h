// Reference interpreter of the decision DAG, used by tests to check the
// front end against libpcap independently of the code generator.
#pragma once

#include <cstdint>
#include <span>

#include "compiler/dag.h"

namespace dw::filter {

// True when the filter accepts a packet whose first `pkt.size()` bytes were
// captured out of `wire_len`.
bool interpret(const Dag& d, std::span<const uint8_t> pkt, uint32_t wire_len);

}  // namespace dw::filter
