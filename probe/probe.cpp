#include "probe/probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <vector>

#include "compiler/codegen.h"
#include "compiler/dag.h"
#include "dropwatch.h"
#include "dropwatch.skel.h"

extern const unsigned char dw_bc_dropwatch[];
extern const unsigned long dw_bc_dropwatch_size;

namespace dw {
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

std::string load_error(int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM || err == EACCES)
    return "loading the probe was refused (" + errno_text(err) +
           "): run dropwatch as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE";
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
  ring_buffer* rb = nullptr;
  const RecordFn* fn = nullptr;
  bpf_program* prog = nullptr;
  int ncpus = 1;

  // Detach first, then unmap, then close the object (skel's deleter).
  ~State() {
    if (link) bpf_link__destroy(link);
    if (rb) ring_buffer__free(rb);
  }
};

Probe::Probe(std::unique_ptr<State> s) : s_(std::move(s)) {}
Probe::~Probe() = default;

Result<std::unique_ptr<Probe>> Probe::start(const ProbeOptions& opts) {
  g_verbose = opts.verbose;
  libbpf_set_print(libbpf_log);
  if (!exists("/sys/kernel/btf/vmlinux"))
    return fail("the kernel has no BTF (/sys/kernel/btf/vmlinux is missing): dropwatch needs a "
                "kernel built with CONFIG_DEBUG_INFO_BTF=y");
  // Link the filter (or an accept-all one) into the probe's bitcode.
  filter::Dag accept_all;
  std::vector<filter::FilterDef> defs = {
      {"dw_filter_link", opts.link_filter ? opts.link_filter : &accept_all},
      {"dw_filter_net", opts.net_filter ? opts.net_filter : &accept_all}};
  filter::ObjectOptions oo;
  oo.capacity = DW_SNAPLEN_MAX;
  auto elf = filter::link_program(std::span<const uint8_t>(dw_bc_dropwatch, dw_bc_dropwatch_size),
                                  defs, oo);
  if (!elf) return fail("cannot build the probe: " + elf.error().message);
  bool btf = opts.attach != AttachMode::kTracepoint;
  auto st = try_start(opts, btf, *elf);
  // Fall back to the classic tracepoint when the BTF one cannot be used,
  // unless the mode was asked for explicitly or the failure was a permission.
  if (!st && opts.attach == AttachMode::kAuto && st.error().code != EPERM &&
      st.error().code != EACCES) {
    auto tp = try_start(opts, false, *elf);
    if (!tp)
      return fail(st.error().message + "; the classic tracepoint failed too: " +
                  tp.error().message);
    st = std::move(tp);
    btf = false;
  }
  if (!st) return std::unexpected(st.error());
  std::unique_ptr<Probe> p(new Probe(std::move(*st)));
  p->attach_point_ = btf ? "tp_btf/kfree_skb" : "tracepoint/skb/kfree_skb";
  return p;
}

int Probe::on_record(void* ctx, void* data, size_t size) {
  auto* st = static_cast<State*>(ctx);
  (*st->fn)(std::span<const uint8_t>(static_cast<const uint8_t*>(data), size));
  return 0;
}

Result<std::unique_ptr<Probe::State>> Probe::try_start(const ProbeOptions& o, bool btf,
                                                      const std::vector<uint8_t>& elf) {
  if (!btf && !exists("/sys/kernel/tracing/events/skb/kfree_skb") &&
      !exists("/sys/kernel/debug/tracing/events/skb/kfree_skb"))
    return fail("tracefs is not mounted, so the skb:kfree_skb tracepoint cannot be found: "
                "mount -t tracefs nodev /sys/kernel/tracing");
  auto st = std::make_unique<State>();
  st->elf = elf;
  // The skeleton gives typed access; the object it opens is ours, linked
  // with the filter, instead of the stub object it was generated from.
  auto* raw = static_cast<dropwatch_bpf*>(calloc(1, sizeof(dropwatch_bpf)));
  if (!raw) return fail("out of memory");
  st->skel.reset(raw);
  if (int err = dropwatch_bpf__create_skeleton(raw))
    return fail("cannot set up the BPF skeleton: " + errno_text(err), -err);
  raw->skeleton->data = st->elf.data();
  raw->skeleton->data_sz = st->elf.size();
  LIBBPF_OPTS(bpf_object_open_opts, open_opts);
  if (int err = bpf_object__open_skeleton(raw->skeleton, &open_opts))
    return fail("cannot open the BPF object: " + errno_text(err), -err);
  dropwatch_bpf* sk = raw;
  sk->rodata->cfg_snaplen = o.snaplen;
  sk->rodata->cfg_stack = o.stack ? 1 : 0;
  sk->rodata->cfg_wakeup_bytes = o.ringbuf_bytes / 4;
  sk->rodata->cfg_filter = o.link_filter || o.net_filter ? 1 : 0;
  sk->rodata->cfg_reason_mode = uint8_t(o.reason_mode);
  sk->rodata->cfg_device_mode = uint8_t(o.device_mode);
  sk->rodata->cfg_netns = o.netns;
  if (o.noise_ranges.size() > DW_NOISE_MAX)
    return fail("too many noise locations: " + std::to_string(o.noise_ranges.size()) +
                ", at most " + std::to_string(DW_NOISE_MAX));
  for (size_t i = 0; i < o.noise_ranges.size(); i++) {
    sk->rodata->cfg_noise[i].start = o.noise_ranges[i].first;
    sk->rodata->cfg_noise[i].end = o.noise_ranges[i].second;
  }
  sk->rodata->cfg_noise_count = uint32_t(o.noise_ranges.size());
  if (o.max_events_per_second) {
    // Each CPU gets its share of the rate (no shared state on the hot
    // path), and a burst of one second's share.
    uint64_t ncpus = std::max(1, libbpf_num_possible_cpus());
    uint64_t interval = 1000000000ull * ncpus / o.max_events_per_second;
    sk->rodata->cfg_rate_interval_ns = std::max<uint64_t>(interval, 1);
    sk->rodata->cfg_rate_burst_ns = std::max<uint64_t>(interval, 1000000000ull);
  }
  if (int err = bpf_map__set_max_entries(sk->maps.events, o.ringbuf_bytes))
    return fail("invalid ring buffer size " + std::to_string(o.ringbuf_bytes) + ": " +
                errno_text(err));
  st->prog = btf ? sk->progs.dw_kfree_skb_btf : sk->progs.dw_kfree_skb_tp;
  bpf_program__set_autoload(btf ? sk->progs.dw_kfree_skb_tp : sk->progs.dw_kfree_skb_btf, false);
  if (int err = dropwatch_bpf__load(sk)) return fail(load_error(err), err < 0 ? -err : err);
  uint8_t one = 1;
  for (uint32_t r : o.reasons)
    if (bpf_map_update_elem(bpf_map__fd(sk->maps.reasons), &r, &one, BPF_ANY))
      return fail("cannot fill the reason map: " + errno_text(errno), errno);
  for (const DeviceKey& d : o.devices) {
    dw_dev_key k{d.netns, d.ifindex};
    if (bpf_map_update_elem(bpf_map__fd(sk->maps.devices), &k, &one, BPF_ANY))
      return fail("cannot fill the device map: " + errno_text(errno), errno);
  }
  st->link = bpf_program__attach(st->prog);
  if (!st->link) {
    int err = errno;
    return fail(std::string("cannot attach to skb:kfree_skb (") + (btf ? "tp_btf" : "tracepoint") +
                    "): " + errno_text(err),
                err);
  }
  st->rb = ring_buffer__new(bpf_map__fd(sk->maps.events), on_record, st.get(), nullptr);
  if (!st->rb) return fail("cannot map the ring buffer: " + errno_text(errno), errno);
  st->ncpus = libbpf_num_possible_cpus();
  return st;
}

Result<int> Probe::poll(int timeout_ms, const RecordFn& fn) {
  s_->fn = &fn;
  int n = ring_buffer__poll(s_->rb, timeout_ms);
  if (n == -EINTR) n = 0;
  if (n < 0) return fail("reading the ring buffer failed: " + errno_text(n));
  // Records written without a wakeup are waiting even when poll timed out.
  int m = ring_buffer__consume(s_->rb);
  if (m < 0 && m != -EINTR) return fail("reading the ring buffer failed: " + errno_text(m));
  return n + (m > 0 ? m : 0);
}

ProbeCounters Probe::counters() const {
  std::vector<dw_counters> per_cpu(s_->ncpus);
  uint32_t key = 0;
  ProbeCounters c;
  if (bpf_map_lookup_elem(bpf_map__fd(s_->skel->maps.counters), &key, per_cpu.data())) return c;
  for (const dw_counters& v : per_cpu) {
    c.seen += v.seen;
    c.reason_rejected += v.reason_rejected;
    c.netns_rejected += v.netns_rejected;
    c.device_rejected += v.device_rejected;
    c.filtered += v.filtered;
    c.no_header_filtered += v.no_header_filtered;
    c.rate_limited += v.rate_limited;
    c.lost += v.lost;
    c.emitted += v.emitted;
    c.no_header += v.no_header;
    c.noise += v.noise;
  }
  return c;
}

uint32_t Probe::program_id() const {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(s_->prog), &info, &len)) return 0;
  return info.id;
}

}  // namespace dw
