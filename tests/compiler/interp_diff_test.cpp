// Lowering checked against libpcap, without the code generator: the IR
// interpreter's verdicts must equal pcap_offline_filter's on the corpus.
#include <gtest/gtest.h>

#include "compiler/interp.h"
#include "compiler/pipeline.h"
#include "tests/support/corpus.h"
#include "tests/support/filter_table.h"
#include "tests/support/pcap_oracle.h"

namespace dw::filter {
namespace {

using test::CorpusFrame;

struct Mismatch {
  std::string what;
};

// Compares one expression on one link type; returns human-readable problems.
std::vector<std::string> compare(const std::string& expr, LinkType link,
                                 const std::vector<CorpusFrame>& frames, test::PcapOracle& oracle) {
  std::vector<std::string> problems;
  auto theirs = oracle.compile(expr);
  auto ours = compile_front(expr, {link});
  const char* lt = link == LinkType::Ethernet ? "ether" : "raw";
  if (theirs && ours) {
    problems.push_back(std::string(lt) + ": libpcap rejects (" + *theirs +
                       ") but we accept: " + expr);
    return problems;
  }
  if (!theirs && !ours) {
    problems.push_back(std::string(lt) + ": we reject (" + ours.error().message +
                       ") but libpcap accepts: " + expr);
    return problems;
  }
  if (theirs) return problems;  // both reject
  for (const CorpusFrame& f : frames) {
    bool want = oracle.matches(f.bytes, f.wire_len);
    bool got = interpret(ours->dag, f.bytes, f.wire_len);
    if (want != got)
      problems.push_back(std::string(lt) + ": '" + expr + "' on " + f.name + ": libpcap " +
                         (want ? "accepts" : "rejects") + ", we " + (got ? "accept" : "reject"));
  }
  return problems;
}

TEST(InterpDiff, EveryTableExpressionAgreesWithLibpcap) {
  auto exprs = test::filter_table(DW_TEST_DATA "/filters.txt");
  ASSERT_GT(exprs.size(), 300u);
  auto eth = test::ethernet_corpus();
  auto eth_rand = test::random_frames(1, 300, true);
  eth.insert(eth.end(), eth_rand.begin(), eth_rand.end());
  auto raw = test::raw_ip_corpus();
  auto raw_rand = test::random_frames(2, 200, false);
  raw.insert(raw.end(), raw_rand.begin(), raw_rand.end());
  test::PcapOracle eth_oracle(DLT_EN10MB), raw_oracle(DLT_RAW);
  std::vector<std::string> problems;
  for (const auto& e : exprs) {
    auto p = compare(e, LinkType::Ethernet, eth, eth_oracle);
    problems.insert(problems.end(), p.begin(), p.end());
    p = compare(e, LinkType::RawIp, raw, raw_oracle);
    problems.insert(problems.end(), p.begin(), p.end());
  }
  std::string report;
  for (size_t i = 0; i < problems.size() && i < 60; i++) report += problems[i] + "\n";
  EXPECT_TRUE(problems.empty()) << problems.size() << " disagreements, first ones:\n" << report;
}

}  // namespace
}  // namespace dw::filter
