// dropwatch: report the packets the kernel drops, why and where.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/help.h"
#include "dropwatch.h"
#include "probe/drop_reasons.h"
#include "probe/event.h"
#include "probe/format.h"
#include "probe/kallsyms.h"
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

OUTPUT
  Events go to stdout: NDJSON (one object per line, huatuo dropwatch field
  names, see docs/events.md) or text (a Retis-like header line, a tcpdump-style
  packet line, the stack). Messages and the exit summary go to stderr. Once the
  probe is attached dropwatch prints "dropwatch: watching ..." on stderr.

EXIT STATUS
  0  stopped by --count, --duration, SIGINT or SIGTERM
  1  the probe could not start (not root, no BTF, no tracepoint), or events
     could not be written
  2  invalid option or value

Needs root (CAP_BPF, CAP_PERFMON) and a kernel with BTF (5.17+ for drop reasons).
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
  app.add_flag("--no-stack", no_stack, "Do not collect kernel stacks (each costs ~5 us in the kernel)")
      ->group("Output");

  app.add_option("-c,--count", count, "Stop after N events. Default: 0, never")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber)
      ->group("Stopping");
  app.add_option("-d,--duration", duration, "Stop after SECONDS. Default: 0, never")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber)
      ->group("Stopping");

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
  if (ringbuf_mib & (ringbuf_mib - 1)) {
    std::fprintf(stderr, "dropwatch: --ringbuf-size %u is not a power of two\n", ringbuf_mib);
    return kExitUsage;
  }

  auto reasons = dw::DropReasons::from_kernel();
  if (!reasons) {
    std::fprintf(stderr, "dropwatch: %s\n", reasons.error().message.c_str());
    return kExitRuntime;
  }

  dw::ProbeOptions opts;
  opts.snaplen = snaplen;
  opts.stack = !no_stack;
  opts.ringbuf_bytes = ringbuf_mib << 20;
  opts.attach = attach == "tp_btf"       ? dw::AttachMode::kBtf
                : attach == "tracepoint" ? dw::AttachMode::kTracepoint
                                         : dw::AttachMode::kAuto;
  opts.verbose = verbose;

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
  uint64_t written = 0, malformed = 0;
  bool output_failed = false;
  std::string buf;
  dw::DropEvent ev;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(duration));
  auto on_record = [&](std::span<const uint8_t> rec) {
    if (count && written >= count) return;
    if (!decoder.decode(rec, ev)) {
      malformed++;
      return;
    }
    if (json)
      dw::format_json(ev, buf);
    else
      dw::format_text(ev, buf);
    written++;
  };

  while (!g_stop && !output_failed) {
    auto n = (*probe)->poll(100, on_record);
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
    if (count && written >= count) break;
    if (duration > 0 && std::chrono::steady_clock::now() >= deadline) break;
  }

  dw::ProbeCounters c = (*probe)->counters();
  probe->reset();  // detach before the summary: nothing runs past this point
  std::fprintf(stderr,
               "dropwatch: %llu drops seen by the probe, %llu events emitted, %llu lost, "
               "%llu written\n",
               (unsigned long long)c.seen, (unsigned long long)c.emitted,
               (unsigned long long)c.lost, (unsigned long long)written);
  if (malformed) std::fprintf(stderr, "dropwatch: %llu malformed records skipped\n",
                              (unsigned long long)malformed);
  return output_failed ? kExitRuntime : kExitOk;
}
