// Runs a compiled filter in the kernel: the harness program (bpf/
// filter_harness.bpf.c) linked with the filter, loaded through the verifier,
// and executed with BPF_PROG_TEST_RUN on packets of any length.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "compiler/codegen.h"
#include "compiler/dag.h"
#include "probe/result.h"

struct bpf_object;

namespace dw {

class FilterHarness {
 public:
  // Links `dag` into the harness and loads it; a verifier rejection is an
  // error carrying the verifier's log.
  static Result<std::unique_ptr<FilterHarness>> load(const filter::Dag& dag);
  // A filter from FilterDef (its name is replaced by the harness's);
  // optimize: ObjectOptions::optimize_filters.
  static Result<std::unique_ptr<FilterHarness>> load(filter::FilterDef def, bool optimize = true);
  ~FilterHarness();
  FilterHarness(const FilterHarness&) = delete;
  FilterHarness& operator=(const FilterHarness&) = delete;

  // The kernel's verdict on a packet whose captured bytes are `pkt` out of
  // `wire_len` on the wire. `repeat` > 1 runs it that many times and reports
  // the kernel's average duration in *ns_per_run.
  Result<bool> run(std::span<const uint8_t> pkt, uint32_t wire_len, uint32_t repeat = 1,
                   uint64_t* ns_per_run = nullptr);
  // bench/: ns per filter call, from a program calling the filter 32 times
  // per run (run `repeat` times), so test_run's own overhead is amortised.
  Result<double> ns_per_call(std::span<const uint8_t> pkt, uint32_t wire_len, uint32_t repeat);
  uint32_t instruction_count() const { return insns_; }

 private:
  FilterHarness() = default;
  ::bpf_object* obj_ = nullptr;
  int prog_fd_ = -1;
  int x32_fd_ = -1;
  int map_fd_ = -1;
  uint32_t insns_ = 0;
};

}  // namespace dw
