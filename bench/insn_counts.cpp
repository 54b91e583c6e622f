// Instruction counts of the benchmark filters, ours next to tcpdump -d's,
// and the median wall time of a whole `dropfilter EXPR` process. Prints a
// Markdown table.
//   build/bin/dw_insn_counts [RUNS]
#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/codegen.h"
#include "compiler/disasm.h"
#include "compiler/pipeline.h"

namespace {

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 11;
  std::ifstream in(DW_BENCH_DIR "/filters.txt");
  std::string line;
  std::vector<std::string> exprs;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') exprs.push_back(line);
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 262144);
  std::printf(
      "| filter | dropfilter eBPF insns | tcpdump -d cBPF insns | dropfilter process, median ms "
      "|\n");
  std::printf("|---|---:|---:|---:|\n");
  std::vector<double> all_ms;
  for (const auto& e : exprs) {
    auto fe = dw::filter::compile_front(e, {});
    size_t ours = 0;
    if (fe) {
      auto obj = dw::filter::compile_filters({{"dw_filter", &fe->dag}}, {});
      if (obj) dw::filter::disassemble(*obj, "dw_filter", &ours);
    }
    bpf_program prog{};
    unsigned theirs = 0;
    if (pcap_compile(p, &prog, e.c_str(), 1, 0) == 0) {
      theirs = prog.bf_len;
      pcap_freecode(&prog);
    }
    std::vector<double> ms;
    std::string cmd = std::string(DW_BIN_DIR) + "/dropfilter " + quote(e) + " >/dev/null";
    for (int i = 0; i < runs; i++) {
      auto t0 = std::chrono::steady_clock::now();
      if (std::system(cmd.c_str()) != 0) break;
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    double med = ms.empty() ? 0 : ms[ms.size() / 2];
    all_ms.push_back(med);
    std::printf("| `%s` | %zu | %u | %.1f |\n", e.c_str(), ours, theirs, med);
  }
  std::sort(all_ms.begin(), all_ms.end());
  std::printf(
      "\nMedian end-to-end compile (whole process): %.1f ms over %zu filters, %d runs each.\n",
      all_ms[all_ms.size() / 2], all_ms.size(), runs);
  pcap_close(p);
  return 0;
}
