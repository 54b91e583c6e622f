// Stages 6-7: the decision DAG becomes an LLVM function
// `i32 NAME(ptr data, i32 caplen, i32 wirelen)` (1 accept, 0 reject),
// optimized on its own and compiled by libLLVM's BPF backend into an ELF
// object in memory. The filter stays one global BPF function, never
// inlined, with BTF from generated debug info: the verifier checks it once
// with `data` as a buffer of capacity + 8 bytes, and the same machine code
// runs in the dump, the harness and the probe (stage 8, compiler/link.h;
// tests/compiler/same_code_test.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "compiler/dag.h"
#include "compiler/diagnostic.h"

namespace dw::filter {

class IRBuilderBPF;

struct FilterDef {
  std::string name;  // the symbol the program calls, e.g. "dw_filter_link"
  const Dag* dag;
  // Instead of `dag`: a body written by the caller (bench/'s translator of
  // libpcap's classic BPF, the baseline). The builder is at the function's
  // entry; branch to its accept()/reject() blocks.
  std::function<void(IRBuilderBPF&)> body = nullptr;
};

struct ObjectOptions {
  uint32_t capacity = 4096;  // bytes addressable behind `data`, power of two
  // Optimize the filters with LLVM's O2 (ours); false: only keep values in
  // registers (mem2reg), as a direct translator such as cbpfc produces.
  bool optimize_filters = true;
  std::string* llvm_ir = nullptr;  // when set, receives the final module text
};

// Filters alone, each an external function: for --dump-bpf and --dump-llvm.
// A filter too large for eBPF (jumps over 32767 instructions, a function of
// more than kMaxFilterInstructions LLVM instructions) is an error.
Expected<std::vector<uint8_t>> compile_filters(const std::vector<FilterDef>& filters,
                                               const ObjectOptions& opts);

// LLVM instructions a filter may have before optimization: bounds the time
// and memory LLVM spends on a hostile expression ("expression too complex").
// LLVM's time grows faster than the size: 46,000 (45 `ip6 protochain`
// terms, 26,000 eBPF instructions) take 2.6 s here; eBPF's 16-bit jumps end
// near 60,000 anyway.
constexpr size_t kMaxFilterInstructions = 50000;

}  // namespace dw::filter
