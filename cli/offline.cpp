#include "cli/offline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <istream>
#include <optional>

#include "cli/exit_codes.h"
#include "compiler/drop_filter.h"
#include "compiler/interp.h"
#include "events/event_json.h"
#include "events/pcapng.h"
#include "events/printer.h"
#include "events/summary.h"
#include "events/text.h"

namespace dw::cli {
namespace {

using events::Clock;

struct Counts {
  uint64_t events = 0, matched = 0, malformed = 0, no_packet = 0;
};

// An input as a stream of lines; a directory or unreadable file is an error
// (an ifstream would read a directory as an empty file).
Result<int> open_input(const std::string& path) {
  if (path == "-") return STDIN_FILENO;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno("cannot read " + path);
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return fail_errno("cannot read " + path, EISDIR);
  }
  return fd;
}

// Calls `line` for every line of fd; false (errno kept) on a read error.
template <typename Fn>
bool for_each_line(int fd, Fn&& line) {
  std::string pending;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    pending.append(buf, size_t(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
      if (!line(std::string_view(pending).substr(start, nl - start))) return true;
    pending.erase(0, start);
  }
  if (!pending.empty()) line(pending);
  return true;
}

// Reads every line of every input, reporting a line that is not an event as
// FILE:LINE and going on. `sink` gets the events that match.
Status for_each_event(const OfflineOptions& o, const std::optional<filter::DropFilter>& filter,
                      Counts& n, events::Sink& sink) {
  for (const std::string& path : o.inputs) {
    auto fd = open_input(path);
    if (!fd) return std::unexpected(fd.error());
    std::string name = path == "-" ? "<stdin>" : events::escaped(path);
    uint64_t lineno = 0;
    bool ok = for_each_line(*fd, [&](std::string_view line) {
      lineno++;
      if (line.empty()) return true;
      auto ev = events::parse_event_json(line);
      if (!ev) {
        n.malformed++;
        std::fprintf(stderr, "dropwatch: %s:%llu: %s\n", name.c_str(), (unsigned long long)lineno,
                     ev.error().message.c_str());
        return true;
      }
      n.events++;
      if (filter && ev->packet.empty()) {
        n.no_packet++;
        return true;
      }
      if (filter && !filter::interpret(filter->dag(ev->link), ev->packet, ev->wire_len))
        return true;
      n.matched++;
      sink.write(*ev);
      return !sink.failure() && !sink.done();
    });
    int err = errno;
    if (*fd != STDIN_FILENO) ::close(*fd);
    if (!ok) return fail_errno("cannot read " + path, err);
  }
  return {};
}

// The filter, or the rendered diagnostic on stderr and nothing.
std::optional<filter::DropFilter> compile_filter(const std::string& expr, bool* bad) {
  *bad = false;
  if (expr.empty()) return std::nullopt;
  auto f = filter::compile_drop_filter(expr);
  if (f) return std::move(*f);
  std::fputs(f.error().render(expr).c_str(), stderr);
  *bad = true;
  return std::nullopt;
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

// Reads, writes, closes, reports: the shared half of print and pcap.
int run(const OfflineOptions& o, const std::optional<filter::DropFilter>& filter,
        events::Sink& sink, events::Sink& closing, const char* what) {
  Counts n;
  Status read = for_each_event(o, filter, n, sink);
  closing.close(Clock::time_point::max());
  if (!read) {
    std::fprintf(stderr, "dropwatch: %s\n", read.error().message.c_str());
    return kExitUsage;
  }
  if (const Error* e = closing.failure())
    std::fprintf(stderr, "dropwatch: %s\n", e->message.c_str());
  summary(n, what);
  std::fputs(closing.report().c_str(), stderr);
  return closing.failure() || n.malformed ? kExitFailure : kExitOk;
}

std::vector<events::FileId> input_ids(const OfflineOptions& o) {
  std::vector<events::FileId> ids;
  for (const auto& in : o.inputs)
    if (auto id = events::file_id(in)) ids.push_back(*id);
  return ids;
}

}  // namespace

int run_print(const OfflineOptions& o) {
  bool bad;
  auto filter = compile_filter(o.filter, &bad);
  if (bad) return kExitUsage;
  events::OpenOptions oo;
  oo.block_when_full = true;  // no storm here: a slow reader is waited for
  auto out = events::RecordStream::open("-", oo);
  if (!out) {
    std::fprintf(stderr, "dropwatch: %s\n", out.error().message.c_str());
    return kExitUsage;
  }
  events::StreamSink stream(std::move(*out), "standard output");
  events::PrintOptions po{o.format == "json" ? events::Format::Json : events::Format::Text, true,
                          o.stack};
  events::EventPrinter printer(stream.stream(), po);
  struct Printing : events::Sink {  // the printer, stopping when the stream fails
    events::EventPrinter& p;
    events::StreamSink& s;
    Printing(events::EventPrinter& p, events::StreamSink& s) : p(p), s(s) {}
    void write(const events::DropEvent& ev) override { p.write(ev); }
    const Error* failure() const override { return s.failure(); }
    bool done() const override { return s.done(); }
  } sink(printer, stream);
  return run(o, filter, sink, stream, "printed");
}

int run_pcap(const OfflineOptions& o) {
  bool bad;
  auto filter = compile_filter(o.filter, &bad);
  if (bad) return kExitUsage;
  events::OpenOptions oo;
  oo.follow_symlinks = o.follow_symlinks;
  oo.not_these = input_ids(o);
  oo.block_when_full = true;
  auto w = events::PcapngWriter::open(o.pcap_out, 0, oo);
  if (!w) {
    std::fprintf(stderr, "dropwatch: %s\n", w.error().message.c_str());
    return kExitUsage;
  }
  return run(o, filter, *w, *w, "matched");
}

int run_summary(const OfflineOptions& o) {
  bool bad;
  auto filter = compile_filter(o.filter, &bad);
  if (bad) return kExitUsage;
  // The table of every event read; the rate over the span the events cover.
  struct Tally : events::Sink {
    events::DropSummary table;
    int64_t first = 0, last = 0;
    explicit Tally(size_t top) : table(top, 0, nullptr) {}
    void write(const events::DropEvent& ev) override {
      table.add(ev);
      first = first ? std::min(first, ev.realtime_ns) : ev.realtime_ns;
      last = std::max(last, ev.realtime_ns);
    }
  } tally(o.top);
  Counts n;
  if (Status read = for_each_event(o, filter, n, tally); !read) {
    std::fprintf(stderr, "dropwatch: %s\n", read.error().message.c_str());
    return kExitUsage;
  }
  double span = double(tally.last - tally.first) / 1e9;
  std::string title =
      std::to_string(o.inputs.size()) + (o.inputs.size() == 1 ? " file" : " files") +
      (o.filter.empty() ? "" : ", " + events::escaped(o.filter)) + ", " +
      std::to_string(span).substr(0, std::to_string(span).find('.') + 2) + " s from first to last";
  std::fputs(tally.table.stored(span, title).c_str(), stdout);
  summary(n, "counted");
  return std::fflush(stdout) != 0 || std::ferror(stdout) ? kExitFailure
         : n.malformed                                   ? kExitFailure
                                                         : kExitOk;
}

}  // namespace dw::cli
