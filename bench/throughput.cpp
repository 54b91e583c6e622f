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
#include <string>

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
  return 0;
}
