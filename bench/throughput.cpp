// Issue 5, part C: userspace throughput. dropwatch (the real binary,
// --output json --no-stack) watches a UDP drop storm in a private network
// namespace while writing NDJSON to /dev/null, then to a file; events per
// second written, and every drop accounted for (written + lost + gated).
//   build/bin/dw_throughput [--packets N]
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

using namespace dw::test;

struct Result {
  double seconds = 0;
  unsigned long long seen = 0, emitted = 0, lost = 0, written = 0;
};

Result run(const std::string& out_path, const std::string& ns, uint64_t packets) {
  Result r;
  std::string why;
  std::vector<std::string> args = {"--output",         "json",           "--no-stack", "--netns",
                                   "/run/netns/" + ns, "--ringbuf-size", "64"};
  // stdout of the Process is a pipe; redirect through a shell for the target.
  std::vector<std::string> prefix = {"/bin/sh", "-c", "exec \"$0\" \"$@\" > " + out_path,
                                     dropwatch_path()};
  auto p = std::make_unique<Process>([&] {
    std::vector<std::string> v = prefix;
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }());
  if (!p->wait_stderr("dropwatch: watching", std::chrono::seconds(30))) {
    std::fprintf(stderr, "dw_throughput: dropwatch did not start: %s\n", p->stderr_text().c_str());
    std::exit(1);
  }
  auto t0 = std::chrono::steady_clock::now();
  run_in_netns(ns, "dw-storm", [packets] {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char payload[32] = "dropwatch-throughput";
    for (uint64_t i = 0; i < packets; i++)
      sendto(fd, payload, sizeof(payload), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    close(fd);
    return 0;
  });
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  usleep(500000);  // the reader polls every 100 ms
  p->signal(SIGINT);
  p->wait(std::chrono::seconds(30));
  auto c = summary_counts(p->stderr_text());
  r.seen = c["drops seen"];
  r.emitted = c["events emitted"];
  r.lost = c["lost"];
  r.written = c["written"];
  return r;
}

// A storm paced at `rate` datagrams a second for `seconds` (dw_storm
// --rate), alone or while dropwatch runs with `args` (NDJSON to /dev/null):
// the datagrams sent, and dropwatch's exit report.
struct Paced {
  unsigned long long sent = 0;
  std::string report;
};

Paced paced_storm(const std::string& ns, double rate, double seconds,
                  const std::vector<std::string>& args) {
  Paced out;
  std::unique_ptr<Process> dw;
  if (!args.empty()) {
    std::vector<std::string> v = {"/bin/sh",        "-c",      "exec \"$0\" \"$@\" > /dev/null",
                                  dropwatch_path(), "--netns", "/run/netns/" + ns};
    v.insert(v.end(), args.begin(), args.end());
    dw = std::make_unique<Process>(v);
    if (!dw->wait_stderr("dropwatch: watching", std::chrono::seconds(30))) {
      std::fprintf(stderr, "dw_throughput: dropwatch did not start: %s\n",
                   dw->stderr_text().c_str());
      std::exit(1);
    }
  }
  Process storm({"ip", "netns", "exec", ns, std::string(DW_BIN_DIR) + "/dw_storm", "127.0.0.1", "9",
                 std::to_string(seconds), "--rate", std::to_string(rate)});
  storm.wait(std::chrono::seconds(60));
  auto lines = storm.stdout_lines();
  if (!lines.empty()) out.sent = std::strtoull(lines[0].c_str() + 5, nullptr, 10);
  if (dw) {
    usleep(300000);
    dw->signal(SIGINT);
    dw->wait(std::chrono::seconds(30));
    out.report = dw->stderr_text();
  }
  return out;
}

int main(int argc, char** argv) {
  uint64_t packets = 300000;
  for (int i = 1; i < argc; i++)
    if (std::string(argv[i]) == "--packets" && i + 1 < argc)
      packets = std::strtoull(argv[++i], nullptr, 10);
  Netns ns("dwthr");
  if (!ns.ok()) {
    std::fprintf(stderr, "dw_throughput: cannot create a namespace (need root)\n");
    return 1;
  }
  std::printf("| output | storm s | drops | events written | events/s | lost | unaccounted |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  for (std::string target : {std::string("/dev/null"), std::string("/tmp/dw-throughput.ndjson")}) {
    Result r = run(target, ns.name(), packets);
    long long unaccounted = (long long)r.seen - (long long)(r.written + r.lost);
    std::printf("| NDJSON to %s | %.2f | %llu | %llu | %.0f | %llu | %lld |\n", target.c_str(),
                r.seconds, r.seen, r.written, r.written / r.seconds, r.lost, unaccounted);
  }
  unlink("/tmp/dw-throughput.ndjson");

  // Issue 13: a 150k/s storm keeps its pace while dropwatch runs with its
  // defaults (stacks within the budget), and without the budget.
  const double rate = 150000, seconds = 4;
  std::printf(
      "\nA storm paced at %.0f datagrams/s for %.0f s (`dw_storm --rate`), NDJSON to "
      "/dev/null:\n\n",
      rate, seconds);
  std::printf("| dropwatch | datagrams sent | × alone | events written | stacks skipped |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  Paced alone = paced_storm(ns.name(), rate, seconds, {});
  std::printf("| not running | %llu | 1.00 | – | – |\n", alone.sent);
  const std::pair<const char*, std::vector<std::string>> runs[] = {
      {"default options (`-o json`, stacks within the budget)", {"-o", "json"}},
      {"every stack (`--stack-budget 0`)", {"-o", "json", "--stack-budget", "0"}},
  };
  for (const auto& [name, args] : runs) {
    Paced p = paced_storm(ns.name(), rate, seconds, args);
    auto c = summary_counts(p.report);
    unsigned long long skipped = 0;
    if (auto at = p.report.find(" events without a stack"); at != std::string::npos)
      skipped = std::strtoull(p.report.c_str() + p.report.rfind(' ', at - 1) + 1, nullptr, 10);
    std::printf("| %s | %llu | %.2f | %llu | %llu |\n", name, p.sent,
                alone.sent ? double(p.sent) / alone.sent : 0.0, c["written"], skipped);
  }
  return 0;
}
