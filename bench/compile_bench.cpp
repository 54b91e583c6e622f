// Google Benchmark of each compiler stage over the benchmark filters
// (bench/filters.txt):
//   build/bin/dw_compile_bench --benchmark_min_time=0.2s
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "compiler/codegen.h"
#include "compiler/disasm.h"
#include "compiler/lower.h"
#include "compiler/parser.h"
#include "compiler/pipeline.h"
#include "compiler/simplify.h"

namespace {

std::vector<std::string> filters() {
  std::vector<std::string> out;
  std::ifstream in(DW_BENCH_DIR "/filters.txt");
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

const std::vector<std::string>& all() {
  static std::vector<std::string> f = filters();
  return f;
}

void BM_Parse(benchmark::State& s) {
  for (auto _ : s)
    for (const auto& e : all()) benchmark::DoNotOptimize(dw::filter::parse(e));
  s.SetItemsProcessed(s.iterations() * all().size());
}

void BM_Lower(benchmark::State& s) {
  std::vector<std::unique_ptr<dw::filter::Node>> asts;
  for (const auto& e : all()) asts.push_back(std::move(*dw::filter::parse(e)));
  for (auto _ : s)
    for (const auto& a : asts) benchmark::DoNotOptimize(dw::filter::lower(a.get(), {}));
  s.SetItemsProcessed(s.iterations() * all().size());
}

void BM_FrontEnd(benchmark::State& s) {  // parse .. DAG with jump threading
  for (auto _ : s)
    for (const auto& e : all()) benchmark::DoNotOptimize(dw::filter::compile_front(e, {}));
  s.SetItemsProcessed(s.iterations() * all().size());
}

void BM_CodegenObject(benchmark::State& s) {  // DAG -> LLVM IR -> O2 -> BPF ELF
  std::vector<dw::filter::FrontEnd> fes;
  for (const auto& e : all()) fes.push_back(std::move(*dw::filter::compile_front(e, {})));
  for (auto _ : s)
    for (const auto& fe : fes)
      benchmark::DoNotOptimize(dw::filter::compile_filters({{"dw_filter", &fe.dag}}, {}));
  s.SetItemsProcessed(s.iterations() * all().size());
}

BENCHMARK(BM_Parse)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Lower)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FrontEnd)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CodegenObject)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
