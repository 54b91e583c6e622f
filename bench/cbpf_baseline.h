// THE BASELINE, not dropwatch's compiler: libpcap's optimized classic BPF
// for an expression, translated instruction by instruction into an eBPF
// function over the same captured buffer, the way tools built on libpcap do
// it (cbpfc for pwru and Retis). Each cBPF load becomes a bounds-checked
// load; A, X and M[] become registers (mem2reg) and nothing else is
// optimized, as a direct translator emits it: the optimization is libpcap's.
#pragma once

#include <pcap/pcap.h>

#include "compiler/codegen.h"

namespace dw::bench {

// A FilterDef whose body is the translation of `prog` (which must outlive it).
// Compile it with ObjectOptions::optimize_filters = false.
filter::FilterDef cbpf_filter(const bpf_program* prog);

}  // namespace dw::bench
