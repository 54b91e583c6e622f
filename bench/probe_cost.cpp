// In-situ probe cost on skb:kfree_skb: kernel run time per program run from
// BPF_ENABLE_STATS, under a UDP drop storm (sendto() a closed port on the
// loopback of a private network namespace), for an empty program and for
// dropwatch's probe with and without stacks. Prints a Markdown table and,
// with --json FILE, the figures.
//
//   build/bin/dw_probe_cost [--packets N] [--json FILE]
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <optional>

#include "bpf/dropwatch_abi.h"
#include "compiler/link.h"
#include "empty.skel.h"
#include "events/noise.h"
#include "probe/kallsyms.h"
#include "probe/probe.h"

namespace {

struct Row {
  std::string name;
  double ns_per_run = 0;
  uint64_t runs = 0;
  double storm_pps = 0;
  uint64_t events = 0, lost = 0;
};

uint64_t prog_stat(int prog_fd, uint64_t* run_cnt) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  bpf_obj_get_info_by_fd(prog_fd, &info, &len);
  *run_cnt = info.run_cnt;
  return info.run_time_ns;
}

int prog_fd_by_id(uint32_t id) { return bpf_prog_get_fd_by_id(id); }

// Sends `n` datagrams to a closed port on 127.0.0.1; returns packets/s.
double storm(uint64_t n) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char payload[32] = "dropwatch-bench";
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < n; i++)
    sendto(fd, payload, sizeof(payload), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  close(fd);
  return n / s;
}

Row measure(const std::string& name, int prog_fd, uint64_t packets) {
  uint64_t c0, c1;
  uint64_t t0 = prog_stat(prog_fd, &c0);
  Row r{name};
  r.storm_pps = storm(packets);
  uint64_t t1 = prog_stat(prog_fd, &c1);
  r.runs = c1 - c0;
  r.ns_per_run = r.runs ? double(t1 - t0) / r.runs : 0;
  return r;
}

Row measure_dropwatch(const std::string& name, bool stack, uint64_t packets,
                      const std::string& filter = "", bool noise = false) {
  dw::probe::Config o;
  if (noise) {  // the default rules, pinned as the dropwatch command pins them
    auto syms = dw::probe::Kallsyms::load();
    auto rules = dw::events::NoiseRules::compile(dw::events::default_noise_rules());
    if (syms && rules)
      if (auto r = rules->locations(*syms, DW_NOISE_MAX)) o.noise_ranges = *r;
  }
  o.stack = stack;
  o.attach = dw::probe::AttachMode::Btf;
  std::optional<dw::filter::DropFilter> f;
  if (!filter.empty()) {
    auto compiled = dw::filter::compile_drop_filter(filter);
    if (!compiled) {
      std::fprintf(stderr, "dw_probe_cost: bad filter %s\n", filter.c_str());
      std::exit(1);
    }
    f.emplace(std::move(*compiled));
    o.filter = true;
  }
  auto elf = dw::filter::link_probe(f ? &*f : nullptr);
  if (!elf) {
    std::fprintf(stderr, "dw_probe_cost: %s\n", elf.error().message.c_str());
    std::exit(1);
  }
  auto p = dw::probe::Probe::start(*elf, o);
  if (!p) {
    std::fprintf(stderr, "dw_probe_cost: %s\n", p.error().message.c_str());
    std::exit(1);
  }
  std::atomic<bool> stop{false};
  uint64_t consumed = 0;
  std::thread reader([&] {
    dw::probe::Probe::RecordFn fn = [&](std::span<const uint8_t>) { consumed++; };
    while (!stop) {
      (void)(*p)->wait(50);
      while ((*p)->consume(4096, fn).value_or(0) == 4096) {
      }
    }
    (void)(*p)->consume(SIZE_MAX, fn);
  });
  int fd = prog_fd_by_id((*p)->program_id());
  Row r = measure(name, fd, packets);
  close(fd);
  stop = true;
  reader.join();
  dw::probe::Counters c = (*p)->counters();
  r.events = c[dw::probe::Counter::emitted];
  r.lost = c[dw::probe::Counter::lost];
  return r;
}

bool enter_private_netns() {
  if (unshare(CLONE_NEWNET) != 0) return false;
  return std::system("ip link set lo up") == 0;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t packets = 200000;
  std::string json_path;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--packets" && i + 1 < argc)
      packets = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--json" && i + 1 < argc)
      json_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: dw_probe_cost [--packets N] [--json FILE]\n");
      return 2;
    }
  }
  if (!enter_private_netns()) {
    std::fprintf(stderr, "dw_probe_cost: cannot create a network namespace (need root)\n");
    return 1;
  }
  int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (stats_fd < 0) {
    std::fprintf(stderr, "dw_probe_cost: BPF_ENABLE_STATS failed: %s\n", std::strerror(errno));
    return 1;
  }
  libbpf_set_print([](libbpf_print_level, const char*, va_list) { return 0; });

  std::vector<Row> rows;
  storm(packets / 10);  // warm up caches and the socket path
  {
    Row r{"no probe"};
    r.storm_pps = storm(packets);
    rows.push_back(r);
  }
  {
    empty_bpf* e = empty_bpf__open_and_load();
    if (!e || empty_bpf__attach(e)) {
      std::fprintf(stderr, "dw_probe_cost: cannot load the empty program\n");
      return 1;
    }
    rows.push_back(measure("empty program", bpf_program__fd(e->progs.dw_empty), packets));
    empty_bpf__destroy(e);
  }
  // The storm is UDP to port 9 on loopback: these filters reject all of it,
  // or accept all of it, after the same header copy.
  rows.push_back(measure_dropwatch("dropwatch, filter rejects every drop (`tcp port 3306`)", false,
                                   packets, "tcp port 3306"));
  rows.push_back(
      measure_dropwatch("dropwatch, default noise rules pinned, filter rejects every drop", false,
                        packets, "tcp port 3306", true));
  rows.push_back(
      measure_dropwatch("dropwatch, filter accepts every drop (`udp dst port 9`), no stack", false,
                        packets, "udp dst port 9"));
  rows.push_back(measure_dropwatch("dropwatch, no filter, no stack", false, packets));
  rows.push_back(measure_dropwatch("dropwatch, no filter, stack", true, packets));

  double base_ns = rows[1].ns_per_run, base_pps = rows[0].storm_pps;
  std::printf("| probe | ns/run | × empty | runs | storm pkt/s | × no probe | events | lost |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    if (r.runs)
      std::printf("| %s | %.0f | %.2f | %llu | %.0f | %.2f | %llu | %llu |\n", r.name.c_str(),
                  r.ns_per_run, r.ns_per_run / base_ns, (unsigned long long)r.runs, r.storm_pps,
                  r.storm_pps / base_pps, (unsigned long long)r.events, (unsigned long long)r.lost);
    else
      std::printf("| %s | – | – | – | %.0f | 1.00 | – | – |\n", r.name.c_str(), r.storm_pps);
  }
  if (!json_path.empty()) {
    std::ofstream j(json_path);
    j << "{\"packets\":" << packets << ",\"rows\":[";
    for (size_t i = 0; i < rows.size(); i++) {
      const Row& r = rows[i];
      j << (i ? "," : "") << "{\"name\":\"" << r.name << "\",\"ns_per_run\":" << r.ns_per_run
        << ",\"runs\":" << r.runs << ",\"storm_pps\":" << r.storm_pps << ",\"events\":" << r.events
        << ",\"lost\":" << r.lost << "}";
    }
    j << "]}\n";
  }
  close(stats_fd);
  return 0;
}
