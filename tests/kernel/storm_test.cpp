// dropwatch when it is needed most: a drop storm (UDP to a closed port on
// the loopback of a namespace of the test's own, as fast as one core sends),
// stacks on. Output keeps flowing, memory stays bounded, signals and
// --duration end the run on time, a reader or collector that stops reading
// changes nothing but a count, the metrics answer, every event the probe
// emitted ends written or counted, and storms on every CPU at once are
// counted whole.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <thread>
#include <vector>

#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A storm of `seconds` in namespace `ns`, on CPU `cpu` when it is given
// (loopback delivers on the sending CPU, so its drops happen there); prints
// "sent N in S s".
std::unique_ptr<Process> storm(const Netns& ns, double seconds, int cpu = -1) {
  std::vector<std::string> argv = {"ip", "netns", "exec", ns.name()};
  if (cpu >= 0) argv.insert(argv.end(), {"taskset", "-c", std::to_string(cpu)});
  argv.insert(argv.end(), {std::string(DW_BIN_DIR) + "/dw_storm", "127.0.0.1", "9",
                           std::to_string(seconds), "--comm", "dw-storm"});
  return std::make_unique<Process>(argv);
}

uint64_t rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6));
  return 0;
}

// "N <phrase>" in the exit report; 0 when absent.
uint64_t reported(const std::string& err, const std::string& phrase) {
  std::smatch m;
  if (std::regex_search(err, m, std::regex("(\\d+) " + phrase))) return std::stoull(m[1]);
  return 0;
}

// The exit report's books balance: every drop seen ended in one counter,
// every event emitted was handed to the outputs or counted where it stopped.
void expect_accounted(const std::string& err) {
  SCOPED_TRACE(err);
  uint64_t seen = reported(err, "drops seen by the probe");
  uint64_t emitted = reported(err, "events emitted");
  ASSERT_GT(seen, 0u);
  uint64_t ended = emitted + reported(err, "lost,") + reported(err, "by reason") +
                   reported(err, "by namespace") + reported(err, "by device") +
                   reported(err, "by the filter") + reported(err, "without headers under") +
                   reported(err, "rate-limited") + reported(err, "at a pinned location") +
                   reported(err, "counted in the kernel only");
  EXPECT_EQ(ended, seen);
  uint64_t handled = reported(err, "written\n") + reported(err, "by a stack frame") +
                     reported(err, "events arrived after --count") +
                     reported(err, "malformed records");
  EXPECT_EQ(handled, emitted);
}

std::string netns_path(const Netns& ns) { return "/run/netns/" + ns.name(); }

// Sends `sig` and waits for the exit; returns the seconds it took (the
// status in *status).
double stop(Process& p, int sig, int* status) {
  auto t0 = Clock::now();
  p.signal(sig);
  *status = p.wait(10s);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// "sent N in S s" from dw_storm.
uint64_t sent(Process& storm) {
  auto lines = storm.stdout_lines();
  return lines.empty() ? 0 : std::stoull(lines[0].substr(5));
}

// A whole storm of `seconds` under a running `dw`, then SIGINT once the
// last drops had `settle` to be read; returns how many datagrams it sent.
uint64_t storm_then_stop(Process& dw, const Netns& ns, double seconds,
                         std::chrono::milliseconds settle) {
  auto s = storm(ns, seconds);
  EXPECT_EQ(s->wait(20s), 0);
  std::this_thread::sleep_for(settle);
  int status;
  stop(dw, SIGINT, &status);
  EXPECT_EQ(status, 0) << dw.stderr_text();
  return sent(*s);
}

TEST(Storm, OutputKeepsFlowingMemoryStaysBoundedAndSigintEndsTheRunInASecond) {
  Netns ns("dwst");
  ASSERT_TRUE(ns.ok());
  auto dw = std::make_unique<Process>(
      std::vector<std::string>{dropwatch_path(), "--output", "json", "--netns", netns_path(ns)},
      nullptr, /*keep_stdout=*/false);
  ASSERT_TRUE(dw->wait_stderr("dropwatch: watching", 30s)) << dw->stderr_text();
  auto s = storm(ns, 6);
  std::this_thread::sleep_for(1500ms);
  uint64_t lines1 = dw->stdout_line_count(), rss1 = rss_kib(dw->pid());
  std::this_thread::sleep_for(2000ms);
  uint64_t lines2 = dw->stdout_line_count(), rss2 = rss_kib(dw->pid());
  EXPECT_GT(lines2, lines1 + 1000) << "events are written during the storm";
  EXPECT_LT(rss1, 200u << 10);
  EXPECT_LT(rss2, 200u << 10);
  int status;
  double took = stop(*dw, SIGINT, &status);
  EXPECT_EQ(status, 0) << dw->stderr_text();
  EXPECT_LT(took, 1.0) << "SIGINT during the storm";
  s->wait(10s);
  std::printf(
      "storm: %s; dropwatch RSS %llu/%llu KiB, %llu events by 1.5 s, %llu by 3.5 s, exit "
      "%.2f s after SIGINT\n",
      s->stdout_lines().empty() ? "?" : s->stdout_lines()[0].c_str(), (unsigned long long)rss1,
      (unsigned long long)rss2, (unsigned long long)lines1, (unsigned long long)lines2, took);
  std::string err = dw->stderr_text();
  expect_accounted(err);
  uint64_t written = reported(err, "written\n");
  uint64_t unwritten = reported(err, "events could not be written to standard output");
  EXPECT_EQ(dw->stdout_line_count(), written - unwritten) << err;
}

TEST(Storm, DurationEndsTheRunOnTime) {
  Netns ns("dwsd");
  ASSERT_TRUE(ns.ok());
  auto s = storm(ns, 6);
  Process dw({dropwatch_path(), "--output", "json", "--duration", "2"}, nullptr, false);
  ASSERT_TRUE(dw.wait_stderr("dropwatch: watching", 30s)) << dw.stderr_text();
  auto t0 = Clock::now();
  EXPECT_EQ(dw.wait(20s), 0) << dw.stderr_text();
  double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(took, 3.0) << "--duration 2 under a storm";
  EXPECT_GT(took, 1.9);
  expect_accounted(dw.stderr_text());
}

TEST(Storm, EventsAfterCountAreCountedNotLost) {
  Netns ns("dwsc");
  ASSERT_TRUE(ns.ok());
  auto s = storm(ns, 3);
  Process dw({dropwatch_path(), "--output", "json", "--count", "10", "--netns", netns_path(ns)});
  ASSERT_EQ(dw.wait(20s), 0) << dw.stderr_text();
  EXPECT_EQ(dw.stdout_lines().size(), 10u);
  std::string err = dw.stderr_text();
  expect_accounted(err);
  EXPECT_EQ(reported(err, "written\n"), 10u) << err;
}

// The reader of stdout stalls: a pipe whose only reader (dropwatch itself)
// never reads.
void stall_stdout() {
  int p[2];
  if (pipe(p) == 0) dup2(p[1], 1);
}

TEST(Storm, AStalledStdoutReaderDoesNotHoldTheRun) {
  Netns ns("dwsp");
  ASSERT_TRUE(ns.ok());
  Process dw({dropwatch_path(), "--output", "json", "--netns", netns_path(ns)}, stall_stdout);
  ASSERT_TRUE(dw.wait_stderr("dropwatch: watching", 30s)) << dw.stderr_text();
  auto s = storm(ns, 4);
  std::this_thread::sleep_for(2s);
  int status;
  double took = stop(dw, SIGTERM, &status);
  EXPECT_EQ(status, 0) << dw.stderr_text();
  EXPECT_LT(took, 1.0) << "SIGTERM with a stalled reader";
  std::string err = dw.stderr_text();
  EXPECT_GT(reported(err, "events could not be written to standard output"), 0u) << err;
  expect_accounted(err);
}

TEST(Storm, ACollectorThatStopsReadingChangesOnlyACount) {
  Netns ns("dwsu");
  ASSERT_TRUE(ns.ok());
  std::string path = "/tmp/dw-collector-" + std::to_string(getpid()) + ".sock";
  unlink(path.c_str());
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(srv, 4), 0);
  int conn = -1;
  std::thread acceptor([&] { conn = accept(srv, nullptr, nullptr); });  // and never read
  Process dw({dropwatch_path(), "--netns", netns_path(ns), "--output-storage", "unix:" + path});
  ASSERT_TRUE(dw.wait_stderr("dropwatch: watching", 30s)) << dw.stderr_text();
  acceptor.join();
  auto s = storm(ns, 4);
  std::this_thread::sleep_for(2s);
  int status;
  double took = stop(dw, SIGINT, &status);
  EXPECT_EQ(status, 0) << dw.stderr_text();
  EXPECT_LT(took, 1.0) << "SIGINT with a collector that does not read";
  std::string err = dw.stderr_text();
  EXPECT_GT(reported(err, "not delivered"), 0u) << err;
  expect_accounted(err);
  close(conn);
  close(srv);
  unlink(path.c_str());
}

// The whole-run --summary table's total: "-- ... whole run, S s, N drops".
uint64_t whole_run_total(const std::vector<std::string>& lines) {
  std::smatch m;
  for (const auto& l : lines)
    if (std::regex_search(l, m, std::regex("whole run, [0-9.]+ s, (\\d+) drops")))
      return std::stoull(m[1]);
  return 0;
}

// dropwatch counting only (--summary, a filter that keeps the storm's
// drops) over storms of 2 s on `cpus` at once (-1: not pinned): the
// datagrams sent against the whole-run table and the exit report. Nothing
// is emitted, and every drop is counted.
void expect_every_drop_counted(const char* ns_name, const std::vector<int>& cpus) {
  Netns ns(ns_name);
  ASSERT_TRUE(ns.ok());
  Process dw({dropwatch_path(), "--summary", "1000", "--netns", netns_path(ns), "--filter",
              "udp dst port 9"});
  ASSERT_TRUE(dw.wait_stderr("dropwatch: watching", 30s)) << dw.stderr_text();
  EXPECT_NE(dw.stderr_text().find("counting only"), std::string::npos) << dw.stderr_text();
  std::vector<std::unique_ptr<Process>> storms;
  for (int cpu : cpus) storms.push_back(storm(ns, 2, cpu));
  uint64_t n = 0;
  for (auto& s : storms) {
    EXPECT_EQ(s->wait(20s), 0);
    EXPECT_GT(sent(*s), 10000u);
    n += sent(*s);
  }
  std::this_thread::sleep_for(300ms);
  int status;
  stop(dw, SIGINT, &status);
  ASSERT_EQ(status, 0) << dw.stderr_text();
  uint64_t total = whole_run_total(dw.stdout_lines());
  std::printf("%zu storms: sent %llu, whole-run table %llu\n", storms.size(), (unsigned long long)n,
              (unsigned long long)total);
  EXPECT_EQ(total, n) << testing::PrintToString(dw.stdout_lines());
  std::string err = dw.stderr_text();
  expect_accounted(err);
  EXPECT_EQ(reported(err, "events emitted"), 0u) << err;
  EXPECT_EQ(reported(err, "counted in the kernel only"), n) << err;
}

// --summary alone asks for no event: drops are only counted in the kernel,
// and the whole-run table counts every drop of the storm.
TEST(Storm, CountingOnlyCountsEveryDropOfTheStorm) { expect_every_drop_counted("dwsn", {-1}); }

// Storms on every CPU at once (up to four): each CPU counts into its own
// part of the kernel's table, and the parts add up to every drop sent.
TEST(Storm, CountingOnlyCountsEveryDropOfStormsOnEveryCpu) {
  std::vector<int> cpus;
  for (int cpu = 0; cpu < std::min(4, int(std::thread::hardware_concurrency())); cpu++)
    cpus.push_back(cpu);
  expect_every_drop_counted("dwsc", cpus);
}

// Events limited to 50 a second and written to a file: the summary's totals
// still count every drop, from the kernel's table.
TEST(Storm, TotalsComeFromTheKernelWhateverTheRateLimit) {
  Netns ns("dwsr");
  ASSERT_TRUE(ns.ok());
  std::string file = "/tmp/dw-totals-" + std::to_string(getpid()) + ".ndjson";
  unlink(file.c_str());
  Process dw({dropwatch_path(), "--summary", "1000", "--netns", netns_path(ns), "--output-file",
              file, "--max-events-per-second", "50"});
  ASSERT_TRUE(dw.wait_stderr("dropwatch: watching", 30s)) << dw.stderr_text();
  uint64_t n = storm_then_stop(dw, ns, 1, 300ms), total = whole_run_total(dw.stdout_lines());
  std::string err = dw.stderr_text();
  EXPECT_GT(n, 10000u);
  EXPECT_EQ(total, n) << testing::PrintToString(dw.stdout_lines());
  uint64_t written = reported(err, "written\n");
  EXPECT_GT(written, 0u) << err;
  EXPECT_LT(written, 500u) << "50 a second, a second's burst per CPU";
  EXPECT_EQ(reported(err, "rate-limited") + written, n) << err;
  expect_accounted(err);
  unlink(file.c_str());
}

// The stack budget: a storm gets at most about N stacks a second; the other
// events say so, and the exit report counts them. 0 takes every stack.
TEST(Storm, StacksStayWithinTheBudgetAndTheRestAreMarked) {
  Netns ns("dwsk");
  ASSERT_TRUE(ns.ok());
  for (std::string budget : {"100", "0"}) {
    SCOPED_TRACE("--stack-budget " + budget);
    Process dw({dropwatch_path(), "--output", "json", "--netns", netns_path(ns), "--stack-budget",
                budget});
    ASSERT_TRUE(dw.wait_stderr("dropwatch: watching", 30s)) << dw.stderr_text();
    storm_then_stop(dw, ns, 0.5, 500ms);
    uint64_t with = 0, skipped = 0, other = 0;
    for (const auto& l : dw.stdout_lines()) {
      bool has = l.find("\"stack\":") != std::string::npos;
      bool skip = l.find("\"stack_skipped\":true") != std::string::npos;
      with += has && !skip;
      skipped += skip && !has;
      other += has == skip;
    }
    std::string err = dw.stderr_text();
    expect_accounted(err);
    EXPECT_EQ(other, 0u);
    if (budget == "0") {
      EXPECT_EQ(skipped, 0u) << err;
      EXPECT_GT(with, 1000u) << err;
      EXPECT_EQ(err.find("without a stack"), std::string::npos) << err;
    } else {
      // A second's share per CPU at once, then 100 a second: 2.5 s at most here.
      EXPECT_GT(with, 0u);
      EXPECT_LE(with, 100u + 250u) << err;
      EXPECT_GT(skipped, 1000u) << err;
      EXPECT_EQ(reported(err, "events without a stack"), skipped) << err;
    }
  }
}

}  // namespace
}  // namespace dw::test
