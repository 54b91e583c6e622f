// The command line as tcpdump users type it: a filter as words after the
// options, several stored files after `print`, and every mistake (an
// unknown or misspelt flag, a value that is not a number, an empty list,
// two filters) named on stderr with exit status 2, before anything loads.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/binaries.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

std::string dropfilter_path() { return std::string(DW_BIN_DIR) + "/dropfilter"; }

// A file in /tmp for -F, removed with the test's end.
struct FilterFile {
  explicit FilterFile(const std::string& text) {
    char tmpl[] = "/tmp/dw-filter-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) return;
    path = tmpl;
    (void)!write(fd, text.data(), text.size());
    close(fd);
  }
  ~FilterFile() { std::remove(path.c_str()); }
  std::string path;
};

struct Mistake {
  std::vector<std::string> args;  // after the binary
  std::string error;              // in stderr
  bool dropfilter = false;
  int status = 2;  // dropfilter: 1 for an expression it cannot compile or read
};

TEST(CommandLine, EachMistakeIsNamed) {
  const Mistake cases[] = {
      {{"--count", "abc"}, "dropwatch: --count: 'abc' is not a whole number\n"},
      {{"--count", "1.5"}, "--count: '1.5' is not a whole number"},
      {{"--count", "-1"}, "--count: '-1' is not a whole number"},
      {{"--duration", "1x"}, "--duration: '1x' is not a number of seconds"},
      {{"--snaplen", "100000"}, "--snaplen: 100000 is more than 4096"},
      {{"--summary", "0"}, "--summary: 0 is less than 0.001"},
      {{"--max-events-per-second", "5000000000"},
       "--max-events-per-second: 5000000000 is more than 4294967295"},
      {{"--stak-budget", "5"}, "unknown option '--stak-budget'; did you mean --stack-budget?\n"},
      {{"--dev", "lo"}, "unknown option '--dev'; did you mean --device?"},
      {{"--interval=5"}, "unknown option '--interval'\n"},
      {{"-Z"}, "unknown option '-Z'\n"},
      {{"--device", ""}, "--device: no device names given"},
      {{"--reason-excluded", " , "}, "--reason-excluded: no reason names given"},
      {{"-f", "udp", "tcp", "port", "80"},
       "two filters: --filter 'udp' and the words 'tcp port 80' (give one)"},
      {{"tcp", "print", "x.ndjson"}, "'tcp' before the command print: give it as its --filter"},
      {{"print", "x.ndjson", "--bogus"},
       "print: unknown option '--bogus'\n"
       "Run 'dropwatch print --help' for the options."},
      {{"tcp", "port"},
       "filter:1:9: error: syntax error: unexpected end of expression\ntcp port\n        ^\n"},
      {{"--dump-bfp", "tcp"}, "unknown option '--dump-bfp'; did you mean --dump-bpf?", true},
      {{"--link", "raw", "tcp"}, "unknown option '--link'; did you mean --link-type?", true},
  };
  FilterFile bad("tcp port 80 # web\n  or port 99999\n");
  const Mistake file_cases[] = {
      {{"-F", bad.path},
       bad.path + ":2:11-15: error: illegal port number 99999 > 65535\n  or port 99999\n"
                  "          ^~~~~\n"},
      {{"-F", bad.path}, bad.path + ":2:11-15: error: illegal port number", true, 1},
      {{"-F", "/nonexistent.filter"}, "-F /nonexistent.filter: No such file or directory"},
      {{"-F", "/tmp"}, "-F /tmp: Is a directory", true, 1},
      {{"-F", "/dev/zero"}, "-F /dev/zero: larger than 1 MiB, not a filter expression"},
      {{"-F", bad.path, "-f", "udp"}, "two filters: --filter 'udp' and -F " + bad.path},
      {{"-F", bad.path, "udp"}, "two filters: -F " + bad.path + " and the words 'udp'"},
      {{"-F", bad.path, "udp"}, "two expressions: -F " + bad.path + " and the words 'udp'", true},
      {{}, "dropfilter: no expression: give one, as words or with -F FILE", true},
  };
  std::vector<Mistake> all(std::begin(cases), std::end(cases));
  all.insert(all.end(), std::begin(file_cases), std::end(file_cases));
  for (const auto& m : all) {
    std::vector<std::string> argv = m.args;
    argv.insert(argv.begin(), m.dropfilter ? dropfilter_path() : dropwatch_path());
    std::string shown;
    for (const auto& a : m.args) shown += " [" + a + "]";
    SCOPED_TRACE(shown);
    Finished r = run_to_end(argv, 20s);
    EXPECT_EQ(r.status, m.status) << r.err;
    EXPECT_NE(r.err.find(m.error), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(CommandLine, FilterWordsAreOneExpression) {
  // As tcpdump joins its words: the same code as the one quoted argument.
  for (const auto& [words, quoted] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"tcp", "port", "443"}, "tcp port 443"},
           {{"len", ">", "-1"}, "len > -1"},
           {{"--", "-1", "=", "-1"}, "-1 = -1"},
           {{"[tcp]"}, "[tcp]"}}) {
    SCOPED_TRACE(quoted);
    std::vector<std::string> argv = {dropfilter_path(), "--dump-bpf"};
    argv.insert(argv.end(), words.begin(), words.end());
    Finished split = run_to_end(argv, 20s);
    Finished one = run_to_end({dropfilter_path(), "--dump-bpf", quoted}, 20s);
    EXPECT_EQ(split.status, one.status) << split.err;
    EXPECT_EQ(split.out, one.out);
    EXPECT_EQ(split.err, one.err);
  }
  // -F as tcpdump reads it: the lines joined, '#' comments left out.
  FilterFile hosts(
      "# the web front ends\nhost 10.0.0.1 or host 10.0.0.2  # old\n  or host 10.0.0.3\n");
  Finished from_file = run_to_end({dropfilter_path(), "--dump-bpf", "-F", hosts.path}, 20s);
  Finished inline_expr = run_to_end(
      {dropfilter_path(), "--dump-bpf", "host 10.0.0.1 or host 10.0.0.2 or host 10.0.0.3"}, 20s);
  EXPECT_EQ(from_file.status, 0) << from_file.err;
  EXPECT_EQ(from_file.out, inline_expr.out);
  // CLI11 reads "[a,b]" as a list; a word in brackets stays the filter's.
  Finished brackets = run_to_end({dropfilter_path(), "[tcp]"}, 20s);
  EXPECT_EQ(brackets.status, 1) << brackets.err;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// A live run with its filter as words keeps only what the words select;
// its stored event, given twice to `print` and `summary`, is read twice;
// the filter read with -F selects as the words do.
TEST(CommandLine, WordsOrAFileFilterALiveRunAndPrintReadsEveryFile) {
  NetnsPair ns("dwcl");
  ASSERT_TRUE(ns.ok());
  char tmpl[] = "/tmp/dw-cl-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::string dir = tmpl, stored = dir + "/ev.ndjson";
  auto dw = start_dropwatch(
      {"--output-file", stored, "--count", "1", "--netns", ns.b(), "udp", "dst", "port", "4482"});
  ASSERT_TRUE(dw);
  ASSERT_EQ(run_in_netns(ns.a(), "dwcl", [] { return send_udp(NetnsPair::kAddrB, 4481); }), 0);
  ASSERT_EQ(run_in_netns(ns.a(), "dwcl", [] { return send_udp(NetnsPair::kAddrB, 4482); }), 0);
  ASSERT_EQ(dw->wait(20s), 0) << dw->stderr_text();
  // 4481 came first: the words, not a default, chose the event.
  EXPECT_GE(summary_counts(dw->stderr_text())["by the filter"], 1u) << dw->stderr_text();
  std::string line = read_file(stored);
  auto events = parse_events({line.substr(0, line.find('\n'))});
  ASSERT_EQ(events.size(), 1u) << line;
  EXPECT_EQ(events[0]["layers"]["udp"]["dport"], 4482) << events[0].dump();

  std::string copy = dir + "/ev2.ndjson";
  std::ofstream(copy) << line;
  Finished printed = run_to_end({dropwatch_path(), "print", "-o", "json", stored, copy}, 20s);
  EXPECT_EQ(printed.status, 0) << printed.err;
  EXPECT_EQ(parse_events({printed.out.substr(0, printed.out.find('\n')),
                          printed.out.substr(printed.out.find('\n') + 1)})
                .size(),
            2u)
      << printed.out;
  Finished sum = run_to_end({dropwatch_path(), "summary", stored, copy}, 20s);
  EXPECT_EQ(sum.status, 0) << sum.err;
  EXPECT_NE(sum.out.find("2 files"), std::string::npos) << sum.out;
  EXPECT_NE(sum.out.find(", 2 drops"), std::string::npos) << sum.out;
  // The same filter from a file, over two lines with a comment.
  FilterFile f("udp  # the only protocol here\n  and dst port 4483\n");
  auto from_file = start_dropwatch({"-o", "json", "--count", "1", "--netns", ns.b(), "-F", f.path});
  ASSERT_TRUE(from_file);
  ASSERT_EQ(run_in_netns(ns.a(), "dwcl", [] { return send_udp(NetnsPair::kAddrB, 4482); }), 0);
  ASSERT_EQ(run_in_netns(ns.a(), "dwcl", [] { return send_udp(NetnsPair::kAddrB, 4483); }), 0);
  ASSERT_EQ(from_file->wait(20s), 0) << from_file->stderr_text();
  auto live = parse_events(from_file->stdout_lines());
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["layers"]["udp"]["dport"], 4483) << live[0].dump();
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace dw::test
