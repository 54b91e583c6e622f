// The probe's counters as userspace sees them: one entry per DW_COUNTERS
// row of bpf/dropwatch_abi.h, summed over the CPUs. The metrics and the
// exit report walk counter_info() instead of naming counters one by one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "bpf/dropwatch_abi.h"

namespace dw::probe {

enum class Counter : size_t {
#define DW_COUNTER_ENUM(name, ...) name,
  DW_COUNTERS(DW_COUNTER_ENUM)
#undef DW_COUNTER_ENUM
};

#define DW_COUNTER_NAME(name, ...) #name,
inline constexpr const char* kCounterNames[] = {DW_COUNTERS(DW_COUNTER_NAME)};
#undef DW_COUNTER_NAME
constexpr size_t kCounters = std::size(kCounterNames);

// Where a drop ended (dropwatch_abi.h): TOTAL is `seen`; every drop seen is
// in exactly one NOISE, GATE, LOSS or EMIT counter; INFO counts again.
enum class CounterKind { TOTAL, NOISE, GATE, LOSS, EMIT, INFO };

struct CounterInfo {
  std::string_view name;  // "reason_rejected"
  CounterKind kind;
  std::string_view phrase;  // exit report: "N by reason"
  std::string_view metric;  // Prometheus family
  std::string_view label;   // `gate="reason"`, or empty
  std::string_view help;    // the family's HELP text
};

const std::array<CounterInfo, kCounters>& counter_info();

struct Counters {
  std::array<uint64_t, kCounters> v{};
  uint64_t operator[](Counter c) const { return v[size_t(c)]; }
  uint64_t& operator[](Counter c) { return v[size_t(c)]; }
  // Sum of the counters of one kind.
  uint64_t sum(CounterKind k) const;
  bool operator==(const Counters&) const = default;
};

// Sums the CPUs' entries of map counters (struct dw_cpu_state).
Counters sum_cpus(const dw_cpu_state* per_cpu, size_t ncpus);

}  // namespace dw::probe
