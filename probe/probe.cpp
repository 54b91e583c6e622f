#include "probe/probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <tuple>
#include <vector>

#include "bpf/dropwatch_abi.h"
#include "dropwatch.skel.h"
#include "probe/filter_linkage.h"
#include "probe/kernel_features.h"
#include "probe/ring_reader.h"

namespace dw::probe {
namespace {

bool g_verbose = false;

int libbpf_log(enum libbpf_print_level, const char* fmt, va_list args) {
  if (!g_verbose) return 0;  // warnings too are noise unless -v asks for them
  return vfprintf(stderr, fmt, args);
}

bool exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0;
}

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

// A seccomp filter is on this process ("Seccomp: 2"): in a container, the
// runtime's profile.
bool seccomp_filtered() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Seccomp:")) return line.find('2') != std::string::npos;
  return false;
}

// EPERM is the kernel saying no to the process; the verifier's refusals
// come as EACCES, EINVAL or E2BIG. The capabilities were checked before
// loading, so an EPERM under a seccomp filter is most likely the filter:
// runtime profiles older than CAP_BPF allow bpf() only with CAP_SYS_ADMIN.
std::string load_error(int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM && seccomp_filtered())
    return "loading the probe was refused (" + errno_text(err) +
           ") although dropwatch has the capabilities it needs: this process runs under a "
           "seccomp filter (Seccomp: 2 in /proc/self/status), and container runtimes' default "
           "profiles allow bpf() and perf_event_open() only with CAP_SYS_ADMIN; run the "
           "container with a profile that allows them, or unconfined (docs/deploy.md)";
  if (err == EPERM)
    return "loading the probe was refused (" + errno_text(err) +
           "): run dropwatch as root, or grant CAP_BPF and CAP_PERFMON (and CAP_SYS_RESOURCE "
           "on kernels before 5.11)";
  return "the kernel rejected the probe (" + errno_text(err) +
         "); rerun with -v to see the verifier log";
}

struct SkelDeleter {
  void operator()(dropwatch_bpf* s) const { dropwatch_bpf__destroy(s); }
};

}  // namespace

struct Probe::State {
  std::vector<uint8_t> elf;  // libbpf reads it until the object is loaded
  std::unique_ptr<dropwatch_bpf, SkelDeleter> skel;
  bpf_link* link = nullptr;
  std::vector<bpf_link*> track_links;  // --track's points and consume_skb
  std::unique_ptr<RingReader> ring;    // unmapped before the object closes
  bpf_program* prog = nullptr;
  int ncpus = 1;

  // Detach first, then unmap, then close the object (skel's deleter).
  ~State() {
    for (bpf_link* l : track_links) bpf_link__destroy(l);
    if (link) bpf_link__destroy(link);
  }
};

Probe::Probe(std::unique_ptr<State> s) : s_(std::move(s)) {}
Probe::~Probe() = default;

Result<std::unique_ptr<Probe>> Probe::start(std::span<const uint8_t> elf, const Config& c) {
  g_verbose = c.verbose;
  libbpf_set_print(libbpf_log);
  if (!exists("/sys/kernel/btf/vmlinux"))
    return fail(
        "the kernel has no BTF (/sys/kernel/btf/vmlinux is missing): dropwatch needs a "
        "kernel built with CONFIG_DEBUG_INFO_BTF=y");
  // In place first, then with a copy, then the classic tracepoint: each
  // when the one before cannot be used, unless a mode was asked for or the
  // failure was a permission.
  std::vector<Entry> order;
  if (c.attach != AttachMode::Tracepoint) {
    if (c.attach != AttachMode::BtfCopy && in_place_reads_supported())
      order.push_back(Entry::InPlace);
    order.push_back(Entry::Copy);
  }
  if (c.attach == AttachMode::Auto || c.attach == AttachMode::Tracepoint)
    order.push_back(Entry::Tracepoint);
  std::string errors, refused;
  for (Entry e : order) {
    auto st = try_start(c, e, elf);
    if (st) {
      std::unique_ptr<Probe> p(new Probe(std::move(*st)));
      p->attach_point_ = e == Entry::Tracepoint ? "tracepoint/skb/kfree_skb" : "tp_btf/kfree_skb";
      p->in_place_ = e == Entry::InPlace;
      p->in_place_refused_ = refused;
      return p;
    }
    if (e == Entry::InPlace) {
      refused = st.error().message;
      if (st.error().code == EPERM) return std::unexpected(st.error());
      continue;  // the copy entry says the same if it is a real problem
    }
    if (st.error().code == EPERM || e == order.back())
      return errors.empty()
                 ? std::unexpected(st.error())
                 : fail(errors + "; the classic tracepoint failed too: " + st.error().message);
    errors = st.error().message;
  }
  return fail("no attach point to try");
}

// --track's programs for this entry: the path points and consume_skb.
static std::vector<bpf_program*> track_programs(dropwatch_bpf* sk, bool in_place) {
  auto& p = sk->progs;
  if (in_place)
    return {p.dw_track_dev_queue,   p.dw_track_start_xmit,  p.dw_track_netif_rx,
            p.dw_track_receive_skb, p.dw_track_gro_receive, p.dw_track_consumed};
  return {p.dw_track_dev_queue_copy,   p.dw_track_start_xmit_copy,  p.dw_track_netif_rx_copy,
          p.dw_track_receive_skb_copy, p.dw_track_gro_receive_copy, p.dw_track_consumed};
}

static std::vector<bpf_program*> all_track_programs(dropwatch_bpf* sk) {
  std::vector<bpf_program*> all = track_programs(sk, true);
  for (bpf_program* p : track_programs(sk, false))
    if (!std::ranges::count(all, p)) all.push_back(p);
  return all;
}

using Rodata = dropwatch_bpf::dropwatch_bpf__rodata;

// The CPUs the per-CPU state is sized for (possible, not online ones).
static int possible_cpus() { return std::max(1, libbpf_num_possible_cpus()); }

// The knobs, as the program's .rodata.
static Result<Rodata> knobs(const Config& o) {
  Rodata r{};
  r.cfg_snaplen = std::min<uint32_t>(o.snaplen, DW_SNAPLEN_MAX);
  r.cfg_stack = o.stack && o.events ? 1 : 0;
  r.cfg_events = o.events ? 1 : 0;
  r.cfg_wakeup_bytes = o.ringbuf_bytes / 4;
  r.cfg_filter = o.filter ? 1 : 0;
  r.cfg_reason_mode = uint8_t(o.reason_mode);
  r.cfg_device_mode = uint8_t(o.device_mode);
  r.cfg_netns = o.netns;
  if (o.noise_ranges.size() > DW_NOISE_MAX)
    return fail("too many noise locations: " + std::to_string(o.noise_ranges.size()) +
                ", at most " + std::to_string(DW_NOISE_MAX));
  for (size_t i = 0; i < o.noise_ranges.size(); i++) {
    r.cfg_noise[i].start = o.noise_ranges[i].first;
    r.cfg_noise[i].end = o.noise_ranges[i].second;
  }
  r.cfg_noise_count = uint32_t(o.noise_ranges.size());
  // Each CPU gets its share of a rate (no shared state on the hot path),
  // and a burst of one second's share.
  uint64_t ncpus = possible_cpus();
  auto bucket = [&](uint32_t per_second, __u64& interval, __u64& burst) {
    if (!per_second) return;
    uint64_t i = std::max<uint64_t>(1000000000ull * ncpus / per_second, 1);
    interval = i;
    burst = std::max<uint64_t>(i, 1000000000ull);
  };
  bucket(o.max_events_per_second, r.cfg_rate_interval_ns, r.cfg_rate_burst_ns);
  bucket(o.stack_budget, r.cfg_stack_interval_ns, r.cfg_stack_burst_ns);
  r.cfg_track = o.track ? 1 : 0;
  return r;
}

Result<std::vector<RodataValue>> Probe::rodata(const Config& c) {
  auto r = knobs(c);
  if (!r) return std::unexpected(r.error());
  auto bytes = [](const auto& field) {
    auto* p = reinterpret_cast<const uint8_t*>(&field);
    return std::vector<uint8_t>(p, p + sizeof(field));
  };
  std::vector<RodataValue> out;
#define DW_RODATA_VALUE(name) out.push_back({#name, bytes(r->name)});
  DW_RODATA_VALUE(cfg_snaplen)
  DW_RODATA_VALUE(cfg_stack)
  DW_RODATA_VALUE(cfg_filter)
  DW_RODATA_VALUE(cfg_reason_mode)
  DW_RODATA_VALUE(cfg_device_mode)
  DW_RODATA_VALUE(cfg_netns)
  DW_RODATA_VALUE(cfg_noise_count)
  DW_RODATA_VALUE(cfg_noise)
  DW_RODATA_VALUE(cfg_rate_interval_ns)
  DW_RODATA_VALUE(cfg_rate_burst_ns)
  DW_RODATA_VALUE(cfg_stack_interval_ns)
  DW_RODATA_VALUE(cfg_stack_burst_ns)
  DW_RODATA_VALUE(cfg_events)
  DW_RODATA_VALUE(cfg_wakeup_bytes)
  DW_RODATA_VALUE(cfg_track)
#undef DW_RODATA_VALUE
  return out;
}

// The knobs and the maps' sizes; false (with *why) for a value the probe
// cannot take.
static bool configure(dropwatch_bpf* sk, const Config& o, std::string* why) {
  auto r = knobs(o);
  if (!r) {
    *why = r.error().message;
    return false;
  }
  *sk->rodata = *r;
  uint64_t ncpus = possible_cpus();
  // The LRU map is preallocated: a single entry when nothing is tracked.
  if (int err = bpf_map__set_max_entries(sk->maps.paths, o.track ? std::max(o.track_max, 1u) : 1)) {
    *why = "invalid --track size " + std::to_string(o.track_max) + ": " + errno_text(err);
    return false;
  }
  // A CPU's counters and its part of the drop table at its number.
  int err = bpf_map__set_max_entries(sk->maps.counters, uint32_t(ncpus));
  if (!err) err = bpf_map__set_max_entries(sk->maps.drop_slots, uint32_t(ncpus * DW_COUNT_SLOTS));
  if (err) {
    *why =
        "cannot size the per-CPU maps for " + std::to_string(ncpus) + " CPUs: " + errno_text(err);
    return false;
  }
  err = bpf_map__set_max_entries(sk->maps.events, o.ringbuf_bytes);
  if (err) {
    *why = "invalid ring buffer size " + std::to_string(o.ringbuf_bytes) + ": " + errno_text(err);
    return false;
  }
  return true;
}

// The gate maps, after load.
static Status fill_maps(dropwatch_bpf* sk, const Config& o) {
  uint8_t one = 1;
  for (uint32_t r : o.reasons)
    if (bpf_map_update_elem(bpf_map__fd(sk->maps.reasons), &r, &one, BPF_ANY))
      return fail_errno("cannot fill the reason map");
  for (const DeviceKey& d : o.devices) {
    dw_dev_key k{d.netns, d.ifindex};
    if (bpf_map_update_elem(bpf_map__fd(sk->maps.devices), &k, &one, BPF_ANY))
      return fail_errno("cannot fill the device map");
  }
  return {};
}

Result<std::unique_ptr<Probe::State>> Probe::try_start(const Config& o, Entry entry,
                                                       std::span<const uint8_t> elf) {
  bool btf = entry != Entry::Tracepoint;
  if (!btf && !exists("/sys/kernel/tracing/events/skb/kfree_skb") &&
      !exists("/sys/kernel/debug/tracing/events/skb/kfree_skb"))
    return fail(
        "tracefs is not mounted, so the skb:kfree_skb tracepoint cannot be found: "
        "mount -t tracefs nodev /sys/kernel/tracing");
  auto st = std::make_unique<State>();
  st->elf.assign(elf.begin(), elf.end());
  // The skeleton gives typed access; the object it opens is ours, linked
  // with the filter, instead of the stub object it was generated from.
  auto* sk = static_cast<dropwatch_bpf*>(calloc(1, sizeof(dropwatch_bpf)));
  if (!sk) return fail("out of memory");
  st->skel.reset(sk);
  if (int err = dropwatch_bpf__create_skeleton(sk))
    return fail("cannot set up the BPF skeleton: " + errno_text(err), -err);
  sk->skeleton->data = st->elf.data();
  sk->skeleton->data_sz = st->elf.size();
  LIBBPF_OPTS(bpf_object_open_opts, open_opts);
  if (int err = bpf_object__open_skeleton(sk->skeleton, &open_opts))
    return fail("cannot open the BPF object: " + errno_text(err), -err);
  std::string why;
  if (!configure(sk, o, &why)) return fail(why);
  // In place the filter takes an untrusted pointer, which only a static
  // function may: verified in its caller, the same instructions.
  if (entry == Entry::InPlace || filters_must_be_static()) make_filters_static(sk->obj);
  st->prog = entry == Entry::InPlace ? sk->progs.dw_kfree_skb_btf
             : entry == Entry::Copy  ? sk->progs.dw_kfree_skb_btf_copy
                                     : sk->progs.dw_kfree_skb_tp;
  for (bpf_program* p :
       {sk->progs.dw_kfree_skb_btf, sk->progs.dw_kfree_skb_btf_copy, sk->progs.dw_kfree_skb_tp})
    bpf_program__set_autoload(p, p == st->prog);
  if (o.track && !btf)
    return fail("--track needs BTF tracepoints (tp_btf), which the classic tracepoint mode lacks");
  std::vector<bpf_program*> track = track_programs(sk, entry == Entry::InPlace);
  for (bpf_program* p : all_track_programs(sk))
    bpf_program__set_autoload(p, o.track && std::ranges::count(track, p));
  if (int err = dropwatch_bpf__load(sk)) return fail(load_error(err), err < 0 ? -err : err);
  if (auto ok = fill_maps(sk, o); !ok) return std::unexpected(ok.error());
  st->link = bpf_program__attach(st->prog);
  if (!st->link) {
    int err = errno;
    return fail(std::string("cannot attach to skb:kfree_skb (") + (btf ? "tp_btf" : "tracepoint") +
                    "): " + errno_text(err),
                err);
  }
  // The path points after the drop: a path is only ever read by a drop.
  for (bpf_program* p : o.track ? track : std::vector<bpf_program*>{}) {
    bpf_link* l = bpf_program__attach(p);
    if (!l) {
      int err = errno;
      return fail(std::string("--track: cannot attach to ") + bpf_program__section_name(p) + ": " +
                      errno_text(err),
                  err);
    }
    st->track_links.push_back(l);
  }
  auto ring = RingReader::open(bpf_map__fd(sk->maps.events), bpf_map__max_entries(sk->maps.events));
  if (!ring) return std::unexpected(ring.error());
  st->ring = std::move(*ring);
  st->ncpus = possible_cpus();
  return st;
}

Status Probe::wait(int timeout_ms) { return s_->ring->wait(timeout_ms); }

Result<size_t> Probe::consume(size_t max, const RecordFn& fn) { return s_->ring->consume(max, fn); }

void Probe::detach() {
  for (bpf_link* l : s_->track_links) bpf_link__destroy(l);
  s_->track_links.clear();
  if (s_->link) bpf_link__destroy(std::exchange(s_->link, nullptr));
}

// Every entry of an array map, in one batch when the kernel has it (5.6).
template <typename T>
static bool read_array(int fd, std::vector<T>& out) {
  std::vector<uint32_t> keys(out.size());
  uint32_t out_batch = 0, count = uint32_t(out.size());
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (!bpf_map_lookup_batch(fd, nullptr, &out_batch, keys.data(), out.data(), &count, &opts) &&
      count == out.size())
    return true;
  for (uint32_t k = 0; k < out.size(); k++)
    if (bpf_map_lookup_elem(fd, &k, &out[k])) return false;
  return true;
}

Counters Probe::counters() const {
  std::vector<dw_cpu_state> per_cpu(s_->ncpus);
  if (!read_array(bpf_map__fd(s_->skel->maps.counters), per_cpu)) return {};
  return sum_cpus(per_cpu.data(), per_cpu.size());
}

std::vector<DropCount> Probe::drop_counts() const {
  std::vector<dw_count_slot> slots(size_t(DW_COUNT_SLOTS) * s_->ncpus);
  if (!read_array(bpf_map__fd(s_->skel->maps.drop_slots), slots)) return {};
  std::map<std::tuple<uint64_t, uint32_t, uint32_t, int32_t>, DropCount> rows;
  for (size_t i = 0; i < slots.size(); i++) {
    const dw_count_slot& s = slots[i];
    if (!s.drops) continue;
    DropCount& r = rows[{s.key.location, s.key.reason, s.key.netns, s.key.ifindex}];
    r.location = s.key.location;
    r.reason = s.key.reason;
    r.netns = s.key.netns;
    r.ifindex = s.key.ifindex;
    r.drops += s.drops;
    if (r.ifname.empty()) r.ifname.assign(s.ifname, strnlen(s.ifname, sizeof(s.ifname)));
  }
  std::vector<DropCount> out;
  out.reserve(rows.size() + 1);
  for (auto& [k, r] : rows) out.push_back(std::move(r));
  if (uint64_t other = counters()[Counter::count_overflow]) {
    DropCount r;
    r.location = kDropCountOther;
    r.drops = other;
    out.push_back(r);
  }
  return out;
}

uint32_t Probe::program_id() const {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(s_->prog), &info, &len)) return 0;
  return info.id;
}

}  // namespace dw::probe
