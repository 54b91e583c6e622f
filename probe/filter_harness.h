// Runs a compiled filter in the kernel: the harness program (bpf/
// filter_harness.bpf.c) linked with the filter (compiler/link.h:
// link_harness), loaded through the verifier, and executed with
// BPF_PROG_TEST_RUN on packets of any length.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

struct bpf_object;

namespace dw::probe {

class FilterHarness {
 public:
  // Loads the linked harness object; a verifier rejection is an error
  // carrying the verifier's log. `capacity` is the buffer the filter was
  // linked for (ObjectOptions::capacity): packets are cut to it.
  // InPlace: the filter reads the packet as the probe's in-place path
  // reads an skb (static linkage, untrusted pointer; in_place_reads_supported()).
  enum class Mode { Copy, InPlace };
  static Result<std::unique_ptr<FilterHarness>> load(std::span<const uint8_t> elf,
                                                     uint32_t capacity = 4096,
                                                     Mode mode = Mode::Copy);
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
  uint32_t capacity() const { return capacity_; }

 private:
  FilterHarness() = default;
  ::bpf_object* obj_ = nullptr;
  int prog_fd_ = -1;
  int x32_fd_ = -1;
  int map_fd_ = -1;
  uint32_t insns_ = 0;
  uint32_t capacity_ = 4096;
  std::vector<uint8_t> buf_;  // the map value
};

}  // namespace dw::probe
