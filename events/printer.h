// Events on a stream, as the operator reads them: NDJSON (one object a
// line) or text (events/format.h), and the stream itself as a sink.
#pragma once

#include <string>

#include "events/record_stream.h"
#include "events/sink.h"

namespace dw::events {

enum class Format { Json, Text };

struct PrintOptions {
  Format format = Format::Json;
  bool packet_data = false;  // json: the captured bytes too
  bool stack = true;         // text: the stack lines
};

// Formats each event into `out` (owned by a StreamSink later in the list).
class EventPrinter : public Sink {
 public:
  EventPrinter(RecordStream& out, PrintOptions o) : out_(out), o_(o) {}
  void write(const DropEvent& ev) override;

 private:
  RecordStream& out_;
  PrintOptions o_;
  std::string buf_;
};

// A stream other sinks write into (standard output: events and summary
// tables), last in the list: flush() writes what the reader takes, close()
// waits for it until the deadline; the report counts what was not written.
class StreamSink : public Sink {
 public:
  StreamSink(RecordStream s, std::string what) : s_(std::move(s)), what_(std::move(what)) {}
  RecordStream& stream() { return s_; }
  void write(const DropEvent&) override {}
  void flush(const Tick&) override { (void)s_.pump(); }
  void close(Clock::time_point deadline) override { (void)s_.close(deadline); }
  // "dropwatch: N events could not be written to standard output (the
  // reader did not keep up)\n" when some were not.
  std::string report() const override;
  // A write error, except the reader going away (done()).
  const Error* failure() const override {
    return s_.failed() && !s_.reader_gone() ? &s_.error() : nullptr;
  }
  bool done() const override { return s_.reader_gone(); }

 private:
  RecordStream s_;
  std::string what_;
};

}  // namespace dw::events
