// dropwatch: report the packets the kernel drops, why and where.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "cli/capabilities.h"
#include "cli/drop_filter.h"
#include "cli/help.h"
#include "cli/metrics.h"
#include "cli/noise.h"
#include "cli/offline.h"
#include "cli/output_file.h"
#include "cli/summary.h"
#include "cli/unix_stream.h"
#include "cli/resolve.h"
#include "compiler/pipeline.h"
#include "dropwatch.h"
#include "probe/cgroups.h"
#include "probe/drop_reasons.h"
#include "probe/event.h"
#include "probe/format.h"
#include "probe/kallsyms.h"
#include "probe/pcapng.h"
#include "probe/probe.h"

namespace {

// Exit codes, documented in --help and docs/cli.md.
constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;  // the probe could not start, or output failed
constexpr int kExitUsage = 2;    // bad flag or value

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

const char* kDescription =
    "Reports the packets the kernel drops, why and where: one eBPF program on the\n"
    "skb:kfree_skb tracepoint reads each drop's reason, the function that dropped\n"
    "it, the device, network namespace, task, the first bytes of the packet and\n"
    "the kernel stack, and writes one event per drop.\n";

const char* kFooter = R"(EXAMPLES
  dropwatch
      Every drop, as text on a terminal, NDJSON in a pipe.
  dropwatch --output json | jq 'select(.reason == "NO_SOCKET")'
      Drops for which no socket was found, with jq.
  dropwatch --output json --count 10 --no-stack
      The next ten drops, without stacks (cheaper: ~5 us less per event).
  dropwatch --duration 60 --snaplen 128 > drops.ndjson
      One minute of drops, 128 bytes of each packet.
  dropwatch --filter 'src net 10.0.0.0/8 and tcp dst port 3306'
      Only drops of MySQL traffic from 10/8: tested in the kernel, nothing
      else reaches userspace.
  dropwatch --device eth0 --output json | jq .reason
      Drops on eth0 of dropwatch's own network namespace.
  dropwatch --netns /run/netns/blue --device eth0 --reason NO_SOCKET,NETFILTER_DROP
      Two reasons, on eth0 inside namespace "blue".
  dropwatch --max-events-per-second 1000 --no-stack
      At most 1000 events a second; the rest are counted as suppressed.
  dropwatch -w drops.pcapng --filter 'tcp port 443'
      Dropped HTTPS packets to a pcapng file; Wireshark shows each one's
      reason, location and task as its packet comment.
  dropwatch --output-file drops.ndjson -C 100 -W 10
      Events with their packet bytes to a ring of ten files of ~100 MB:
      drops.ndjson0 .. drops.ndjson9.
  dropwatch print drops.ndjson --filter 'udp'
      Stored events as text; the filter selects what it would have live.
  dropwatch pcap drops.ndjson -o drops.pcapng
      Stored events to pcapng, as -w would have written them.
  dropwatch --output-storage unix:/run/huatuo/events.sock --filter tcp
      Events to a collector's unix socket, as huatuo-bamai reads them.
  dropwatch --metrics 127.0.0.1:9464 --summary 60
      Prometheus metrics of every drop, a table on stdout every minute.
  dropwatch --summary 5 --no-stack
      Every 5 s, the top 10 (reason, location, device) of the drops, with
      rates; the whole run's table at exit.

FILTERS
  --filter takes tcpdump's language (see dropfilter --help and
  docs/filter-language.md). Frames with a MAC header on an Ethernet-like
  device are filtered from the MAC header; packets with only a network header
  (locally generated, tunnels) from the IP header, where link-level primitives
  such as "ether host" or "vlan" are false. With a filter, a drop with neither
  header is counted, never shown. Gates run in the kernel, cheapest first:
  noise locations, reason, namespace, device, filter, rate limit.

NOISE
  Drops that are not data-plane losses are suppressed by default: a closing
  TCP socket (skb_rbtree_purge), a failed neighbour entry (neigh_invalidate),
  bnxt TX completion (bnxt_tx_int). A rule is an RE2 pattern matching a whole
  function name; drops located in the functions it names are skipped in the
  kernel, drops with such a function deeper in the stack in userspace (this
  needs stacks). Both are counted in the exit summary.

OUTPUT
  Events go to stdout: NDJSON (one object per line, huatuo dropwatch field
  names, see docs/events.md) or text (a Retis-like header line, a tcpdump-style
  packet line, the stack). Messages and the exit summary go to stderr. Once the
  probe is attached dropwatch prints "dropwatch: watching ..." on stderr.
  With -w FILE the captured packets go to FILE as pcapng instead (events are
  printed too with --print): Ethernet frames and, for drops seen before or
  without a MAC header, raw IP packets, each on an interface named after its
  device, with nanosecond kernel timestamps, the wire length and a comment
  "REASON at LOCATION comm COMM pid PID netns INODE". Drops without captured
  bytes have no frame. A file that received no packet is removed.
  --output-file FILE writes the events to FILE instead of stdout, with their
  packet bytes when the format is json (as --packet-data), so that "dropwatch
  print" and "dropwatch pcap" can filter and convert them later. A write error
  stops dropwatch with exit status 1 and says how many events were lost.

COMMANDS
  dropwatch print FILE... [--filter EXPR] [-o text|json] [--no-stack]
  dropwatch pcap FILE... -o OUT.pcapng [--filter EXPR]
      Read stored NDJSON events ("-" for stdin). A line that is not an event
      is reported as FILE:LINE and skipped (exit status 1 at the end); the
      rest is processed. The filter runs on the stored packet bytes with the
      compiled expression dropwatch would have linked into the probe.

EXIT STATUS
  0  stopped by --count, --duration, SIGINT or SIGTERM
  1  the probe could not start (not root, no BTF, no tracepoint), or events
     could not be written
  2  invalid option or value: a flag, a filter expression, a device, a drop
     reason, a namespace, a -w file that cannot be written

Needs root, or CAP_BPF, CAP_PERFMON and CAP_SYSLOG (docs/deploy.md), and a
kernel with BTF (5.17+ for drop reasons).
)";

const char* kOfflineFooter = R"(EXAMPLES
  dropwatch print drops.ndjson --filter 'tcp port 443' --no-stack
  dropwatch print drops.ndjson0 drops.ndjson1 -o json | jq .reason
  dropwatch pcap drops.ndjson -o drops.pcapng --filter 'icmp or icmp6'

  Lines that are not events are reported as FILE:LINE and skipped; the rest
  is read. The filter is the one dropwatch links into the probe, run on the
  stored packet bytes ("packet"; events stored without them do not match).

EXIT STATUS
  0  every line was an event and the output was written
  1  some lines were not events, or the output could not be written
  2  invalid option, filter expression, unreadable input, unwritable output
)";

bool write_all(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(STDOUT_FILENO, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += n;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "dropwatch");
  dw::cli::install_formatter(app, "[OPTIONS]");
  app.footer(kFooter);

  std::string output = isatty(STDOUT_FILENO) ? "text" : "json";
  uint32_t snaplen = DW_SNAPLEN_DEFAULT;
  bool no_stack = false;
  uint64_t count = 0;
  double duration = 0;
  uint32_t ringbuf_mib = 8;
  std::string attach = "auto";
  bool verbose = false;

  app.add_option("-o,--output", output,
                 "Event format: json (NDJSON, one object per line) or text. "
                 "Default: text on a terminal, json otherwise")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"json", "text"}))
      ->group("Output");
  app.add_option("-s,--snaplen", snaplen,
                 "Bytes of each packet to capture, from the MAC header (else the network "
                 "header), at most 4096. Default: 256")
      ->type_name("BYTES")
      ->check(CLI::Range(0u, static_cast<uint32_t>(DW_SNAPLEN_MAX)))
      ->group("Output");
  std::string write_path;
  bool print = false;
  app.add_option("-w,--write", write_path,
                 "Write the dropped packets to FILE as pcapng (- for stdout) instead of "
                 "printing events")
      ->type_name("FILE")
      ->group("Output");
  app.add_flag("--print", print, "With -w, print the events too (as tcpdump --print)")
      ->group("Output");
  std::string output_file, file_size_text;
  uint32_t file_count = 0;
  bool packet_data = false;
  auto* out_file_opt = app.add_option("--output-file", output_file,
                                      "Write the events to FILE instead of stdout (json: with "
                                      "their packet bytes)")
                           ->type_name("FILE")
                           ->group("Output");
  auto* size_opt = app.add_option("-C,--file-size", file_size_text,
                                   "With --output-file, start a new file once one holds SIZE "
                                   "millions of bytes (suffix k, m, g: KiB, MiB, GiB): FILE, "
                                   "FILE1, FILE2, ... as tcpdump -C")
                       ->type_name("SIZE")
                       ->needs(out_file_opt)
                       ->group("Output");
  app.add_option("-W,--file-count", file_count,
                 "With -C, keep at most N files, FILE0 .. FILE<N-1>, overwriting the oldest "
                 "(tcpdump -W)")
      ->type_name("N")
      ->check(CLI::Range(1u, 1000000u))
      ->needs(size_opt)
      ->group("Output");
  std::string metrics_addr;
  size_t metrics_series = 1000;
  auto* metrics_opt =
      app.add_option("--metrics", metrics_addr,
                     "Serve Prometheus metrics at http://ADDR:PORT/metrics: drops by reason, "
                     "function, device and namespace, and every probe counter")
          ->type_name("ADDR:PORT")
          ->group("Output");
  app.add_option("--metrics-max-series", metrics_series,
                 "At most N label sets for dropwatch_drops_total; further ones are counted "
                 "under labels \"other\". Default: 1000")
      ->type_name("N")
      ->check(CLI::Range(size_t(1), size_t(1000000)))
      ->needs(metrics_opt)
      ->group("Output");
  std::string storage_spec;
  app.add_option("--output-storage", storage_spec,
                 "Stream the events as NDJSON to a reader's unix socket (huatuo-bamai "
                 "style) instead of stdout; reconnects when the reader restarts and counts "
                 "what could not be sent")
      ->type_name("unix:PATH")
      ->excludes(out_file_opt)
      ->group("Output");
  app.add_flag("--packet-data", packet_data,
               "Put the captured bytes in each NDJSON event (\"packet\", base64). Default: only "
               "with --output-file")
      ->group("Output");
  app.add_flag("--no-stack", no_stack, "Do not collect kernel stacks (each costs ~5 us in the kernel)")
      ->group("Output");

  double summary_secs = 0;
  size_t top = 10;
  auto* summary_opt =
      app.add_option("--summary", summary_secs,
                     "Instead of events, print a table of the drops shown by reason, location "
                     "and device every SECONDS, and one for the whole run at exit (events "
                     "still go to --output-file and -w)")
          ->type_name("SECONDS")
          ->check(CLI::PositiveNumber)
          ->group("Output");
  app.add_option("--top", top, "Rows in each --summary table. Default: 10")
      ->type_name("N")
      ->check(CLI::Range(size_t(1), size_t(100000)))
      ->needs(summary_opt)
      ->group("Output");
  app.add_option("-c,--count", count, "Stop after N events. Default: 0, never")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber)
      ->group("Stopping");
  app.add_option("-d,--duration", duration, "Stop after SECONDS. Default: 0, never")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber)
      ->group("Stopping");

  std::string filter_expr, devices, devices_excluded, netns_spec, reasons_allow, reasons_deny;
  uint32_t max_eps = 0;
  bool list_reasons = false;
  app.add_option("-f,--filter", filter_expr,
                 "Only drops whose packet matches this tcpdump expression, tested in the "
                 "kernel. Default: every drop")
      ->type_name("EXPR")
      ->group("Filtering");
  auto* dev_opt = app.add_option("--device", devices,
                                 "Only drops on these devices (comma-separated names, in the "
                                 "--netns namespace); drops without a device are dropped")
                      ->type_name("LIST")
                      ->group("Filtering");
  app.add_option("--device-excluded", devices_excluded,
                 "Not drops on these devices; drops without a device pass")
      ->type_name("LIST")
      ->excludes(dev_opt)
      ->group("Filtering");
  app.add_option("--netns", netns_spec,
                 "Only drops in this network namespace: an inode, /proc/PID/ns/net, "
                 "/run/netns/NAME or NAME. Device names are looked up there. Default: "
                 "every namespace; devices in dropwatch's own")
      ->type_name("NS")
      ->group("Filtering");
  auto* reason_opt = app.add_option("--reason", reasons_allow,
                                    "Only these drop reasons (comma-separated, as --list-reasons "
                                    "prints them)")
                         ->type_name("LIST")
                         ->group("Filtering");
  app.add_option("--reason-excluded", reasons_deny, "Not these drop reasons")
      ->type_name("LIST")
      ->excludes(reason_opt)
      ->group("Filtering");
  app.add_option("--max-events-per-second", max_eps,
                 "At most N events a second (a token bucket per CPU, each with its share); "
                 "suppressed drops are counted. Default: 0, no limit")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber)
      ->group("Filtering");
  std::vector<std::string> noise_patterns;
  bool no_default_noise = false, list_noise = false;
  app.add_option("--noise-rule", noise_patterns,
                 "Also suppress drops whose location or a stack frame is a function whose whole "
                 "name matches this RE2 pattern (repeatable); see --list-noise-rules")
      ->type_name("PATTERN")
      ->group("Filtering");
  app.add_flag("--no-default-noise-rules", no_default_noise,
               "Report the drops the default noise rules suppress (socket close, neighbour "
               "failure, bnxt TX completion)")
      ->group("Filtering");
  app.add_flag("--list-noise-rules", list_noise,
               "Print the noise rules in force and the kernel functions they pin, and exit")
      ->group("Filtering");
  app.add_flag("--list-reasons", list_reasons,
               "Print this kernel's drop reasons (from its BTF) and exit")
      ->group("Filtering");

  app.add_option("--ringbuf-size", ringbuf_mib,
                 "Ring buffer size in MiB, a power of two from 1 to 1024; events that find "
                 "it full are counted as lost. Default: 8")
      ->type_name("MIB")
      ->check(CLI::Range(1u, 1024u))
      ->group("Advanced");
  app.add_option("--attach", attach,
                 "auto (BTF tracepoint, else the classic one), tp_btf or tracepoint. "
                 "Default: auto")
      ->type_name("MODE")
      ->check(CLI::IsMember({"auto", "tp_btf", "tracepoint"}))
      ->group("Advanced");
  app.add_flag("-v,--verbose", verbose, "Print libbpf's log, the verifier's included")
      ->group("Advanced");

  dw::cli::OfflineOptions offline;
  auto* print_cmd =
      app.add_subcommand("print", "Stored events (--output-file) as text or NDJSON");
  dw::cli::install_formatter(*print_cmd, "[OPTIONS] FILE...");
  print_cmd->footer(kOfflineFooter);
  print_cmd->add_option("FILE", offline.inputs, "NDJSON event files, - for stdin")
      ->required()
      ->type_name("");
  print_cmd->add_option("-f,--filter", offline.filter, "Only events whose packet matches EXPR")
      ->type_name("EXPR");
  print_cmd->add_option("-o,--output", offline.format, "text or json. Default: text")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"json", "text"}));
  bool print_no_stack = false;
  print_cmd->add_flag("--no-stack", print_no_stack, "Text without the stacks");
  auto* pcap_cmd = app.add_subcommand("pcap", "Stored events (--output-file) to pcapng");
  dw::cli::install_formatter(*pcap_cmd, "[OPTIONS] FILE... -o OUT");
  pcap_cmd->footer(kOfflineFooter);
  pcap_cmd->add_option("FILE", offline.inputs, "NDJSON event files, - for stdin")
      ->required()
      ->type_name("");
  pcap_cmd->add_option("-o,--output", offline.pcap_out, "The pcapng file to write, - for stdout")
      ->required()
      ->type_name("OUT");
  pcap_cmd->add_option("-f,--filter", offline.filter, "Only events whose packet matches EXPR")
      ->type_name("EXPR");
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "dropwatch: %s\nRun 'dropwatch --help' for the options.\n", e.what());
    return kExitUsage;
  }
  if (*print_cmd) {
    offline.stack = !print_no_stack;
    return dw::cli::run_print(offline);
  }
  if (*pcap_cmd) return dw::cli::run_pcap(offline);
  uint64_t file_size = 0;
  if (!file_size_text.empty()) {
    auto n = dw::cli::parse_file_size(file_size_text);
    if (!n) {
      std::fprintf(stderr, "dropwatch: -C %s is not a size: a positive number of millions of "
                           "bytes, or with a suffix k, m or g\n", file_size_text.c_str());
      return kExitUsage;
    }
    file_size = *n;
  }
  if (ringbuf_mib & (ringbuf_mib - 1)) {
    std::fprintf(stderr, "dropwatch: --ringbuf-size %u is not a power of two\n", ringbuf_mib);
    return kExitUsage;
  }

  if (!list_reasons) {
    std::string missing = dw::cli::missing_capabilities(dw::cli::effective_capabilities());
    if (!missing.empty()) {
      std::fprintf(stderr,
                   "dropwatch: missing capabilities: %s; run as root or grant them "
                   "(docs/deploy.md)\n",
                   missing.c_str());
      return kExitRuntime;
    }
  }
  auto reasons = dw::DropReasons::from_kernel();
  if (!reasons) {
    std::fprintf(stderr, "dropwatch: %s\n", reasons.error().message.c_str());
    return kExitRuntime;
  }
  if (list_reasons) {
    for (const auto& [code, name] : reasons->all())
      std::printf("%-32s %u %s\n", name.c_str(), code, reasons->subsystem(code).c_str());
    return kExitOk;
  }

  std::vector<dw::cli::NoiseRule> noise_list;
  if (!no_default_noise) noise_list = dw::cli::default_noise_rules();
  for (const auto& p : noise_patterns) noise_list.push_back({p, ""});
  auto noise = dw::cli::NoiseRules::compile(std::move(noise_list));
  if (!noise) {
    std::fprintf(stderr, "dropwatch: %s\n", noise.error().message.c_str());
    return kExitUsage;
  }
  std::vector<std::pair<uint64_t, uint64_t>> noise_ranges;
  if (!noise->empty()) {
    auto pre = dw::Kallsyms::load();
    if (!pre) {
      std::fprintf(stderr, "dropwatch: %s\n", pre.error().message.c_str());
      return kExitRuntime;
    }
    std::string why;
    noise_ranges = noise->locations(*pre, DW_NOISE_MAX, &why);
    if (!why.empty()) std::fprintf(stderr, "dropwatch: %s\n", why.c_str());
    if (list_noise) {
      for (size_t i = 0; i < noise->rules().size(); i++) {
        const auto& r = noise->rules()[i];
        size_t pinned = noise->functions_named(*pre, i);
        std::printf("%-24s %zu function%s in this kernel%s%s\n", r.pattern.c_str(), pinned,
                    pinned == 1 ? "" : "s", r.why.empty() ? "" : ": ", r.why.c_str());
      }
      return kExitOk;
    }
  } else if (list_noise) {
    std::printf("no noise rules\n");
    return kExitOk;
  }

  dw::ProbeOptions opts;
  opts.noise_ranges = noise_ranges;
  std::optional<dw::cli::DropFilter> filter;
  if (!filter_expr.empty()) {
    std::string error;
    filter = dw::cli::compile_drop_filter(filter_expr, &error);
    if (!filter) {
      std::fputs(error.c_str(), stderr);
      return kExitUsage;
    }
    opts.link_filter = &filter->link->dag;
    opts.net_filter = &filter->net_dag();
  }
  auto ns = dw::cli::resolve_netns(netns_spec);
  if (!ns) {
    std::fprintf(stderr, "dropwatch: %s\n", ns.error().message.c_str());
    return kExitUsage;
  }
  if (!netns_spec.empty()) opts.netns = ns->inode;
  if (!devices.empty() || !devices_excluded.empty()) {
    auto keys = dw::cli::resolve_devices(devices.empty() ? devices_excluded : devices, *ns);
    if (!keys) {
      std::fprintf(stderr, "dropwatch: %s\n", keys.error().message.c_str());
      return kExitUsage;
    }
    opts.devices = *keys;
    opts.device_mode = devices.empty() ? dw::ListMode::kDeny : dw::ListMode::kAllow;
  }
  if (!reasons_allow.empty() || !reasons_deny.empty()) {
    auto codes = dw::cli::resolve_reasons(reasons_allow.empty() ? reasons_deny : reasons_allow,
                                          *reasons);
    if (!codes) {
      std::fprintf(stderr, "dropwatch: %s\n", codes.error().message.c_str());
      return kExitUsage;
    }
    opts.reasons = *codes;
    opts.reason_mode = reasons_allow.empty() ? dw::ListMode::kDeny : dw::ListMode::kAllow;
  }
  opts.max_events_per_second = max_eps;

  opts.snaplen = snaplen;
  opts.stack = !no_stack;
  opts.ringbuf_bytes = ringbuf_mib << 20;
  opts.attach = attach == "tp_btf"       ? dw::AttachMode::kBtf
                : attach == "tracepoint" ? dw::AttachMode::kTracepoint
                                         : dw::AttachMode::kAuto;
  opts.verbose = verbose;

  // Opened before attaching: an unwritable path stops us with nothing loaded.
  std::optional<dw::PcapngWriter> pcap;
  if (!write_path.empty()) {
    if (write_path == "-" && print) {
      std::fprintf(stderr, "dropwatch: -w - and --print would both write to stdout\n");
      return kExitUsage;
    }
    auto w = dw::PcapngWriter::open(write_path, snaplen);
    if (!w) {
      std::fprintf(stderr, "dropwatch: %s\n", w.error().message.c_str());
      return kExitUsage;
    }
    pcap.emplace(std::move(*w));
  }
  const bool print_events = !pcap || print;
  std::optional<dw::cli::DropSummary> summary;
  if (summary_secs > 0) summary.emplace(top);
  std::optional<dw::cli::Metrics> metrics;
  std::unique_ptr<dw::cli::MetricsServer> metrics_server;
  if (!metrics_addr.empty()) {
    metrics.emplace(metrics_series);
    auto srv = dw::cli::MetricsServer::start(metrics_addr, *metrics);
    if (!srv) {
      std::fprintf(stderr, "dropwatch: %s\n", srv.error().message.c_str());
      return kExitUsage;
    }
    metrics_server = std::move(*srv);
  }
  std::optional<dw::cli::UnixStream> storage;
  if (!storage_spec.empty()) {
    auto st = dw::cli::UnixStream::open(storage_spec);
    if (!st) {
      std::fprintf(stderr, "dropwatch: %s\n", st.error().message.c_str());
      return kExitUsage;
    }
    storage.emplace(std::move(*st));
  }
  std::optional<dw::cli::OutputFile> events_file;
  if (!output_file.empty()) {
    if (!print_events) {
      std::fprintf(stderr, "dropwatch: --output-file with -w needs --print\n");
      return kExitUsage;
    }
    auto f = dw::cli::OutputFile::open(output_file, file_size, file_count);
    if (!f) {
      std::fprintf(stderr, "dropwatch: %s\n", f.error().message.c_str());
      return kExitUsage;
    }
    events_file.emplace(std::move(*f));
    packet_data = true;
  }

  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto probe = dw::Probe::start(opts);
  if (!probe) {
    std::fprintf(stderr, "dropwatch: %s\n", probe.error().message.c_str());
    return kExitRuntime;
  }
  // After attaching, so our own program's frames can be named and trimmed.
  auto syms = dw::Kallsyms::load();
  if (!syms) {
    std::fprintf(stderr, "dropwatch: %s\n", syms.error().message.c_str());
    return kExitRuntime;
  }
  dw::EventDecoder decoder(*reasons, *syms);
  std::fprintf(stderr, "dropwatch: watching skb:kfree_skb (%s); Ctrl-C to stop\n",
               (*probe)->attach_point().c_str());

  const bool json = output == "json";
  uint64_t written = 0, malformed = 0, noise_userspace = 0;
  dw::CgroupPaths cgroups;
  bool file_failed = false;  // --output-file could not be written
  bool output_failed = false;
  std::string buf;
  dw::DropEvent ev;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(duration));
  auto on_record = [&](std::span<const uint8_t> rec) {
    if ((count && written >= count) || file_failed) return;
    if (!decoder.decode(rec, ev)) {
      malformed++;
      return;
    }
    if (noise->match(ev)) {
      noise_userspace++;
      return;
    }
    if (ev.sk_cgroup_id) {
      const dw::CgroupPaths::Cgroup& cg = cgroups.lookup(ev.sk_cgroup_id);
      ev.cgroup_path = cg.path;
      ev.container_id = cg.container_id;
    }
    if (metrics) metrics->add(ev);
    if (pcap && !pcap->write(ev)) output_failed = true;
    if (summary) summary->add(ev);
    // With --summary, events only go to a socket or a file (or with --print).
    if (print_events && (storage || events_file || print || !summary)) {
      size_t start = buf.size();
      if (json || storage)  // the socket always gets NDJSON
        dw::format_json(ev, buf, packet_data);
      else
        dw::format_text(ev, buf);
      std::string_view event = std::string_view(buf).substr(start);
      bool ok = true;
      if (storage)
        storage->send(event);  // an undelivered event is counted by the stream
      else if (events_file)
        ok = events_file->add(event);
      if (storage || events_file) buf.resize(start);  // not for stdout
      if (!ok) file_failed = true;  // counted below as not written
    }
    written++;
  };

  // Losses are shown as they happen, at most once a second.
  auto started = std::chrono::steady_clock::now();
  auto next_report = started + std::chrono::seconds(1);
  auto summary_period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(summary_secs));
  auto next_summary = started + summary_period;
  dw::ProbeCounters reported;
  while (!g_stop && !output_failed) {
    if (std::chrono::steady_clock::now() >= next_report) {
      dw::ProbeCounters c = (*probe)->counters();
      uint64_t lost = c.lost - reported.lost, limited = c.rate_limited - reported.rate_limited;
      if (lost || limited)
        std::fprintf(stderr,
                     "dropwatch: last second: %llu events lost (ring buffer full), %llu "
                     "suppressed by --max-events-per-second\n",
                     (unsigned long long)lost, (unsigned long long)limited);
      reported = c;
      next_report += std::chrono::seconds(1);
    }
    auto n = (*probe)->poll(100, on_record);
    if (metrics) metrics->set_probe((*probe)->counters(), noise_userspace);
    if (summary && std::chrono::steady_clock::now() >= next_summary) {
      buf += summary->interval(summary_secs);
      next_summary += summary_period;
    }
    if (!n) {
      std::fprintf(stderr, "dropwatch: %s\n", n.error().message.c_str());
      output_failed = true;
      break;
    }
    if (!buf.empty()) {
      if (!write_all(buf)) {
        if (errno != EPIPE)
          std::fprintf(stderr, "dropwatch: cannot write events: %s\n", std::strerror(errno));
        output_failed = errno != EPIPE;
        break;
      }
      buf.clear();
    }
    if (events_file && !file_failed && !events_file->flush()) file_failed = true;
    if (file_failed) {
      std::fprintf(stderr, "dropwatch: cannot write %s: %s\n", events_file->current().c_str(),
                   std::strerror(errno));
      output_failed = true;
      break;
    }
    if (pcap && !output_failed && !pcap->flush()) output_failed = true;
    if (output_failed) {
      std::fprintf(stderr, "dropwatch: cannot write %s: %s\n", write_path.c_str(),
                   std::strerror(errno));
      break;
    }
    if (count && written >= count) break;
    if (duration > 0 && std::chrono::steady_clock::now() >= deadline) break;
  }

  dw::ProbeCounters c = (*probe)->counters();
  probe->reset();  // detach before the summary: nothing runs past this point
  if (summary && !output_failed) {
    double run = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    buf += summary->total(run);
    if (!write_all(buf) && errno != EPIPE) output_failed = true;
    buf.clear();
  }
  auto u = [](uint64_t v) { return (unsigned long long)v; };
  std::fprintf(stderr,
               "dropwatch: %llu drops seen by the probe, %llu events emitted, %llu lost, "
               "%llu written\n",
               u(c.seen), u(c.emitted), u(c.lost), u(written));
  uint64_t gated = c.reason_rejected + c.netns_rejected + c.device_rejected + c.filtered +
                   c.no_header_filtered + c.rate_limited;
  if (c.noise || noise_userspace)
    std::fprintf(stderr,
                 "dropwatch: noise suppressed: %llu at a pinned location (in the kernel), %llu "
                 "by a stack frame\n",
                 u(c.noise), u(noise_userspace));
  if (gated)
    std::fprintf(stderr,
                 "dropwatch: not shown: %llu by reason, %llu by namespace, %llu by device, %llu "
                 "by the filter, %llu without headers under a filter, %llu rate-limited\n",
                 u(c.reason_rejected), u(c.netns_rejected), u(c.device_rejected), u(c.filtered),
                 u(c.no_header_filtered), u(c.rate_limited));
  if (storage)
    std::fprintf(stderr,
                 "dropwatch: %llu events sent to unix:%s, %llu not delivered (reader away), "
                 "%llu reconnects\n",
                 u(storage->delivered()), storage->path().c_str(), u(storage->undelivered()),
                 u(storage->reconnects()));
  if (events_file) {
    uint64_t stored = events_file->events();
    if (!events_file->close() && !file_failed) {
      std::fprintf(stderr, "dropwatch: cannot write %s: %s\n", events_file->current().c_str(),
                   std::strerror(errno));
      file_failed = output_failed = true;
    }
    std::fprintf(stderr, "dropwatch: %llu events written to %s", u(events_file->written()),
                 output_file.c_str());
    if (events_file->files_started() > 1)
      std::fprintf(stderr, " (%llu files, the last %s)", u(events_file->files_started()),
                   events_file->current().c_str());
    if (file_failed)
      std::fprintf(stderr, "; %llu events could not be written", u(events_file->unwritten()));
    if (!stored && !file_failed) std::fprintf(stderr, " (removed: empty)");
    std::fputc('\n', stderr);
  }
  if (pcap) {
    if (!pcap->close() && !output_failed) {
      std::fprintf(stderr, "dropwatch: cannot write %s: %s\n", write_path.c_str(),
                   std::strerror(errno));
      output_failed = true;
    }
    std::fprintf(stderr, "dropwatch: %s", pcap->report().c_str());
  }
  if (malformed) std::fprintf(stderr, "dropwatch: %llu malformed records skipped\n",
                              (unsigned long long)malformed);
  return output_failed ? kExitRuntime : kExitOk;
}
