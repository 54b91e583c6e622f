// Random expressions x corpus and random frames, against libpcap:
// DW_RANDOM_COUNT expressions (default 4000, deterministic for the seed
// DW_RANDOM_SEED, default 1), stopping early after DW_RANDOM_SECONDS
// (default 60). For a long hunt: DW_RANDOM_COUNT=0 DW_RANDOM_SECONDS=600.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "compiler/interp.h"
#include "compiler/pipeline.h"
#include "tests/support/corpus.h"
#include "tests/support/pcap_oracle.h"
#include "tests/support/random_filters.h"

namespace dw::filter {
namespace {

double budget_seconds() {
  const char* s = std::getenv("DW_RANDOM_SECONDS");
  return s ? std::atof(s) : 60.0;
}

size_t budget_count() {
  const char* s = std::getenv("DW_RANDOM_COUNT");
  return s ? std::strtoull(s, nullptr, 10) : 4000;
}

TEST(RandomDiff, RandomExpressionsAgreeWithLibpcap) {
  auto eth = test::ethernet_corpus();
  auto er = test::random_frames(21, 150, true);
  eth.insert(eth.end(), er.begin(), er.end());
  auto raw = test::raw_ip_corpus();
  auto rr = test::random_frames(22, 80, false);
  raw.insert(raw.end(), rr.begin(), rr.end());
  test::PcapOracle eth_oracle(DLT_EN10MB), raw_oracle(DLT_RAW);
  uint32_t seed = std::getenv("DW_RANDOM_SEED") ? std::atoi(std::getenv("DW_RANDOM_SEED")) : 1;
  test::RandomFilters gen(seed);
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(budget_seconds()));
  size_t exprs = 0, accepted = 0;
  std::vector<std::string> problems;
  size_t limit = budget_count();
  while (std::chrono::steady_clock::now() < deadline && problems.size() < 20 &&
         (limit == 0 || exprs < limit)) {
    std::string e = gen.next();
    exprs++;
    for (LinkType link : {LinkType::Ethernet, LinkType::RawIp}) {
      auto& oracle = link == LinkType::Ethernet ? eth_oracle : raw_oracle;
      auto& frames = link == LinkType::Ethernet ? eth : raw;
      auto theirs = oracle.compile(e);
      auto ours = compile_front(e, {link});
      const char* lt = link == LinkType::Ethernet ? "ether" : "raw";
      if (theirs.has_value() == ours.has_value()) {
        problems.push_back(std::string(lt) + ": acceptance differs for '" + e + "': libpcap " +
                           (theirs ? *theirs : "ok") + ", ours " +
                           (ours ? "ok" : ours.error().message));
        continue;
      }
      if (!ours) continue;
      accepted++;
      for (const auto& f : frames) {
        bool want = oracle.matches(f.bytes, f.wire_len);
        if (interpret(ours->dag, f.bytes, f.wire_len) != want) {
          problems.push_back(std::string(lt) + ": '" + e + "' on " + f.name + ": libpcap " +
                             (want ? "accepts" : "rejects"));
          break;
        }
      }
    }
  }
  std::string report;
  for (const auto& p : problems) report += p + "\n";
  EXPECT_TRUE(problems.empty()) << report;
  std::printf("random diff: %zu expressions, %zu compiled on a link type, seed %u\n", exprs,
              accepted, seed);
  EXPECT_GT(accepted, 100u);
}

}  // namespace
}  // namespace dw::filter
