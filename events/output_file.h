// --output-file: events as NDJSON, with their packet bytes, to a file,
// rotated like tcpdump's -C SIZE -W COUNT.
//
// Without a size limit everything goes to FILE. With one, a new file is
// started before an event once the current file holds SIZE bytes or more:
// FILE, FILE1, FILE2, ...; with COUNT too, FILE0 .. FILE<COUNT-1> (zero
// padded to one width), the oldest overwritten, a ring of COUNT files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "events/record_stream.h"
#include "events/sink.h"

namespace dw::events {

// "10" (millions of bytes, as tcpdump), "10k", "10m", "10g" (KiB, MiB, GiB).
std::optional<uint64_t> parse_file_size(std::string_view text);

class OutputFile : public Sink {
 public:
  // Opens the first file (so a bad path fails before the probe is attached).
  static Result<OutputFile> open(std::string base, uint64_t size_limit, uint32_t count,
                                 const OpenOptions& o = {});
  OutputFile(OutputFile&&) noexcept = default;
  OutputFile& operator=(OutputFile&&) = delete;

  void write(const DropEvent& ev) override;
  void flush(const Tick&) override;
  void close(Clock::time_point deadline) override;
  // "dropwatch: N events written to FILE[ (K files, the last F)][; M events
  // could not be written][ (removed: empty)]\n"
  std::string report() const override;
  const Error* failure() const override { return error_ ? &*error_ : nullptr; }

  // Appends one formatted event; false when it could not be (counted).
  bool add(std::string_view event);
  const std::string& current() const { return name_; }
  uint64_t files_started() const { return started_; }
  uint64_t events() const { return done_added_ + (file_ ? file_->records() : 0); }
  // Events known to be in the files; events handed to add() that are not.
  uint64_t written() const { return done_written_ + (file_ ? file_->written() : 0); }
  uint64_t unwritten() const { return events() - written(); }

 private:
  OutputFile(std::string base, uint64_t size_limit, uint32_t count, const OpenOptions& o)
      : base_(std::move(base)), limit_(size_limit), count_(count), open_(o) {}
  std::string name_for(uint64_t index) const;
  Status start(uint64_t index);
  Status finish_file(Clock::time_point deadline);  // closes the current file, keeping its counts

  std::string base_, name_;
  uint64_t limit_;
  uint32_t count_;
  OpenOptions open_;
  std::optional<RecordStream> file_;
  std::optional<Error> error_;
  std::string buf_;  // one formatted event
  bool removed_empty_ = false;
  uint64_t index_ = 0, started_ = 0, done_added_ = 0, done_written_ = 0;
};

}  // namespace dw::events
