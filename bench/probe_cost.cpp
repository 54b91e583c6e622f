// In-situ probe cost on skb:kfree_skb: kernel run time per program run from
// BPF_ENABLE_STATS, under a UDP drop storm (sendto() a closed port on the
// loopback of a private network namespace), in one run: the yardstick (a
// program that increments one counter), the clocks a time stamp could come
// from, the peers' approaches (one bpf_probe_read per load as pwru and
// Retis run filters, libpcap's cBPF translated, a bpftrace hand filter when
// bpftrace is installed) and dropwatch's probe in each of its modes, the
// real binary with default options last. Every row is measured once per
// round, right after a storm without a probe, with the yardstick attached
// beside it (before it in odd rounds, after it in even ones): its × empty is
// its run time over the yardstick's in the same storms, so the machine's
// drift cancels. Printed as a Markdown table (--json FILE: the same).
//
//   build/bin/dw_probe_cost [--packets N] [--rounds R (4)] [--json FILE] [--only TEXT]
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/cbpf_probe.h"
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
  double empty_ns = 0;  // the yardstick's, attached beside the row in the same storm
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

// The yardstick attached beside every row while its storm runs: both see
// the same drops at the same machine speed, so their ratio does not move
// with this machine's drift (a yardstick run before the row moved 38-78 ns).
// Programs on one tracepoint run in the order they were attached, and the
// first pays for the warm-up of the path (a copy of the yardstick beside
// itself ran 1.13x when first): rounds alternate, the yardstick attached
// before the row's programs (`before`) or after them.
struct Beside {
  empty_bpf* obj = nullptr;
  bpf_program* prog = nullptr;
  bpf_link* before = nullptr;
};
Beside beside;

// The programs' run time over a storm of `packets`, per run, and the
// yardstick's beside them.
Row measure(const std::string& name, const std::vector<int>& fds, uint64_t packets) {
  bpf_link* yard = beside.before ? beside.before : bpf_program__attach(beside.prog);
  int yard_fd = bpf_program__fd(beside.prog);
  uint64_t y0 = 0, y1 = 0, yc0 = 0, yc1 = 0;
  if (yard) y0 = prog_stat(yard_fd, &yc0);
  auto stats = [&](uint64_t* runs) {
    uint64_t t = 0, n = 0;
    *runs = 0;
    for (int fd : fds) {
      t += prog_stat(fd, &n);
      *runs += n;
    }
    return t;
  };
  uint64_t c0, c1;
  uint64_t t0 = stats(&c0);
  Row r{name};
  r.storm_pps = storm(packets);
  uint64_t t1 = stats(&c1);
  if (yard) {
    y1 = prog_stat(yard_fd, &yc1);
    if (yard != beside.before) bpf_link__destroy(yard);
    if (yc1 > yc0) r.empty_ns = double(y1 - y0) / (yc1 - yc0);
  }
  r.runs = c1 - c0;
  r.ns_per_run = r.runs ? double(t1 - t0) / r.runs : 0;
  return r;
}

// bench/bpf/empty.bpf.c's per-CPU slot ring (dw_slot_record).
constexpr int kSlotCpus = 64;
constexpr size_t kSlotsPerCpu = 16384, kSlotSize = 512, kRecordSize = 224 + 264;

// A reader of the slot ring, as a reader of the BPF ring buffer would read
// it: every line of every record written since the last call.
struct SlotReader {
  const uint8_t* base = nullptr;
  size_t bytes = 0;
  std::vector<uint64_t> tail;
  uint64_t sum = 0;
  SlotReader(empty_bpf* e, int ncpus) : tail(size_t(ncpus), 0) {
    bytes = kSlotsPerCpu * kSlotSize * size_t(ncpus);
    void* m = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, bpf_map__fd(e->maps.slots), 0);
    base = m == MAP_FAILED ? nullptr : static_cast<const uint8_t*>(m);
  }
  ~SlotReader() {
    if (base) munmap(const_cast<uint8_t*>(base), bytes);
  }
  void read(const empty_bpf* e) {
    for (size_t cpu = 0; base && cpu < tail.size(); cpu++) {
      uint64_t head = __atomic_load_n(&e->bss->slot_head[cpu * 8], __ATOMIC_ACQUIRE);
      if (head - tail[cpu] > kSlotsPerCpu) tail[cpu] = head - kSlotsPerCpu;
      for (; tail[cpu] < head; tail[cpu]++) {
        const uint8_t* r = base + (cpu * kSlotsPerCpu + tail[cpu] % kSlotsPerCpu) * kSlotSize;
        for (size_t off = 0; off < kRecordSize; off += 64)
          sum += *reinterpret_cast<const volatile uint64_t*>(r + off);
      }
    }
  }
};

// The yardsticks' object (bench/bpf/empty.bpf.c) with only `prog_name`
// loaded, in *mine; null when this kernel refuses it.
empty_bpf* load_only(const char* prog_name, bpf_program** mine) {
  empty_bpf* e = empty_bpf__open();
  if (!e) return nullptr;
  *mine = nullptr;
  for (bpf_program* p = bpf_object__next_program(e->obj, nullptr); p;
       p = bpf_object__next_program(e->obj, p)) {
    bool is = std::strcmp(bpf_program__name(p), prog_name) == 0;
    bpf_program__set_autoload(p, is);
    if (is) *mine = p;
  }
  // The slot ring's 8 MiB a CPU only for the program that writes it.
  int ncpus = libbpf_num_possible_cpus();
  bool slots = std::strcmp(prog_name, "dw_slot_record") == 0;
  if (ncpus <= 0 || ncpus > kSlotCpus ||
      bpf_map__set_max_entries(e->maps.slots, slots ? uint32_t(kSlotsPerCpu * ncpus) : 1)) {
    empty_bpf__destroy(e);
    return nullptr;
  }
  if (!*mine || empty_bpf__load(e)) {
    empty_bpf__destroy(e);
    return nullptr;
  }
  return e;
}

// One program of the yardsticks' object, loaded alone and attached;
// nothing when this kernel refuses it.
std::optional<Row> measure_yardstick(const char* prog_name, const std::string& label,
                                     uint64_t packets) {
  bpf_program* mine = nullptr;
  empty_bpf* e = load_only(prog_name, &mine);
  if (!e) return std::nullopt;
  bpf_link* link = nullptr;
  std::optional<Row> r;
  if ((link = bpf_program__attach(mine))) {
    // The transport rows' records read on the other CPU, as dropwatch's
    // reader does: no wakeups, drained every millisecond.
    ring_buffer* rb = nullptr;
    perf_buffer* pb = nullptr;
    std::optional<SlotReader> slots;
    if (std::strcmp(prog_name, "dw_slot_record") == 0) slots.emplace(e, libbpf_num_possible_cpus());
    auto ignore = [](void*, void*, size_t) { return 0; };
    if (std::strncmp(prog_name, "dw_ring_", 8) == 0)
      rb = ring_buffer__new(bpf_map__fd(e->maps.ring), ignore, nullptr, nullptr);
    if (std::strncmp(prog_name, "dw_perf_", 8) == 0) {
      perf_event_attr attr{};
      attr.type = PERF_TYPE_SOFTWARE;
      attr.config = PERF_COUNT_SW_BPF_OUTPUT;
      attr.sample_type = PERF_SAMPLE_RAW;
      attr.watermark = 1;
      attr.wakeup_watermark = 256 << 10;  // as dropwatch's quarter ring
      pb = perf_buffer__new_raw(
          bpf_map__fd(e->maps.perf), 256, &attr,
          [](void*, int, perf_event_header*) { return LIBBPF_PERF_EVENT_CONT; }, nullptr, nullptr);
    }
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      while (!stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (rb) ring_buffer__consume(rb);
        if (pb) perf_buffer__consume(pb);
        if (slots) slots->read(e);
      }
    });
    r = measure(label, {bpf_program__fd(mine)}, packets);
    stop = true;
    reader.join();
    ring_buffer__free(rb);
    perf_buffer__free(pb);
  }
  if (link) bpf_link__destroy(link);
  empty_bpf__destroy(e);
  return r;
}

// What a dropwatch row loads: the probe's knobs, and the filter.
struct Variant {
  std::string filter;
  bool stack = false;
  uint32_t stack_budget = 0;
  bool events = true;
  bool noise = false;
  dw::probe::AttachMode attach = dw::probe::AttachMode::Btf;
  bool cbpf = false;       // the filter as libpcap's cBPF translated (cbpfc-style)
  bool conntrack = false;  // an nft rule that makes conntrack follow the storm
  bool track = false;      // --track
  bool points = false;     // with track: measure the path points, not the drop
};

// The variant's probe, its knobs folded in as dropwatch folds them.
std::vector<uint8_t> link_variant(const Variant& v, const dw::probe::Config& o) {
  auto rodata = dw::probe::Probe::rodata(o);
  if (!rodata) {
    std::fprintf(stderr, "dw_probe_cost: %s\n", rodata.error().message.c_str());
    std::exit(1);
  }
  if (v.cbpf) {
    auto elf = dw::bench::link_probe_cbpf(v.filter, *rodata);
    if (!elf) {
      std::fprintf(stderr, "dw_probe_cost: %s\n", elf.error().message.c_str());
      std::exit(1);
    }
    return *elf;
  }
  std::optional<dw::filter::DropFilter> f;
  if (!v.filter.empty()) {
    auto compiled = dw::filter::compile_drop_filter(v.filter);
    if (!compiled) {
      std::fprintf(stderr, "dw_probe_cost: bad filter %s\n", v.filter.c_str());
      std::exit(1);
    }
    f.emplace(std::move(*compiled));
  }
  auto elf = dw::filter::link_probe(f ? &*f : nullptr, *rodata);
  if (!elf) {
    std::fprintf(stderr, "dw_probe_cost: %s\n", elf.error().message.c_str());
    std::exit(1);
  }
  return *elf;
}

// The BPF programs a process holds, by id, from /proc/PID/fdinfo.
std::vector<uint32_t> programs_of(pid_t pid) {
  std::vector<uint32_t> ids;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) return ids;
  while (dirent* e = readdir(d)) {
    char target[64] = {};
    std::string fd = dir + "/" + e->d_name;
    if (readlink(fd.c_str(), target, sizeof(target) - 1) <= 0) continue;
    if (std::strcmp(target, "anon_inode:bpf-prog") != 0) continue;
    std::ifstream info("/proc/" + std::to_string(pid) + "/fdinfo/" + e->d_name);
    std::string line;
    while (std::getline(info, line))
      if (line.starts_with("prog_id:")) ids.push_back(std::stoul(line.substr(8)));
  }
  closedir(d);
  return ids;
}

// The probe with a reader thread consuming its records, as the loop does;
// measured over its drop program, or (v.points) over --track's others.
Row measure_dropwatch(const std::string& name, const Variant& v, uint64_t packets) {
  dw::probe::Config o;
  if (v.noise) {  // the default rules, pinned as the dropwatch command pins them
    auto syms = dw::probe::Kallsyms::load();
    auto rules = dw::events::NoiseRules::compile(dw::events::default_noise_rules());
    if (syms && rules)
      if (auto r = rules->locations(*syms, DW_NOISE_MAX)) o.noise_ranges = *r;
  }
  o.stack = v.stack;
  o.stack_budget = v.stack_budget;
  o.events = v.events;
  o.attach = v.attach;
  o.filter = !v.filter.empty();
  o.track = v.track;
  // Any ct expression makes conntrack follow this namespace's packets.
  if (v.conntrack &&
      std::system("nft add table inet dwbench '{ chain out { type filter hook output priority 0; "
                  "ct state invalid counter; }; }'") != 0) {
    std::fprintf(stderr, "dw_probe_cost: cannot add the conntrack rule\n");
    std::exit(1);
  }
  std::vector<uint8_t> elf = link_variant(v, o);
  auto p = dw::probe::Probe::start(elf, o);
  if (!p) {
    std::fprintf(stderr, "dw_probe_cost: %s\n", p.error().message.c_str());
    std::exit(1);
  }
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    dw::probe::Probe::RecordFn fn = [](std::span<const uint8_t>) {};
    while (!stop) {
      (void)(*p)->wait(50);
      while ((*p)->consume(4096, fn).value_or(0) == 4096) {
      }
    }
    (void)(*p)->consume(SIZE_MAX, fn);
  });
  std::vector<int> fds;
  for (uint32_t id : programs_of(getpid()))
    if ((id == (*p)->program_id()) != v.points) fds.push_back(bpf_prog_get_fd_by_id(id));
  Row r = measure(name, fds, packets);
  for (int fd : fds) close(fd);
  stop = true;
  reader.join();
  dw::probe::Counters c = (*p)->counters();
  r.events = c[dw::probe::Counter::emitted];
  r.lost = c[dw::probe::Counter::lost];
  if (v.conntrack) std::system("nft delete table inet dwbench");
  return r;
}

// Programs run by another process (bpftrace, the dropwatch binary), its
// output to /dev/null: started, given `settle` once it holds a program,
// measured over every program it holds, stopped with SIGINT.
std::optional<Row> measure_process(const std::string& name, std::vector<std::string> argv,
                                   uint64_t packets, std::chrono::milliseconds settle) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  std::vector<uint32_t> ids;
  for (int i = 0; i < 300 && ids.empty(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ids = programs_of(pid);
  }
  std::this_thread::sleep_for(settle);
  ids = programs_of(pid);
  std::optional<Row> out;
  if (!ids.empty()) {
    std::vector<int> fds;
    for (uint32_t id : ids) fds.push_back(bpf_prog_get_fd_by_id(id));
    out = measure(name, fds, packets);
    for (int fd : fds) close(fd);
  }
  // SIGINT, then SIGKILL if it has not gone within 10 s: a peer that
  // hangs on its way out must not hang the table.
  kill(pid, SIGINT);
  int status;
  for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (waitpid(pid, &status, WNOHANG) == 0) {
    std::fprintf(stderr, "dw_probe_cost: %s did not stop on SIGINT; killed\n", argv[0].c_str());
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  return out;
}

bool enter_private_netns() {
  if (unshare(CLONE_NEWNET) != 0) return false;
  return std::system("ip link set lo up") == 0;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

using Measure = std::function<std::optional<Row>()>;

// Every row, in the order of the table.
std::vector<std::pair<std::string, Measure>> plan(uint64_t packets, const std::string& only) {
  std::vector<std::pair<std::string, Measure>> rows;
  // --only: the rows whose name holds it, and the yardstick (the first).
  auto wanted = [&](const std::string& label) {
    return rows.empty() || only.empty() || label.find(only) != std::string::npos;
  };
  auto yard = [&](const char* prog, const std::string& label) {
    if (wanted(label))
      rows.push_back({label, [=] { return measure_yardstick(prog, label, packets); }});
  };
  yard("dw_empty", "empty program (one counter increment): the yardstick");
  yard("dw_clock_mono", "empty + bpf_ktime_get_ns()");
  yard("dw_clock_boot", "empty + bpf_ktime_get_boot_ns() (dropwatch's)");
  yard("dw_clock_tai", "empty + bpf_ktime_get_tai_ns()");
  yard("dw_clock_jiffies", "empty + bpf_jiffies64() (jiffy resolution)");
  yard("dw_clock_coarse", "empty + bpf_ktime_get_coarse_ns() (jiffy resolution)");
  yard("dw_ring_record",
       "empty + an accepted drop's record (488 bytes) through the BPF ring buffer, no wakeup");
  yard("dw_ring_line", "empty + a 64-byte record through the BPF ring buffer, no wakeup");
  yard("dw_ring_output",
       "empty + the 488-byte record built in a per-CPU scratch, copied by bpf_ringbuf_output");
  yard("dw_slot_record",
       "empty + the 488-byte record into a per-CPU slot of an mmapable array (no lock, no "
       "helper)");
  yard("dw_perf_record",
       "empty + the 488-byte record through a per-CPU perf buffer (bpf_perf_event_output)");
  yard("dw_ring_stamped",
       "floor of an accepted drop: bpf_ktime_get_boot_ns() and the 488-byte record through the "
       "BPF ring buffer, nothing else");
  yard("dw_perf_stamped",
       "floor of an accepted drop through a perf buffer: the clock, the record from a scratch");
  yard("dw_ring_batch",
       "empty + the 488-byte record in a per-CPU batch of 8, sent by bpf_ringbuf_output a batch");
  yard("dw_ring_batch_stamped",
       "floor of an accepted drop, batched: the clock, the record in a per-CPU batch of 8");
  yard("dw_floor_in_place", "floor: the frame read in place by a two-test filter, nothing else");
  yard("dw_peer_probe_read",
       "peer: `tcp port 3306`, one bpf_probe_read per load (pwru, Retis), rejects");
  std::string bpftrace = "peer: bpftrace hand filter (`tcp port 3306`), rejects";
  if (access("/usr/bin/bpftrace", X_OK) == 0 && wanted(bpftrace)) {
    // A hand filter as a bpftrace user writes one: fields through the
    // classic tracepoint, each a probe read.
    std::string script =
        "tracepoint:skb:kfree_skb { $s = (struct sk_buff *)args->skbaddr; "
        "$ip = (struct iphdr *)($s->head + $s->network_header); "
        "if ($ip->protocol == 6) { $t = (struct tcphdr *)($s->head + $s->transport_header); "
        "if ($t->dest == 0xea0c || $t->source == 0xea0c) { @n = count(); } } }";
    rows.push_back({bpftrace, [=] {
                      return measure_process(bpftrace, {"bpftrace", "-e", script}, packets,
                                             std::chrono::seconds(1));
                    }});
  }
  using dw::probe::AttachMode;
  const std::pair<const char*, Variant> variants[] = {
      {"dropwatch, filter rejects every drop (`tcp port 3306`), in place", {"tcp port 3306"}},
      {"dropwatch, filter rejects every drop, on a copy (`--attach tp_btf-copy`)",
       {.filter = "tcp port 3306", .attach = AttachMode::BtfCopy}},
      {"dropwatch, filter rejects, libpcap's cBPF translated (cbpfc-style), in place",
       {.filter = "tcp port 3306", .cbpf = true}},
      {"dropwatch, default noise rules pinned, filter rejects every drop",
       {.filter = "tcp port 3306", .noise = true}},
      {"dropwatch, counting only (`--summary`), filter accepts (`udp dst port 9`)",
       {.filter = "udp dst port 9", .events = false}},
      {"dropwatch, counting only (`--summary`), no filter", {.filter = "", .events = false}},
      {"dropwatch, filter accepts every drop (`udp dst port 9`), no stack",
       {.filter = "udp dst port 9"}},
      {"dropwatch, no filter, no stack", {}},
      {"dropwatch, filter accepts, no stack, each drop with a conntrack entry (`ct`)",
       {.filter = "udp dst port 9", .conntrack = true}},
      {"dropwatch, filter accepts, no stack, `--track` (the drop takes its path)",
       {.filter = "udp dst port 9", .track = true}},
      {"`--track` path points, filter accepts: per hit (4 points a datagram, consume_skb)",
       {.filter = "udp dst port 9", .track = true, .points = true}},
      {"`--track` path points, filter rejects (`tcp port 3306`): per hit",
       {.filter = "tcp port 3306", .track = true, .points = true}},
      {"dropwatch, no filter, stacks within the default budget (2000/s)",
       {.filter = "", .stack = true, .stack_budget = 2000}},
      {"dropwatch, no filter, every stack (`--stack-budget 0`)", {.filter = "", .stack = true}},
  };
  for (const auto& [label, v] : variants) {
    if (!wanted(label)) continue;
    std::string l = label;
    Variant var = v;
    rows.push_back({l, [=] { return std::optional<Row>(measure_dropwatch(l, var, packets)); }});
  }
  // The real binary as a user runs it, NDJSON to /dev/null: default
  // options; and --nft-trace, which marks every packet for tracing (each
  // packet's rules reported over netlink), beside the same run without it,
  // the filter rejecting every drop so that only the tracing differs.
  const std::pair<const char*, std::vector<std::string>> binaries[] = {
      {"dropwatch binary, default options (`-o json > /dev/null`)", {}},
      {"dropwatch binary, `--nft-trace`, filter rejects (`tcp port 3306`)",
       {"--nft-trace", "--filter", "tcp port 3306"}},
      {"dropwatch binary, filter rejects (`tcp port 3306`), for the row above",
       {"--filter", "tcp port 3306"}},
  };
  for (const auto& [label, args] : binaries) {
    if (!wanted(label)) continue;
    std::string l = label;
    std::vector<std::string> argv = {std::string(DW_BIN_DIR) + "/dropwatch", "-o", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    rows.push_back({l, [=] { return measure_process(l, argv, packets, std::chrono::seconds(1)); }});
  }
  return rows;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t packets = 200000;
  int rounds = 4;               // even: as many rounds with the yardstick first as after
  std::string json_path, only;  // only: rows whose name holds this (and the yardstick)
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--packets" && i + 1 < argc)
      packets = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::max(1, std::atoi(argv[++i]));
    else if (a == "--json" && i + 1 < argc)
      json_path = argv[++i];
    else if (a == "--only" && i + 1 < argc)
      only = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: dw_probe_cost [--packets N] [--rounds R] [--json FILE] [--only TEXT]\n");
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

  beside.obj = load_only("dw_empty", &beside.prog);
  if (!beside.obj) {
    std::fprintf(stderr, "dw_probe_cost: cannot load the yardstick\n");
    return 1;
  }
  auto rows = plan(packets, only);
  storm(packets / 10);  // warm up caches and the socket path
  std::vector<std::vector<Row>> got(rows.size());
  std::vector<std::vector<double>> x_storm(rows.size());
  std::vector<double> no_probe;
  // Each row right after a storm without a probe (the storm column's
  // reference), its × empty from the yardstick attached beside it.
  for (int round = 0; round < rounds; round++) {
    for (size_t i = 0; i < rows.size(); i++) {
      double pps = storm(packets);
      no_probe.push_back(pps);
      if (round % 2) beside.before = bpf_program__attach(beside.prog);
      auto r = rows[i].second();
      if (beside.before) bpf_link__destroy(beside.before);
      beside.before = nullptr;
      if (!r) continue;
      got[i].push_back(*r);
      x_storm[i].push_back(r->storm_pps / pps);
    }
  }
  std::printf(
      "%d rounds of %llu datagrams. ns/run: the median. × empty: the row's run time over the "
      "yardstick's, both attached in the same storms, the yardstick first in every other round "
      "(the first row is a second copy of the yardstick: the method's own error). × no probe: "
      "the storm's rate against a storm without a probe just before it (%.0f datagrams/s, "
      "median).\n\n",
      rounds, (unsigned long long)packets, median(no_probe));
  std::printf("| probe | ns/run | × empty | storm pkt/s | × no probe | events | lost |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  std::string json = "{\"packets\":" + std::to_string(packets) +
                     ",\"rounds\":" + std::to_string(rounds) + ",\"rows\":[";
  for (size_t i = 0; i < rows.size(); i++) {
    const std::string& name = rows[i].first;
    if (got[i].empty()) {
      std::printf("| %s: refused by this kernel | – | – | – | – | – | – |\n", name.c_str());
      continue;
    }
    std::vector<double> ns, pps;
    double sum_ns = 0, sum_empty = 0;
    for (const Row& r : got[i]) {
      ns.push_back(r.ns_per_run);
      pps.push_back(r.storm_pps);
      sum_ns += r.ns_per_run;
      sum_empty += r.empty_ns;
    }
    const Row& last = got[i].back();
    // Over both orders: the position's cost counted on both sides.
    double xe = sum_empty > 0 ? sum_ns / sum_empty : 0, xs = median(x_storm[i]);
    std::printf("| %s | %.0f | %.2f | %.0f | %.2f | %llu | %llu |\n", name.c_str(), median(ns), xe,
                median(pps), xs, (unsigned long long)last.events, (unsigned long long)last.lost);
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "{\"ns_per_run\":%.1f,\"x_empty\":%.3f,\"storm_pps\":%.0f,\"x_no_probe\":%.3f,"
                  "\"events\":%llu,\"lost\":%llu,\"name\":",
                  median(ns), xe, median(pps), xs, (unsigned long long)last.events,
                  (unsigned long long)last.lost);
    json += std::string(i ? "," : "") + buf + json_string(name) + "}";
  }
  json += "]}\n";
  if (!json_path.empty()) std::ofstream(json_path) << json;
  empty_bpf__destroy(beside.obj);
  close(stats_fd);
  return 0;
}
