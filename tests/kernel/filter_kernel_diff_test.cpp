// The whole compiler checked against libpcap in the kernel: every table
// expression is linked into the harness, must pass the verifier, and its
// verdict on every corpus frame (run with BPF_PROG_TEST_RUN) must equal
// pcap_offline_filter's. Twice where the kernel reads packets in place
// (probe/kernel_features.h): the filter given memory as the probe's copy
// path gives it, and as its in-place path does (untrusted, fault-safe
// loads, the filter static). Fails, never skips, when BPF is unavailable.
#include <gtest/gtest.h>

#include "compiler/pipeline.h"
#include "probe/kernel_features.h"
#include "tests/support/corpus.h"
#include "tests/support/filter_table.h"
#include "tests/support/harness.h"
#include "tests/support/pcap_oracle.h"

namespace dw {
namespace {

using filter::LinkType;

using Mode = probe::FilterHarness::Mode;

struct Totals {
  size_t programs = 0, runs = 0;
};

void check(const std::string& expr, LinkType link, const std::vector<test::CorpusFrame>& frames,
           test::PcapOracle& oracle, std::vector<std::string>& problems, Totals& t, Mode mode) {
  std::string lt = std::string(link == LinkType::Ethernet ? "ether" : "raw") +
                   (mode == Mode::InPlace ? " in place" : "");
  auto theirs = oracle.compile(expr);
  auto fe = filter::compile_front(expr, {link});
  if (theirs.has_value() != !fe.has_value()) {
    problems.push_back(std::string(lt) + ": acceptance differs for '" + expr + "'");
    return;
  }
  if (!fe) return;
  auto h = test::load_harness(fe->dag, mode);
  if (!h) {
    problems.push_back(std::string(lt) + ": '" + expr + "' did not load: " + h.error().message);
    return;
  }
  t.programs++;
  for (const auto& f : frames) {
    auto got = (*h)->run(f.bytes, f.wire_len);
    t.runs++;
    if (!got) {
      problems.push_back(std::string(lt) + ": test_run failed: " + got.error().message);
      return;
    }
    bool want = oracle.matches(f.bytes, f.wire_len);
    if (*got != want)
      problems.push_back(std::string(lt) + ": '" + expr + "' on " + f.name + ": libpcap " +
                         (want ? "accepts" : "rejects") + ", kernel " +
                         (*got ? "accepts" : "rejects"));
  }
}

TEST(KernelFilterDiff, EveryTableExpressionRunsInTheKernelLikeLibpcap) {
  auto exprs = test::filter_table(DW_TEST_DATA "/filters.txt");
  auto eth = test::ethernet_corpus();
  auto eth_rand = test::random_frames(1, 100, true);
  eth.insert(eth.end(), eth_rand.begin(), eth_rand.end());
  auto raw = test::raw_ip_corpus();
  auto raw_rand = test::random_frames(2, 60, false);
  raw.insert(raw.end(), raw_rand.begin(), raw_rand.end());
  test::PcapOracle eth_oracle(DLT_EN10MB), raw_oracle(DLT_RAW);
  std::vector<std::string> problems;
  Totals t;
  std::vector<Mode> modes = {Mode::Copy};
  if (probe::in_place_reads_supported()) modes.push_back(Mode::InPlace);
  for (Mode m : modes) {
    for (const auto& e : exprs) {
      check(e, LinkType::Ethernet, eth, eth_oracle, problems, t, m);
      check(e, LinkType::RawIp, raw, raw_oracle, problems, t, m);
    }
  }
  std::string report;
  for (size_t i = 0; i < problems.size() && i < 40; i++) report += problems[i] + "\n";
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems:\n" << report;
  EXPECT_GT(t.programs, 500u) << "programs loaded through the verifier";
  RecordProperty("programs", int(t.programs));
  RecordProperty("runs", int(t.runs));
  std::printf("kernel diff: %zu programs verified, %zu test runs, %s\n", t.programs, t.runs,
              modes.size() > 1 ? "copy and in place" : "copy only (no in-place reads here)");
}

}  // namespace
}  // namespace dw
