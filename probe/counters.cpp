#include "probe/counters.h"

#include <cstring>

namespace dw::probe {

static_assert(sizeof(dw_counters) == kCounters * sizeof(uint64_t), "dw_counters is all u64");

const std::array<CounterInfo, kCounters>& counter_info() {
  static const std::array<CounterInfo, kCounters> info = {{
#define DW_COUNTER_INFO(name, kind, phrase, metric, label, help) \
  {#name, CounterKind::kind, phrase, metric, label, help},
      DW_COUNTERS(DW_COUNTER_INFO)
#undef DW_COUNTER_INFO
  }};
  return info;
}

uint64_t Counters::sum(CounterKind k) const {
  uint64_t n = 0;
  for (size_t i = 0; i < kCounters; i++)
    if (counter_info()[i].kind == k) n += v[i];
  return n;
}

Counters sum_cpus(const dw_cpu_state* per_cpu, size_t ncpus) {
  Counters c;
  for (size_t cpu = 0; cpu < ncpus; cpu++) {
    uint64_t fields[kCounters];
    std::memcpy(fields, &per_cpu[cpu].c, sizeof(fields));
    for (size_t i = 0; i < kCounters; i++) c.v[i] += fields[i];
  }
  return c;
}

}  // namespace dw::probe
