// Instruction counts of the benchmark filters, ours next to tcpdump -d's,
// and the median wall time of a whole `dropfilter EXPR` process; then the
// long lists operators paste (100 ports, 100 hosts, ...), each process
// timed next to `tcpdump -d` on the same expression. Prints Markdown tables.
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

// Median wall time of `cmd` over `runs` runs, in ms; 0 if it failed.
double median_ms(const std::string& cmd, int runs) {
  std::vector<double> ms;
  for (int i = 0; i < runs; i++) {
    auto t0 = std::chrono::steady_clock::now();
    if (std::system(cmd.c_str()) != 0) return 0;
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms.empty() ? 0 : ms[ms.size() / 2];
}

std::string joined(int n, const std::string& sep, std::string (*term)(int)) {
  std::string out;
  for (int i = 0; i < n; i++) out += (i ? sep : "") + term(i);
  return out;
}

// The long lists: 100 terms of each kind operators paste, and 10
// protochains.
void long_lists(int runs) {
  const std::pair<const char*, std::string> lists[] = {
      {"100 ports OR-ed",
       joined(100, " or ", [](int i) { return "port " + std::to_string(1000 + i); })},
      {"100 hosts OR-ed", joined(100, " or ",
                                 [](int i) {
                                   return "host 10.0." + std::to_string(i / 250) + "." +
                                          std::to_string(i % 250 + 1);
                                 })},
      {"100 nets OR-ed",
       joined(100, " or ", [](int i) { return "net 10." + std::to_string(i) + ".0.0/16"; })},
      {"100 `tcp dst port` OR-ed",
       joined(100, " or ", [](int i) { return "tcp dst port " + std::to_string(1000 + i); })},
      {"not 100 source hosts",
       "not (" +
           joined(100, " or ",
                  [](int i) { return "src host 192.168.0." + std::to_string(i + 1); }) +
           ")"},
      {"100 (host and port) pairs", joined(100, " or ",
                                           [](int i) {
                                             return "(host 10.0.0." + std::to_string(i + 1) +
                                                    " and port " + std::to_string(80 + i) + ")";
                                           })},
      {"10 `ip6 protochain` OR-ed",
       joined(10, " or ", [](int i) { return "ip6 protochain " + std::to_string(i + 1); })},
  };
  std::printf(
      "\n| long list | dropfilter process, median ms | tcpdump -d process, median ms | × "
      "tcpdump | eBPF insns | cBPF insns |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 262144);
  for (const auto& [name, e] : lists) {
    double ours =
        median_ms(std::string(DW_BIN_DIR) + "/dropfilter " + quote(e) + " >/dev/null", runs);
    double theirs = median_ms("tcpdump -d " + quote(e) + " >/dev/null 2>&1", runs);
    size_t insns = 0;
    if (auto fe = dw::filter::compile_front(e, {}))
      if (auto obj = dw::filter::compile_filters({{"dw_filter", &fe->dag}}, {}))
        dw::filter::disassemble(*obj, "dw_filter", &insns);
    bpf_program prog{};
    unsigned cbpf = 0;
    if (pcap_compile(p, &prog, e.c_str(), 1, 0) == 0) {
      cbpf = prog.bf_len;
      pcap_freecode(&prog);
    }
    std::printf("| %s | %.0f | %.0f | %.1f | %zu | %u |\n", name, ours, theirs,
                theirs > 0 ? ours / theirs : 0.0, insns, cbpf);
  }
  pcap_close(p);
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
  long_lists(std::max(3, runs / 2));
  return 0;
}
