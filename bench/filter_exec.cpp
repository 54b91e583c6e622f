// Issue 5, part A: filter execution in the kernel. For each benchmark filter
// (bench/filters.txt), BPF_PROG_TEST_RUN with `repeat` runs over a packet mix
// of: our compiled filter; THE BASELINE, libpcap's optimized classic BPF
// translated to eBPF (bench/cbpf_baseline.h); and an empty filter (the
// harness alone). Prints a Markdown table; --json FILE writes the figures;
// --check FILE fails (exit 1) when a filter needs more instructions than
// FILE records (the deterministic regression check CI runs).
// --filters FILE measures other expressions (bench/long_lists.txt: lists of
// ports and hosts, where the code generator's switches pay).
//   build/bin/dw_filter_exec [--repeat N] [--json FILE] [--check FILE] [--record FILE]
//                            [--filters FILE]
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bench/cbpf_baseline.h"
#include "compiler/codegen.h"
#include "compiler/disasm.h"
#include "compiler/pipeline.h"
#include "probe/kernel_features.h"
#include "tests/support/corpus.h"
#include "tests/support/harness.h"

namespace {

struct Row {
  std::string filter;
  double ours_ns = 0, base_ns = 0, empty_ns = 0;
  size_t ours_insns = 0, base_insns = 0, tcpdump_insns = 0;
  // The probe's in-place path (the harness's dw_harness_in_place): the
  // program's instructions with the filter inlined as a static function,
  // and whether its verdicts equal the copy path's on the mix.
  size_t in_place_insns = 0;
  bool in_place_agrees = false;
};

// Mean kernel ns per filter call over the packet mix (32 calls a run).
double measure(dw::probe::FilterHarness& h, const std::vector<dw::test::CorpusFrame>& mix,
               uint32_t repeat) {
  double total = 0;
  for (const auto& f : mix) {
    auto r = h.ns_per_call(f.bytes, f.wire_len, repeat);
    if (!r) {
      std::fprintf(stderr, "dw_filter_exec: %s\n", r.error().message.c_str());
      std::exit(1);
    }
    total += *r;
  }
  return total / mix.size();
}

std::map<std::string, size_t> read_counts(const std::string& path) {
  std::map<std::string, size_t> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos || line[0] == '#') continue;
    out[line.substr(tab + 1)] = std::stoul(line.substr(0, tab));
  }
  return out;
}

// A table cell for an expression: a long list as its start and its count
// of terms.
std::string shown(const std::string& e) {
  if (e.size() <= 80) return e;
  size_t terms = 1;
  for (size_t at = e.find(" or "); at != std::string::npos; at = e.find(" or ", at + 4)) terms++;
  return e.substr(0, e.rfind(" or ", 48)) + " or ... (" + std::to_string(terms) + " terms)";
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t repeat = 100000;
  std::string json_path, check_path, record_path, filters_path = DW_BENCH_DIR "/filters.txt";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--repeat" && i + 1 < argc)
      repeat = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--json" && i + 1 < argc)
      json_path = argv[++i];
    else if (a == "--check" && i + 1 < argc)
      check_path = argv[++i];
    else if (a == "--record" && i + 1 < argc)
      record_path = argv[++i];
    else if (a == "--filters" && i + 1 < argc)
      filters_path = argv[++i];
    else {
      std::fprintf(
          stderr,
          "usage: dw_filter_exec [--repeat N] [--json FILE] [--check FILE] [--record FILE] "
          "[--filters FILE]\n");
      return 2;
    }
  }
  std::vector<std::string> exprs;
  {
    std::ifstream in(filters_path);
    if (!in) {
      std::fprintf(stderr, "dw_filter_exec: cannot read %s\n", filters_path.c_str());
      return 2;
    }
    std::string line;
    while (std::getline(in, line))
      if (!line.empty() && line[0] != '#') exprs.push_back(line);
  }
  // The packet mix: what drops look like on a busy host.
  std::vector<dw::test::CorpusFrame> mix;
  for (const auto& f : dw::test::ethernet_corpus())
    for (const char* want :
         {"eth-tcp4-syn-80", "eth-tcp4-synack-443", "eth-udp4-dns", "eth-tcp6-syn-80",
          "arp-request", "vlan100-tcp4", "eth-icmp4-echo", "eth-udp6-dns"})
      if (f.name == want) mix.push_back(f);

  pcap_t* p = pcap_open_dead(DLT_EN10MB, 262144);
  dw::filter::Dag accept;
  auto empty = dw::test::load_harness(accept);
  if (!empty) {
    std::fprintf(stderr, "dw_filter_exec: %s\n", empty.error().message.c_str());
    return 1;
  }
  double empty_ns = measure(**empty, mix, repeat);
  std::vector<Row> rows;
  const bool in_place = dw::probe::in_place_reads_supported();
  for (const auto& e : exprs) {
    Row r{e};
    r.empty_ns = empty_ns;
    auto fe = dw::filter::compile_front(e, {});
    bpf_program prog{};
    if (!fe || pcap_compile(p, &prog, e.c_str(), 1, 0) != 0) {
      std::fprintf(stderr, "dw_filter_exec: cannot compile %s\n", e.c_str());
      return 1;
    }
    r.tcpdump_insns = prog.bf_len;
    auto ours_obj = dw::filter::compile_filters({{"dw_filter", &fe->dag}}, {});
    dw::filter::ObjectOptions direct;
    direct.optimize_filters = false;
    auto base_obj = dw::filter::compile_filters({dw::bench::cbpf_filter(&prog)}, direct);
    if (!ours_obj || !base_obj) return 1;
    dw::filter::disassemble(*ours_obj, "dw_filter", &r.ours_insns);
    dw::filter::disassemble(*base_obj, "dw_filter", &r.base_insns);
    auto ours = dw::test::load_harness(fe->dag);
    if (!ours) {
      std::fprintf(stderr, "dw_filter_exec: %s: %s\n", e.c_str(), ours.error().message.c_str());
      return 1;
    }
    r.ours_ns = measure(**ours, mix, repeat);
    if (in_place) {
      auto ip = dw::test::load_harness(fe->dag, dw::probe::FilterHarness::Mode::InPlace);
      if (ip) {
        r.in_place_insns = (*ip)->instruction_count();
        r.in_place_agrees = true;
        for (const auto& f : mix) {
          auto a = (*ours)->run(f.bytes, f.wire_len), b = (*ip)->run(f.bytes, f.wire_len);
          r.in_place_agrees &= a && b && *a == *b;
        }
      } else {
        std::fprintf(stderr, "dw_filter_exec: %s in place: %s\n", e.c_str(),
                     ip.error().message.c_str());
      }
    }
    // libpcap's protochain loops backwards; the translated loop does not get
    // past the verifier, so that filter has no baseline figure.
    auto base = dw::test::load_harness(dw::bench::cbpf_filter(&prog), false);
    r.base_ns = base ? measure(**base, mix, repeat) : 0;
    pcap_freecode(&prog);
    rows.push_back(r);
  }
  pcap_close(p);

  std::vector<double> ratios, net_ratios;
  std::printf(
      "| filter | ours ns | baseline ns | empty ns | ours / baseline | net of empty | insns ours | "
      "insns baseline | tcpdump -d | in place |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  auto in_place_cell = [&](const Row& r) {
    if (!in_place) return std::string("– (kernel lacks it)");
    if (!r.in_place_insns) return std::string("NOT LOADED");
    return std::string(r.in_place_agrees ? "agrees" : "DIFFERS") + ", program " +
           std::to_string(r.in_place_insns) + " insns";
  };
  for (const Row& r : rows) {
    if (r.base_ns == 0) {
      std::printf("| `%s` | %.1f | – (not verifiable) | %.1f | – | – | %zu | %zu | %zu | %s |\n",
                  shown(r.filter).c_str(), r.ours_ns, r.empty_ns, r.ours_insns, r.base_insns,
                  r.tcpdump_insns, in_place_cell(r).c_str());
      continue;
    }
    double ratio = r.ours_ns / r.base_ns;
    double net =
        (r.base_ns - r.empty_ns) > 0.5 ? (r.ours_ns - r.empty_ns) / (r.base_ns - r.empty_ns) : 1.0;
    ratios.push_back(ratio);
    net_ratios.push_back(net);
    std::printf("| `%s` | %.1f | %.1f | %.1f | %.2f | %.2f | %zu | %zu | %zu | %s |\n",
                shown(r.filter).c_str(), r.ours_ns, r.base_ns, r.empty_ns, ratio, net, r.ours_insns,
                r.base_insns, r.tcpdump_insns, in_place_cell(r).c_str());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  std::printf(
      "\nMedian ours / baseline: %.2f (whole run), %.2f (net of the empty harness); "
      "%u runs per packet, %zu packets in the mix.\n",
      median(ratios), median(net_ratios), repeat, mix.size());

  if (!json_path.empty()) {
    std::ofstream j(json_path);
    j << "{\"repeat\":" << repeat << ",\"median_ratio\":" << median(ratios)
      << ",\"median_net_ratio\":" << median(net_ratios) << ",\"filters\":[";
    for (size_t i = 0; i < rows.size(); i++) {
      const Row& r = rows[i];
      std::string f;
      for (char c : r.filter)
        f += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
      j << (i ? "," : "") << "{\"filter\":\"" << f << "\",\"ours_ns\":" << r.ours_ns
        << ",\"baseline_ns\":" << r.base_ns << ",\"empty_ns\":" << r.empty_ns
        << ",\"ours_insns\":" << r.ours_insns << ",\"baseline_insns\":" << r.base_insns
        << ",\"tcpdump_insns\":" << r.tcpdump_insns << "}";
    }
    j << "]}\n";
  }
  if (!record_path.empty()) {
    std::ofstream out(record_path);
    out << "# instruction count<TAB>filter: the ceiling CI checks (dw_filter_exec --check)\n";
    for (const Row& r : rows) out << r.ours_insns << "\t" << r.filter << "\n";
  }
  int rc = 0;
  if (!check_path.empty()) {
    auto recorded = read_counts(check_path);
    for (const Row& r : rows) {
      auto it = recorded.find(r.filter);
      if (it == recorded.end()) {
        std::printf("CHECK: no recorded count for `%s`\n", r.filter.c_str());
        rc = 1;
      } else if (r.ours_insns > it->second) {
        std::printf("CHECK: `%s` needs %zu instructions, recorded %zu\n", r.filter.c_str(),
                    r.ours_insns, it->second);
        rc = 1;
      }
      // The in-place path, where the kernel has it: every benchmark filter
      // loads there and gives the copy path's verdicts.
      if (in_place && !(r.in_place_insns && r.in_place_agrees)) {
        std::printf("CHECK: `%s` in place: %s\n", r.filter.c_str(), in_place_cell(r).c_str());
        rc = 1;
      }
    }
    std::printf("instruction-count check: %s\n", rc ? "FAILED" : "passed");
  }
  return rc;
}
