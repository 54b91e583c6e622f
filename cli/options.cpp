#include "cli/options.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "bpf/dropwatch_abi.h"
#include "cli/exit_codes.h"
#include "cli/filter_file.h"
#include "cli/help_text.h"
#include "cli/man_formatter.h"
#include "cli/resolve.h"
#include "cli/words.h"
#include "events/output_file.h"

namespace dw::cli {
namespace {

// Checks of numbers that name the value and the bound it breaks. CLI11's
// own answer `--count abc` with "Value abc not in range 0.000000 to
// 179769313486231570814527423731704356798070567525844996598917476803...".
CLI::Validator whole(uint64_t lo, uint64_t hi) {
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        errno = 0;
        char* end = nullptr;
        unsigned long long v = std::strtoull(s.c_str(), &end, 10);
        if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])) || *end)
          return "'" + s + "' is not a whole number";
        if (errno == ERANGE || v > hi) return s + " is more than " + std::to_string(hi);
        if (v < lo) return s + " is less than " + std::to_string(lo);
        return "";
      },
      "", "");
}

CLI::Validator seconds(double lo, double hi) {
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        char* end = nullptr;
        double v = std::strtod(s.c_str(), &end);
        if (s.empty() || std::isspace(static_cast<unsigned char>(s[0])) || *end ||
            !std::isfinite(v))
          return "'" + s + "' is not a number of seconds";
        char bound[32];
        if (v < lo) {
          std::snprintf(bound, sizeof bound, "%g", lo);
          return s + " is less than " + bound;
        }
        if (v > hi) {
          std::snprintf(bound, sizeof bound, "%g", hi);
          return s + " is more than " + bound;
        }
        return "";
      },
      "", "");
}

// A comma-separated list that names something: `--device ''` would
// otherwise mean no gate at all.
CLI::Validator names_some(const char* what) {
  std::string w = what;
  return CLI::Validator(
      [w](std::string& s) -> std::string {
        return split_list(s).empty() ? "no " + w + " given" : "";
      },
      "", "");
}

// The raw texts parsed later, and the flags that other flags refer to.
struct Pending {
  std::string file_size, filter_file;
  bool no_stack = false, no_default_noise = false;
  CLI::Option* output_file = nullptr;
  CLI::Option* summary = nullptr;
  CLI::Option* metrics = nullptr;
};

void output_options(CLI::App& app, WatchOptions& w, Pending& p) {
  app.add_option("-o,--output", w.format,
                 "Event format: json (NDJSON, one object per line) or text. "
                 "Default: text on a terminal, json otherwise")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"json", "text"}))
      ->group("Output");
  app.add_option("-s,--snaplen", w.snaplen,
                 "Bytes of each packet to capture, from the MAC header (else the network "
                 "header), at most 4096. Default: 256")
      ->type_name("BYTES")
      ->check(whole(0, DW_SNAPLEN_MAX))
      ->group("Output");
  app.add_option("-w,--write", w.write_path,
                 "Write the dropped packets to FILE as pcapng (- for stdout) instead of "
                 "printing events")
      ->type_name("FILE")
      ->group("Output");
  app.add_flag("--print", w.print, "With -w, print the events too (as tcpdump --print)")
      ->group("Output");
  p.output_file = app.add_option("--output-file", w.output_file,
                                 "Write the events to FILE instead of stdout (json: with "
                                 "their packet bytes)")
                      ->type_name("FILE")
                      ->group("Output");
  auto* size = app.add_option("-C,--file-size", p.file_size,
                              "With --output-file, start a new file once one holds SIZE "
                              "millions of bytes (suffix k, m, g: KiB, MiB, GiB): FILE, "
                              "FILE1, FILE2, ... as tcpdump -C")
                   ->type_name("SIZE")
                   ->needs(p.output_file)
                   ->group("Output");
  app.add_option("-W,--file-count", w.file_count,
                 "With -C, keep at most N files, FILE0 .. FILE<N-1>, overwriting the oldest "
                 "(tcpdump -W)")
      ->type_name("N")
      ->check(whole(1, 1000000))
      ->needs(size)
      ->group("Output");
  app.add_flag("--follow-symlinks", w.follow_symlinks,
               "Let -w and --output-file write through a symbolic link. Default: a link is "
               "refused, so that one planted in a shared directory cannot redirect the writes")
      ->group("Output");
  app.add_option("--output-storage", w.storage_spec,
                 "Stream the events as NDJSON to a reader's unix socket (huatuo-bamai "
                 "style) instead of stdout; reconnects when the reader restarts and counts "
                 "what could not be sent")
      ->type_name("unix:PATH")
      ->excludes(p.output_file)
      ->group("Output");
  app.add_option("--task-id", w.task_id,
                 "Put \"task_id\": ID in every event of this run (NDJSON, stored files, the "
                 "collector's stream; the text header and pcapng comments show it), so that "
                 "a collector can tell runs apart (huatuo's flag). Printable ASCII, at most 128 "
                 "characters")
      ->type_name("ID")
      ->group("Output");
  app.add_flag("--packet-data", w.packet_data,
               "Put the captured bytes in each NDJSON event (\"packet\", base64). Default: only "
               "with --output-file")
      ->group("Output");
  app.add_flag("--no-stack", p.no_stack,
               "Do not collect kernel stacks (each costs ~5 us in the kernel)")
      ->group("Output");
  app.add_option("--stack-budget", w.stack_budget,
                 "Take at most N kernel stacks per second (over all CPUs); further events "
                 "carry \"stack_skipped\" and no stack, so a drop storm keeps its pace. 0: a "
                 "stack for every event. Default: 2000")
      ->type_name("N")
      ->check(whole(0, 100000000))
      ->group("Output");
  auto* track = app.add_flag("--track", w.track,
                             "Record where each packet the filter keeps is seen on its way "
                             "(net:net_dev_queue, net_dev_start_xmit, netif_rx, "
                             "netif_receive_skb, napi_gro_receive_entry) and attach that "
                             "\"path\" to its drop. Costs every packet at those points a "
                             "map lookup, and the filter on the first one; needs tp_btf")
                    ->group("Explaining drops");
  app.add_flag("--nft-trace", w.nft_trace,
               "Name the nftables rule behind each NETFILTER_DROP (\"nft\": table, chain, "
               "handle, rule). MODIFIES THE RULESET while it runs: adds a table "
               "dropwatch_trace_PID that sets meta nftrace on every packet in the --netns "
               "namespace (default: dropwatch's own), removed at exit, or at the next start "
               "after a kill")
      ->group("Explaining drops");
  app.add_option("--track-max", w.track_max,
                 "With --track, follow at most N packets at once (least recently seen "
                 "ones are forgotten first). Default: 8192")
      ->type_name("N")
      ->check(whole(1, 1000000))
      ->needs(track)
      ->group("Explaining drops");
}

void report_options(CLI::App& app, WatchOptions& w, Pending& p) {
  p.metrics = app.add_option("--metrics", w.metrics_addr,
                             "Serve Prometheus metrics at http://ADDR:PORT/metrics: drops by "
                             "reason, function, device and namespace, and every probe counter")
                  ->type_name("ADDR:PORT")
                  ->group("Output");
  app.add_option("--metrics-max-series", w.metrics_series,
                 "At most N label sets for dropwatch_drops_total; further ones are counted "
                 "under labels \"other\". Default: 1000")
      ->type_name("N")
      ->check(whole(1, 1000000))
      ->needs(p.metrics)
      ->group("Output");
  p.summary = app.add_option("--summary", w.summary_secs,
                             "Instead of events, print a table of the drops shown by reason, "
                             "location and device every SECONDS, and one for the whole run at "
                             "exit (events still go to --output-file and -w)")
                  ->type_name("SECONDS")
                  ->check(seconds(0.001, 1e9))
                  ->group("Output");
  app.add_option("--top", w.top, "Rows in each --summary table. Default: 10")
      ->type_name("N")
      ->check(whole(1, 100000))
      ->needs(p.summary)
      ->group("Output");
  app.add_option("-c,--count", w.count, "Stop after N events. Default: 0, never")
      ->type_name("N")
      ->check(whole(0, UINT64_MAX))
      ->group("Stopping");
  app.add_option("-d,--duration", w.duration, "Stop after SECONDS. Default: 0, never")
      ->type_name("SECONDS")
      ->check(seconds(0, 1e300))
      ->group("Stopping");
}

void filter_options(CLI::App& app, WatchOptions& w, Pending& p) {
  app.add_option("-f,--filter", w.filter,
                 "Only drops whose packet matches this tcpdump expression, tested in the "
                 "kernel. Default: every drop")
      ->type_name("EXPR")
      ->group("Filtering");
  app.add_option("-F,--filter-file", p.filter_file,
                 "Read the filter expression from FILE, as tcpdump -F: lists of hosts and ports "
                 "over several lines, # to the end of a line a comment")
      ->type_name("FILE")
      ->group("Filtering");
  auto* dev = app.add_option("--device", w.devices,
                             "Only drops on these devices (comma-separated names, in the "
                             "--netns namespace); drops without a device are dropped")
                  ->type_name("LIST")
                  ->check(names_some("device names"))
                  ->group("Filtering");
  app.add_option("--device-excluded", w.devices_excluded,
                 "Not drops on these devices; drops without a device pass")
      ->type_name("LIST")
      ->check(names_some("device names"))
      ->excludes(dev)
      ->group("Filtering");
  app.add_option("--netns", w.netns,
                 "Only drops in this network namespace: an inode, /proc/PID/ns/net, "
                 "/run/netns/NAME or NAME. Device names are looked up there. Default: "
                 "every namespace; devices in dropwatch's own")
      ->type_name("NS")
      ->group("Filtering");
  auto* reason = app.add_option("--reason", w.reasons_allow,
                                "Only these drop reasons (comma-separated, as --list-reasons "
                                "prints them)")
                     ->type_name("LIST")
                     ->check(names_some("reason names"))
                     ->group("Filtering");
  app.add_option("--reason-excluded", w.reasons_deny, "Not these drop reasons")
      ->type_name("LIST")
      ->check(names_some("reason names"))
      ->excludes(reason)
      ->group("Filtering");
  app.add_option("--max-events-per-second", w.max_events_per_second,
                 "At most N events a second (a token bucket per CPU, each with its share); "
                 "suppressed drops are counted. Default: 0, no limit")
      ->type_name("N")
      ->check(whole(0, UINT32_MAX))
      ->group("Filtering");
  app.add_option("--noise-rule", w.noise_patterns,
                 "Also suppress drops whose location or a stack frame is a function whose whole "
                 "name matches this RE2 pattern (repeatable); see --list-noise-rules")
      ->type_name("PATTERN")
      ->allow_extra_args(false)
      ->group("Filtering");
  app.add_flag("--no-default-noise-rules", p.no_default_noise,
               "Report the drops the default noise rules suppress (socket close, neighbour "
               "failure, bnxt TX completion)")
      ->group("Filtering");
  app.add_flag("--list-noise-rules", w.list_noise,
               "Print the noise rules in force and the kernel functions they pin, and exit")
      ->group("Filtering");
  app.add_flag("--list-reasons", w.list_reasons,
               "Print this kernel's drop reasons (from its BTF) and exit")
      ->group("Filtering");
}

void advanced_options(CLI::App& app, WatchOptions& w) {
  app.add_option("--ringbuf-size", w.ringbuf_mib,
                 "Ring buffer size in MiB, a power of two from 1 to 1024; events that find "
                 "it full are counted as lost. Default: 8")
      ->type_name("MIB")
      ->check(whole(1, 1024))
      ->group("Advanced");
  app.add_option("--attach", w.attach,
                 "auto (BTF tracepoint, else the classic one), tp_btf, tp_btf-copy (the "
                 "filter reads a copy of the headers, not the packet in place) or "
                 "tracepoint. Default: auto")
      ->type_name("MODE")
      ->check(CLI::IsMember({"auto", "tp_btf", "tp_btf-copy", "tracepoint"}))
      ->group("Advanced");
  app.add_flag("-v,--verbose", w.verbose, "Print libbpf's log, the verifier's included")
      ->group("Advanced");
}

// dropwatch print, pcap and summary.
std::tuple<CLI::App*, CLI::App*, CLI::App*> offline_commands(CLI::App& app, OfflineOptions& o,
                                                             bool* no_stack) {
  auto* print = app.add_subcommand("print", "Stored events (--output-file) as text or NDJSON");
  install_formatter(*print, "[OPTIONS] FILE...");
  print->allow_extras();  // the files after the first: cli/words.h
  print->footer(kOfflineFooter);
  print->add_option("FILE", o.inputs, "NDJSON event files, - for stdin")
      ->required()
      ->allow_extra_args(false)
      ->type_name("");
  print->add_option("-f,--filter", o.filter, "Only events whose packet matches EXPR")
      ->type_name("EXPR");
  print->add_option("-o,--output", o.format, "text or json. Default: text")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"json", "text"}));
  print->add_flag("--no-stack", *no_stack, "Text without the stacks");
  auto* pcap = app.add_subcommand("pcap", "Stored events (--output-file) to pcapng");
  install_formatter(*pcap, "[OPTIONS] FILE... -o OUT");
  pcap->allow_extras();
  pcap->footer(kOfflineFooter);
  pcap->add_option("FILE", o.inputs, "NDJSON event files, - for stdin")
      ->required()
      ->allow_extra_args(false)
      ->type_name("");
  pcap->add_option("-o,--output", o.pcap_out, "The pcapng file to write, - for stdout")
      ->required()
      ->type_name("OUT");
  pcap->add_option("-f,--filter", o.filter, "Only events whose packet matches EXPR")
      ->type_name("EXPR");
  pcap->add_flag("--follow-symlinks", o.follow_symlinks,
                 "Write OUT through a symbolic link (refused by default)");
  auto* sum = app.add_subcommand(
      "summary",
      "The --summary table of stored events (--output-file), on another machine, no root");
  install_formatter(*sum, "[OPTIONS] FILE...");
  sum->allow_extras();
  sum->footer(kOfflineFooter);
  sum->add_option("FILE", o.inputs, "NDJSON event files, - for stdin")
      ->required()
      ->allow_extra_args(false)
      ->type_name("");
  sum->add_option("-f,--filter", o.filter, "Only events whose packet matches EXPR")
      ->type_name("EXPR");
  sum->add_option("--top", o.top, "Rows in the table; the rest summed in one line. Default: 10")
      ->type_name("N")
      ->check(whole(1, 100000));
  return {print, pcap, sum};
}

// Why a --task-id cannot be used as it is; empty when it can.
std::string task_id_problem(const std::string& id) {
  if (id.size() > 128) return "longer than 128 characters";
  for (size_t i = 0; i < id.size(); i++) {
    auto c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c > 0x7e)
      return "not printable ASCII (byte 0x" + std::string(1, "0123456789abcdef"[c >> 4]) +
             "0123456789abcdef"[c & 15] + " at offset " + std::to_string(i) + ")";
  }
  return "";
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "dropwatch: %s\n", message.c_str());
  return kExitUsage;
}

// What CLI11 cannot check alone; 0 when all is well, else the exit status.
int check_values(WatchOptions& w, const Pending& p) {
  if (!p.file_size.empty()) {
    auto n = events::parse_file_size(p.file_size);
    if (!n)
      return usage_error("-C " + p.file_size +
                         " is not a size: a positive number of millions of bytes, or with a "
                         "suffix k, m or g");
    w.file_size = *n;
  }
  if (w.ringbuf_mib & (w.ringbuf_mib - 1))
    return usage_error("--ringbuf-size " + std::to_string(w.ringbuf_mib) +
                       " is not a power of two");
  if (!std::isfinite(w.duration)) return usage_error("--duration: not a number of seconds");
  if (auto why = task_id_problem(w.task_id); !why.empty()) return usage_error("--task-id: " + why);
  if (w.write_path == "-" && w.print)
    return usage_error("-w - and --print would both write to stdout");
  if (!w.output_file.empty() && !w.write_path.empty() && !w.print)
    return usage_error("--output-file with -w needs --print");
  return 0;
}

// The one filter of a live run, from --filter, the words after the options
// or -F's file; 0, or the exit status when there are two or the file
// cannot be read.
int settle_filter(const CLI::App& app, const std::vector<std::string>& words, WatchOptions& w,
                  const Pending& p) {
  if (!words.empty()) {
    std::string expr = join_words(words);
    if (!app.get_subcommands().empty())
      return usage_error("'" + expr + "' before the command " +
                         app.get_subcommands()[0]->get_name() + ": give it as its --filter");
    if (!w.filter.empty() || !p.filter_file.empty())
      return usage_error(
          "two filters: " +
          (p.filter_file.empty() ? "--filter '" + w.filter + "'" : "-F " + p.filter_file) +
          " and the words '" + expr + "' (give one)");
    w.filter = expr;
  }
  if (p.filter_file.empty()) return 0;
  if (!w.filter.empty())
    return usage_error("two filters: --filter '" + w.filter + "' and -F " + p.filter_file +
                       " (give one)");
  auto text = read_filter_file(p.filter_file);
  if (!text) return usage_error(text.error().message);
  w.filter = *text;
  w.filter_origin = p.filter_file;
  return 0;
}

}  // namespace

std::variant<Command, int> parse_command_line(int argc, char** argv) {
  CLI::App app(kDescription, "dropwatch");
  install_formatter(app, "[OPTIONS] [EXPRESSION...]");
  app.footer(kFooter);
  Command cmd;
  WatchOptions& w = cmd.watch;
  w.format = isatty(STDOUT_FILENO) ? "text" : "json";
  Pending p;
  output_options(app, w, p);
  report_options(app, w, p);
  filter_options(app, w, p);
  advanced_options(app, w);
  bool print_no_stack = false;
  auto [print, pcap, sum] = offline_commands(app, cmd.offline, &print_no_stack);
  auto* reasons = app.add_subcommand(
      "reasons",
      "This kernel's drop reasons with their codes, what each means, the usual causes "
      "and the counter to cross-check");
  install_formatter(*reasons, "[NAME...]");
  reasons->footer(kReasonsFooter);
  reasons
      ->add_option("NAME", cmd.reason_names,
                   "Reasons to show (NO_SOCKET or "
                   "SKB_DROP_REASON_NO_SOCKET). Default: all")
      ->type_name("");
  reasons->allow_extras();
  // A filter may also follow the options as words, as tcpdump takes one.
  std::vector<std::string> filter_words;
  app.add_option("EXPRESSION", filter_words,
                 "The filter as tcpdump takes it: words after the options (instead of "
                 "--filter)")
      ->type_name("")
      ->allow_extra_args(false)
      ->group("Filtering");
  app.allow_extras();
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
  // The words CLI11 left over, for the command that was given.
  auto words = [](const CLI::App& a, std::vector<std::string>& into) {
    auto r = words_left(a, into);
    if (r) {
      into = std::move(*r);
      return 0;
    }
    std::string cmd = a.get_parent() ? " " + a.get_name() : "";
    return usage_error((cmd.empty() ? "" : a.get_name() + ": ") + r.error().message +
                       "\nRun 'dropwatch" + cmd + " --help' for the options.");
  };
  for (CLI::App* sub : {print, pcap, sum})
    if (*sub)
      if (int rc = words(*sub, cmd.offline.inputs)) return rc;
  if (*reasons)
    if (int rc = words(*reasons, cmd.reason_names)) return rc;
  if (int rc = words(app, filter_words)) return rc;
  if (int rc = settle_filter(app, filter_words, w, p)) return rc;
  if (*print) {
    cmd.kind = Command::Kind::Print;
    cmd.offline.stack = !print_no_stack;
    return cmd;
  }
  if (*pcap) {
    cmd.kind = Command::Kind::Pcap;
    return cmd;
  }
  if (*sum) {
    cmd.kind = Command::Kind::Summary;
    return cmd;
  }
  if (*reasons) {
    cmd.kind = Command::Kind::Reasons;
    return cmd;
  }
  w.stack = !p.no_stack;
  w.default_noise = !p.no_default_noise;
  if (int rc = check_values(w, p)) return rc;
  return cmd;
}

}  // namespace dw::cli
