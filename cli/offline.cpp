#include "cli/offline.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>

#include "cli/drop_filter.h"
#include "compiler/interp.h"
#include "probe/event_json.h"
#include "probe/format.h"
#include "probe/pcapng.h"

namespace dw::cli {
namespace {

constexpr int kOk = 0, kRuntime = 1, kUsage = 2;

struct Counts {
  uint64_t events = 0, matched = 0, malformed = 0, no_packet = 0;
};

// Reads every line of every input, reporting a line that is not an event as
// FILE:LINE and going on. `sink` returns false to stop (output failed).
// Returns false when an input could not be opened.
bool for_each_event(const OfflineOptions& o, const std::optional<DropFilter>& filter, Counts& n,
                    const std::function<bool(const DropEvent&)>& sink) {
  for (const std::string& path : o.inputs) {
    std::ifstream file;
    if (path != "-") {
      file.open(path);
      if (!file) {
        std::fprintf(stderr, "dropwatch: cannot read %s: %s\n", path.c_str(), std::strerror(errno));
        return false;
      }
    }
    std::istream& in = path == "-" ? std::cin : file;
    std::string line;
    for (uint64_t lineno = 1; std::getline(in, line); lineno++) {
      if (line.empty()) continue;
      auto ev = parse_event_json(line);
      if (!ev) {
        n.malformed++;
        std::fprintf(stderr, "dropwatch: %s:%llu: %s\n", path == "-" ? "<stdin>" : path.c_str(),
                     (unsigned long long)lineno, ev.error().message.c_str());
        continue;
      }
      n.events++;
      if (filter) {
        if (ev->packet.empty()) {
          n.no_packet++;
          continue;
        }
        const filter::Dag& d = ev->link_level ? filter->link->dag : filter->net_dag();
        if (!filter::interpret(d, ev->packet, ev->wire_len)) continue;
      }
      n.matched++;
      if (!sink(*ev)) return true;
    }
  }
  return true;
}

std::optional<DropFilter> filter_or_report(const OfflineOptions& o, bool* bad) {
  *bad = false;
  if (o.filter.empty()) return std::nullopt;
  std::string error;
  auto f = compile_drop_filter(o.filter, &error);
  if (!f) {
    std::fputs(error.c_str(), stderr);
    *bad = true;
  }
  return f;
}

void summary(const Counts& n, const std::string& what) {
  auto u = [](uint64_t v) { return (unsigned long long)v; };
  std::fprintf(stderr, "dropwatch: %llu events read, %llu %s", u(n.events), u(n.matched),
               what.c_str());
  if (n.no_packet)
    std::fprintf(stderr, ", %llu without packet bytes (stored without --packet-data) not matched",
                 u(n.no_packet));
  if (n.malformed) std::fprintf(stderr, ", %llu lines not events", u(n.malformed));
  std::fputc('\n', stderr);
}

}  // namespace

int run_print(const OfflineOptions& o) {
  bool bad;
  auto filter = filter_or_report(o, &bad);
  if (bad) return kUsage;
  Counts n;
  bool write_failed = false;
  std::string buf;
  auto sink = [&](const DropEvent& ev) {
    if (o.format == "json")
      format_json(ev, buf, true);
    else
      format_text(ev, buf, o.stack);
    if (std::fwrite(buf.data(), 1, buf.size(), stdout) != buf.size()) write_failed = true;
    buf.clear();
    return !write_failed;
  };
  if (!for_each_event(o, filter, n, sink)) return kUsage;
  if (std::fflush(stdout) != 0) write_failed = true;
  if (write_failed && errno != EPIPE)
    std::fprintf(stderr, "dropwatch: cannot write events: %s\n", std::strerror(errno));
  summary(n, "printed");
  return write_failed || n.malformed ? kRuntime : kOk;
}

int run_pcap(const OfflineOptions& o) {
  bool bad;
  auto filter = filter_or_report(o, &bad);
  if (bad) return kUsage;
  auto w = PcapngWriter::open(o.pcap_out, 0);
  if (!w) {
    std::fprintf(stderr, "dropwatch: %s\n", w.error().message.c_str());
    return kUsage;
  }
  Counts n;
  bool write_failed = false;
  auto sink = [&](const DropEvent& ev) {
    write_failed = !w->write(ev);
    return !write_failed;
  };
  if (!for_each_event(o, filter, n, sink)) {
    w->close();
    return kUsage;
  }
  if (!w->close()) write_failed = true;
  if (write_failed)
    std::fprintf(stderr, "dropwatch: cannot write %s: %s\n", o.pcap_out.c_str(),
                 std::strerror(errno));
  summary(n, "matched");
  std::fprintf(stderr, "dropwatch: %s", w->report().c_str());
  return write_failed || n.malformed ? kRuntime : kOk;
}

}  // namespace dw::cli
