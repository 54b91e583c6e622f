// A read-only global of a BPF program and the value it gets at load: the
// probe's knobs (bpf/dropwatch.bpf.c's `const volatile` cfg_*), made by the
// loader (probe/probe.h) and folded into the code by the linker
// (compiler/link.h), so both see one value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dw {

struct RodataValue {
  std::string name;
  std::vector<uint8_t> bytes;  // the target's byte order (little-endian BPF)
};

}  // namespace dw
