// Interpreter of the decision DAG: what `dropwatch print/pcap --filter` run
// on stored packets (no kernel needed), and the reference the tests check
// the front end with against libpcap, independently of the code generator.
#pragma once

#include <cstdint>
#include <span>

#include "compiler/dag.h"

namespace dw::filter {

// True when the filter accepts a packet whose first `pkt.size()` bytes were
// captured out of `wire_len`.
bool interpret(const Dag& d, std::span<const uint8_t> pkt, uint32_t wire_len);

}  // namespace dw::filter
