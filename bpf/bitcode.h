// The BPF programs kept as LLVM bitcode (bpf/CMakeLists.txt), linked with
// compiled filters at run time by compiler/link.h.
#pragma once

#include <cstdint>
#include <span>

extern const unsigned char dw_bc_dropwatch[];
extern const unsigned long dw_bc_dropwatch_size;
extern const unsigned char dw_bc_filter_harness[];
extern const unsigned long dw_bc_filter_harness_size;

namespace dw::bpf {

// bpf/dropwatch.bpf.c: the drop probe.
inline std::span<const uint8_t> probe_bitcode() { return {dw_bc_dropwatch, dw_bc_dropwatch_size}; }
// bpf/filter_harness.bpf.c: runs one filter through BPF_PROG_TEST_RUN.
inline std::span<const uint8_t> harness_bitcode() {
  return {dw_bc_filter_harness, dw_bc_filter_harness_size};
}

}  // namespace dw::bpf
