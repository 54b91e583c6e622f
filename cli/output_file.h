// --output-file: events to a file, rotated like tcpdump's -C SIZE -W COUNT.
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
#include <utility>

#include "probe/record_file.h"
#include "probe/result.h"

namespace dw::cli {

// "10" (millions of bytes, as tcpdump), "10k", "10m", "10g" (KiB, MiB, GiB).
std::optional<uint64_t> parse_file_size(std::string_view text);

class OutputFile {
 public:
  // Opens the first file (so a bad path fails before the probe is attached).
  static Result<OutputFile> open(std::string base, uint64_t size_limit, uint32_t count);
  OutputFile(OutputFile&& o) noexcept
      : base_(std::move(o.base_)), name_(std::move(o.name_)), limit_(o.limit_), count_(o.count_),
        file_(std::move(o.file_)), failed_(o.failed_), closed_(std::exchange(o.closed_, true)),
        error_(o.error_), index_(o.index_), started_(o.started_), done_added_(o.done_added_),
        done_written_(o.done_written_) {}
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile() { close(); }

  // Appends one event (buffered). False (errno set) when a write failed.
  bool add(std::string_view event);
  bool flush();
  // Flushes and closes; removes the file when nothing was ever written to it.
  bool close();
  const std::string& current() const { return name_; }
  uint64_t files_started() const { return started_; }
  uint64_t events() const { return done_added_ + (file_ ? file_->records() : 0); }
  // Events known to be in the files; events handed to add() that are not
  // (after a write error; the file then ends on a whole event).
  uint64_t written() const { return done_written_ + (file_ ? file_->written() : 0); }
  uint64_t unwritten() const { return events() - written(); }

 private:
  OutputFile(std::string base, uint64_t size_limit, uint32_t count)
      : base_(std::move(base)), limit_(size_limit), count_(count) {}
  std::string name_for(uint64_t index) const;
  bool start(uint64_t index);
  bool finish_file();  // closes the current file, keeping its counts

  std::string base_, name_;
  uint64_t limit_;
  uint32_t count_;
  std::optional<RecordFile> file_;
  bool failed_ = false, closed_ = false;
  int error_ = 0;
  uint64_t index_ = 0, started_ = 0, done_added_ = 0, done_written_ = 0;
};

}  // namespace dw::cli
