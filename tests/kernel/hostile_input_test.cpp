// Hostile filter expressions, through every command that compiles one
// (dropfilter, dropwatch --filter, dropwatch print --filter): each ends,
// fast, with libpcap's answer where it has one and otherwise one clear
// error, never a crash, an abort or a stack overflow, and nothing loaded.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/binaries.h"
#include "tests/support/bpf_programs.h"
#include "tests/support/process.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

std::string repeat(const std::string& s, size_t n, const std::string& sep = "") {
  std::string out;
  for (size_t i = 0; i < n; i++) out += (i ? sep : "") + s;
  return out;
}

struct Hostile {
  std::string name;
  std::string expr;
  std::string error;       // empty: it compiles (libpcap compiles it too)
  bool ebpf_only = false;  // too large for eBPF code; the interpreter takes it
};

std::vector<Hostile> hostile() {
  std::string chain;
  for (int i = 1; i <= 60; i++)
    chain += std::string(i > 1 ? " or " : "") + "ip6 protochain " + std::to_string(i);
  return {
      {"4 geneve", repeat("geneve", 4, " or "), ""},
      {"5 geneve", repeat("geneve", 5, " or "), ""},
      {"mixed geneve", repeat("(geneve 7 and tcp port 80)", 4, " or "), ""},
      {"6 geneve", repeat("geneve", 6, " or "), "too many registers needed"},
      {"20k parentheses", repeat("(", 20000) + "tcp" + repeat(")", 20000), "nested too deeply"},
      {"30k not", repeat("not ", 30000) + "tcp", "nested too deeply"},
      {"100k !", repeat("!", 100000) + "tcp", "nested too deeply"},
      {"100k unary -", repeat("-", 100000) + "1 = 0", "nested too deeply"},
      // one walk, shared by the sixty tests (it used to be sixty walks)
      {"60 ip6 protochain", chain, ""},
      {"100k digits", repeat("1", 100000), "overflows 32 bits"},
      {"10k or-ed ports", repeat("port 80", 10000, " or "), "too complex"},
  };
}

using Outcome = Finished;

Outcome run(const std::vector<std::string>& argv) { return run_to_end(argv); }

void expect(const Hostile& h, const Outcome& o, int error_status, const char* tool) {
  SCOPED_TRACE(std::string(tool) + ": " + h.name);
  ASSERT_NE(o.status, -1) << "still running after 60 s";
  std::printf("%s, %s: exit %d in %.2f s\n", tool, h.name.c_str(), o.status, o.seconds);
  if (h.error.empty()) {
    EXPECT_EQ(o.status, 0) << o.err;
    return;
  }
  EXPECT_EQ(o.status, error_status) << o.err.substr(0, 2000);
  EXPECT_NE(o.err.find(h.error), std::string::npos) << o.err.substr(0, 2000);
  // The message, then an excerpt of the expression with its caret.
  EXPECT_LE(std::count(o.err.begin(), o.err.end(), '\n'), 3) << o.err.substr(0, 2000);
  EXPECT_LT(o.err.size(), 600u) << "a 100 KB expression is not echoed back";
}

TEST(HostileInput, DropfilterAnswersEachInBoundedTime) {
  for (const auto& h : hostile())
    expect(h, run({std::string(DW_BIN_DIR) + "/dropfilter", h.expr}), 1, "dropfilter");
}

TEST(HostileInput, DropwatchRefusesThemBeforeLoadingAnything) {
  char tmpl[] = "/tmp/dw-hostile-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::string out = std::string(tmpl) + "/drops.pcapng";
  for (const auto& h : hostile()) {
    if (h.error.empty()) continue;  // those start watching: not this test's business
    // -w first: the file must not be created before the filter compiled.
    expect(h, run({dropwatch_path(), "-w", out, "--filter", h.expr}), 2, "dropwatch --filter");
    EXPECT_NE(access(out.c_str(), F_OK), 0) << h.name << ": " << out << " was created";
  }
  EXPECT_TRUE(no_programs_left("dw_"));
  std::system(("rm -rf " + std::string(tmpl)).c_str());
}

TEST(HostileInput, PrintRefusesThemToo) {
  for (Hostile h : hostile()) {
    if (h.error.empty()) continue;
    if (h.ebpf_only) h.error.clear();  // print runs the DAG, no eBPF
    expect(h, run({dropwatch_path(), "print", "/dev/null", "--filter", h.expr}), 2,
           "dropwatch print --filter");
  }
}

// CLI11 reads "[a,b]" as a list: "[tcp]" was accepted as "tcp".
TEST(HostileInput, BracketsAreTheFiltersNotTheParsers) {
  Outcome o = run({std::string(DW_BIN_DIR) + "/dropfilter", "[tcp]"});
  EXPECT_EQ(o.status, 1) << o.err;
  EXPECT_NE(o.err.find("syntax error"), std::string::npos) << o.err;
  Outcome n = run({dropwatch_path(), "--list-noise-rules", "--no-default-noise-rules",
                   "--noise-rule", "[a,b]"});
  EXPECT_EQ(n.status, 0) << n.err;
  EXPECT_TRUE(n.out.starts_with("[a,b] ")) << "one pattern, as written:\n" << n.out;
}

}  // namespace
}  // namespace dw::test
