// The drop probe linked with libpcap's cBPF for an expression, translated
// as bench/cbpf_baseline.h does (the cbpfc way), for both entries: the
// peers' filter code in dropwatch's probe. Apart from cbpf_baseline.h, whose
// pcap headers clash with libbpf's.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/rodata.h"
#include "compiler/diagnostic.h"

namespace dw::bench {

filter::Expected<std::vector<uint8_t>> link_probe_cbpf(const std::string& expr,
                                                       std::span<const RodataValue> rodata);

}  // namespace dw::bench
