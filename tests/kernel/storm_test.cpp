// dropwatch when it is needed most: a drop storm (UDP to a closed port on
// the loopback of a namespace of the test's own, as fast as one core sends),
// stacks on. Output keeps flowing, memory stays bounded, signals and
// --duration end the run on time, a reader or collector that stops reading
// changes nothing but a count, the metrics answer, and every event the
// probe emitted ends written or counted.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A storm of `seconds` in namespace `ns`; prints "sent N in S s".
std::unique_ptr<Process> storm(const Netns& ns, double seconds) {
  return std::make_unique<Process>(std::vector<std::string>{
      "ip", "netns", "exec", ns.name(), std::string(DW_BIN_DIR) + "/dw_storm", "127.0.0.1", "9",
      std::to_string(seconds), "--comm", "dw-storm"});
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
                   reported(err, "events too large");
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

}  // namespace
}  // namespace dw::test
