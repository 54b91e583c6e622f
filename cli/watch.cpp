#include "cli/watch.h"

#include <signal.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf/dropwatch_abi.h"
#include "cli/capabilities.h"
#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/resolve.h"
#include "compiler/link.h"
#include "events/metrics.h"
#include "events/metrics_server.h"
#include "events/output_file.h"
#include "events/pcapng.h"
#include "events/printer.h"
#include "events/summary.h"
#include "events/text.h"
#include "events/unix_stream.h"
#include "probe/drop_reasons.h"
#include "probe/kallsyms.h"
#include "probe/kernel_features.h"

namespace dw::cli {
namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int report_error(const Error& e, int status) {
  std::fprintf(stderr, "dropwatch: %s\n", e.message.c_str());
  return status;
}

// What the run will load: the probe's knobs and object, and the rules the
// loop applies in userspace.
struct Plan {
  probe::Config config;
  std::optional<std::string> nft_netns;  // --nft-trace: where ("" : here)
  std::vector<uint8_t> elf;
  std::optional<events::NoiseRules> noise;
};

// --list-reasons and --list-noise-rules print and end the run.
int list_reasons(const probe::DropReasons& reasons) {
  if (!reasons.reported())
    std::fprintf(stderr, "dropwatch: this kernel reports no drop reasons (they came with 5.17)\n");
  for (const auto& [code, name] : reasons.all())
    std::printf("%-32s %u %s\n", events::escaped(name).c_str(), code,
                events::escaped(reasons.subsystem(code)).c_str());
  return kExitOk;
}

int list_noise(const events::NoiseRules& noise, const probe::Kallsyms& syms) {
  if (noise.empty()) std::printf("no noise rules\n");
  for (size_t i = 0; i < noise.rules().size(); i++) {
    const auto& r = noise.rules()[i];
    size_t pinned = noise.functions_named(syms, i);
    std::printf("%-24s %zu function%s in this kernel%s%s\n", r.pattern.c_str(), pinned,
                pinned == 1 ? "" : "s", r.why.empty() ? "" : ": ", r.why.c_str());
  }
  return kExitOk;
}

// Noise rules: compiled, and pinned to the kernel functions they name.
// Returns the exit status when the run ends here (0 to go on).
int plan_noise(const WatchOptions& w, Plan& plan) {
  std::vector<events::NoiseRule> rules;
  if (w.default_noise) rules = events::default_noise_rules();
  for (const auto& p : w.noise_patterns) rules.push_back({p, ""});
  auto noise = events::NoiseRules::compile(std::move(rules));
  if (!noise) return report_error(noise.error(), kExitUsage);
  plan.noise.emplace(std::move(*noise));
  if (plan.noise->empty() && !w.list_noise) return 0;
  auto syms = probe::Kallsyms::load();
  if (!syms) return report_error(syms.error(), kExitFailure);
  if (w.list_noise) return list_noise(*plan.noise, *syms) == kExitOk ? -1 : kExitFailure;
  auto ranges = plan.noise->locations(*syms, DW_NOISE_MAX);
  if (ranges)
    plan.config.noise_ranges = std::move(*ranges);
  else
    std::fprintf(stderr, "dropwatch: %s\n", ranges.error().message.c_str());
  return 0;
}

// The gates: namespace, devices, reasons, named on the command line.
int plan_gates(const WatchOptions& w, const probe::DropReasons& reasons, probe::Config& c,
               std::optional<std::string>& nft_netns) {
  auto ns = resolve_netns(w.netns);
  if (!ns) return report_error(ns.error(), kExitUsage);
  if (!w.netns.empty()) c.netns = ns->inode;
  if (w.nft_trace && !w.netns.empty() && ns->path.empty()) {
    std::fprintf(stderr,
                 "dropwatch: --nft-trace needs a namespace it can enter: give --netns as "
                 "/proc/PID/ns/net, /run/netns/NAME or NAME, not an inode\n");
    return kExitUsage;
  }
  if (w.nft_trace) nft_netns = ns->path;
  if (!w.devices.empty() || !w.devices_excluded.empty()) {
    auto keys = resolve_devices(w.devices.empty() ? w.devices_excluded : w.devices, *ns);
    if (!keys) return report_error(keys.error(), kExitUsage);
    c.devices = *keys;
    c.device_mode = w.devices.empty() ? probe::ListMode::Deny : probe::ListMode::Allow;
  }
  if (!w.reasons_allow.empty() || !w.reasons_deny.empty()) {
    auto codes =
        resolve_reasons(w.reasons_allow.empty() ? w.reasons_deny : w.reasons_allow, reasons);
    if (!codes) return report_error(codes.error(), kExitUsage);
    c.reasons = *codes;
    c.reason_mode = w.reasons_allow.empty() ? probe::ListMode::Deny : probe::ListMode::Allow;
  }
  return 0;
}

// Events go to one place: the socket, the file, or standard output (not
// with -w alone, nor with --summary unless --print asks for them).
bool events_out(const WatchOptions& w) {
  return (w.write_path.empty() || w.print) &&
         (!w.storage_spec.empty() || !w.output_file.empty() || w.print || !w.summary_secs);
}

// The filter compiled, before any output file is touched: a filter that
// cannot be compiled changes nothing on disk.
int plan_filter(const WatchOptions& w, std::optional<filter::DropFilter>& f) {
  if (w.filter.empty()) return 0;
  auto compiled = filter::compile_drop_filter(w.filter);
  if (!compiled) {
    std::fputs(compiled.error().render(w.filter, w.filter_origin).c_str(), stderr);
    return kExitUsage;
  }
  f.emplace(std::move(*compiled));
  return 0;
}

// The filter linked into the probe with every knob folded in, once the
// knobs are all known (still before any output file is touched).
int plan_object(const std::optional<filter::DropFilter>& f, Plan& plan) {
  plan.config.filter = f.has_value();
  auto rodata = probe::Probe::rodata(plan.config);
  if (!rodata) return report_error(rodata.error(), kExitUsage);
  auto elf = filter::link_probe(f ? &*f : nullptr, *rodata);
  if (!elf) {
    std::fprintf(stderr, "dropwatch: %s\n", elf.error().message.c_str());
    return f ? kExitUsage : kExitFailure;
  }
  plan.elf = std::move(*elf);
  return 0;
}

void plan_knobs(const WatchOptions& w, probe::Config& c) {
  c.max_events_per_second = w.max_events_per_second;
  c.snaplen = w.snaplen;
  c.stack = w.stack;
  c.stack_budget = w.stack_budget;
  c.track_max = w.track_max;
  c.ringbuf_bytes = w.ringbuf_mib << 20;
  c.attach = w.attach == "tp_btf"        ? probe::AttachMode::Btf
             : w.attach == "tp_btf-copy" ? probe::AttachMode::BtfCopy
             : w.attach == "tracepoint"  ? probe::AttachMode::Tracepoint
                                         : probe::AttachMode::Auto;
  c.verbose = w.verbose;
  // Without an output that takes events, drops are only counted in the
  // kernel; a path is only read by an event.
  c.events = !w.write_path.empty() || events_out(w);
  c.track = w.track && c.events;
}

// Everything before the outputs are opened. -1: a listing was printed.
int make_plan(const WatchOptions& w, const probe::DropReasons& reasons, Plan& plan) {
  std::optional<filter::DropFilter> f;
  if (int rc = plan_noise(w, plan)) return rc;
  if (int rc = plan_filter(w, f)) return rc;
  if (int rc = plan_gates(w, reasons, plan.config, plan.nft_netns)) return rc;
  plan_knobs(w, plan.config);
  if (int rc = plan_object(f, plan)) return rc;
  return 0;
}

// The sinks, in the order events reach them; built in place, as they refer
// to each other (the printer and the summary write into standard output).
struct Outputs {
  std::optional<events::Metrics> metrics;
  std::unique_ptr<events::MetricsServer> server;
  std::optional<events::PcapngWriter> pcap;
  std::optional<events::UnixStream> storage;
  std::optional<events::OutputFile> file;
  std::optional<events::StreamSink> out;  // standard output
  std::optional<events::EventPrinter> printer;
  std::optional<events::DropSummary> summary;
  bool events_out = true;  // events go to the socket, the file or stdout

  std::vector<events::Sink*> sinks() {
    std::vector<events::Sink*> l;
    for (events::Sink* s : std::initializer_list<events::Sink*>{
             metrics ? &*metrics : nullptr, pcap ? &*pcap : nullptr,
             storage && events_out ? &*storage : nullptr, file && events_out ? &*file : nullptr,
             printer ? &*printer : nullptr, summary ? &*summary : nullptr, out ? &*out : nullptr})
      if (s) l.push_back(s);
    return l;
  }
};

Status open_files(const WatchOptions& w, Outputs& o) {
  events::OpenOptions oo;
  oo.follow_symlinks = w.follow_symlinks;
  if (!w.write_path.empty()) {
    auto p = events::PcapngWriter::open(w.write_path, w.snaplen, oo);
    if (!p) return std::unexpected(p.error());
    o.pcap.emplace(std::move(*p));
    oo.not_these.push_back(o.pcap->id());
  }
  if (!w.output_file.empty()) {
    auto f = events::OutputFile::open(w.output_file, w.file_size, w.file_count, oo);
    if (!f) return std::unexpected(f.error());
    o.file.emplace(std::move(*f));
  }
  return {};
}

// Opened before attaching: an unwritable path or a busy port stops the run
// with nothing loaded.
Status open_outputs(const WatchOptions& w, Outputs& o) {
  if (w.write_path == "-" && w.summary_secs > 0)
    return fail("-w - and --summary would both write to stdout");
  if (auto ok = open_files(w, o); !ok) return ok;
  if (!w.metrics_addr.empty()) {
    o.metrics.emplace(w.metrics_series, /*from_counts=*/true);
    auto srv = events::MetricsServer::start(w.metrics_addr, *o.metrics);
    if (!srv) return std::unexpected(srv.error());
    o.server = std::move(*srv);
  }
  if (!w.storage_spec.empty()) {
    auto st = events::UnixStream::open(w.storage_spec);
    if (!st) return std::unexpected(st.error());
    o.storage.emplace(std::move(*st));
  }
  o.events_out = events_out(w);
  bool to_stdout = o.events_out && !o.storage && !o.file;
  if (!to_stdout && w.summary_secs <= 0) return {};
  auto s = events::RecordStream::open("-");
  if (!s) return std::unexpected(s.error());
  events::RecordStream& out = o.out.emplace(std::move(*s), "standard output").stream();
  if (to_stdout) {
    events::PrintOptions po{w.format == "json" ? events::Format::Json : events::Format::Text,
                            w.packet_data, true};
    o.printer.emplace(out, po);
  }
  if (w.summary_secs > 0) o.summary.emplace(w.top, w.summary_secs, &out, /*from_counts=*/true);
  return {};
}

LoopLimits limits(const WatchOptions& w, const Outputs& out) {
  LoopLimits l;
  l.counts = out.metrics || out.summary;
  l.task_id = w.task_id;
  l.count = w.count;
  l.stop = &g_stop;
  // Saturating: --duration 1e10 is "practically never", not an overflow.
  if (w.duration > 0 && w.duration < 1e9)
    l.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(w.duration));
  return l;
}

void install_signals() {
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// One line on what this kernel lacks and what that changes, or nothing.
void say_what_is_missing(const probe::Probe& p, const probe::Config& c) {
  auto f = probe::KernelFeatures::detect();
  std::string lacks = f ? f->lacking() : "";
  if (c.attach == probe::AttachMode::Auto && p.attach_point().starts_with("tracepoint/")) {
    lacks += lacks.empty() ? "kernel " + (f ? f->release : std::string("?")) + " lacks " : "; ";
    lacks += "a usable BTF tracepoint: the classic one is used, each field read ~35 ns";
  }
  if (!lacks.empty()) std::fprintf(stderr, "dropwatch: %s\n", lacks.c_str());
}

// Attached: the loop until the end, then the exit report.
int watch(const WatchOptions& w, Plan& plan, Outputs& out, const probe::DropReasons& reasons) {
  if (!plan.noise) return kExitFailure;  // make_plan() sets it
  install_signals();
  // The ruleset is changed before the probe loads, and put back by the
  // tracer's destructor on every way out of here.
  std::unique_ptr<probe::NftTracer> nft;
  if (plan.nft_netns) {
    std::vector<std::string> notes;
    auto t = probe::NftTracer::start(*plan.nft_netns, &notes);
    for (const std::string& n : notes) std::fprintf(stderr, "dropwatch: %s\n", n.c_str());
    if (!t) return report_error(t.error(), kExitUsage);
    nft = std::move(*t);
  }
  auto probe = probe::Probe::start(plan.elf, plan.config);
  if (!probe) return report_error(probe.error(), kExitFailure);
  say_what_is_missing(**probe, plan.config);
  // After attaching, so our own program's frames can be named and trimmed.
  auto syms = probe::Kallsyms::load();
  if (!syms) return report_error(syms.error(), kExitFailure);
  events::EventDecoder decoder(reasons, *syms);
  std::fprintf(stderr, "dropwatch: watching skb:kfree_skb (%s%s%s%s); Ctrl-C to stop\n",
               (*probe)->attach_point().c_str(),
               !plan.config.filter    ? ""
               : (*probe)->in_place() ? ", filter in place"
                                      : ", filter on a copy",
               plan.config.events ? "" : ", counting only",
               plan.config.track ? ", tracking packet paths" : "");
  EventLoop loop(**probe, decoder, *plan.noise, out.sinks(), limits(w, out));
  loop.explain_with(nft.get());
  Status ran = loop.run();
  loop.finish();
  probe->reset();  // unloaded before the report: nothing runs past this point
  if (nft) {
    if (auto ok = nft->remove(); !ok)
      std::fprintf(stderr, "dropwatch: could not remove nftables table %s: %s\n",
                   nft->table().c_str(), ok.error().message.c_str());
  }
  if (!ran) std::fprintf(stderr, "dropwatch: %s\n", ran.error().message.c_str());
  if (loop.failure()) std::fprintf(stderr, "dropwatch: %s\n", loop.failure()->message.c_str());
  std::fputs(loop.report().c_str(), stderr);
  return ran && !loop.failure() ? kExitOk : kExitFailure;
}

}  // namespace

int run_watch(const WatchOptions& w) {
  if (!w.list_reasons) {
    std::string missing = missing_capabilities(effective_capabilities());
    if (!missing.empty()) {
      std::fprintf(stderr,
                   "dropwatch: missing capabilities: %s; run as root or grant them "
                   "(docs/deploy.md)\n",
                   missing.c_str());
      return kExitFailure;
    }
  }
  auto reasons = probe::DropReasons::from_kernel();
  if (!reasons) return report_error(reasons.error(), kExitFailure);
  if (w.list_reasons) return list_reasons(*reasons);
  Plan plan;
  if (int rc = make_plan(w, *reasons, plan)) return rc < 0 ? kExitOk : rc;
  Outputs out;
  if (auto ok = open_outputs(w, out); !ok) return report_error(ok.error(), kExitUsage);
  return watch(w, plan, out, *reasons);
}

}  // namespace dw::cli
