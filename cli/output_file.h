// --output-file: events to a file, rotated like tcpdump's -C SIZE -W COUNT.
//
// Without a size limit everything goes to FILE. With one, a new file is
// started before an event once the current file holds SIZE bytes or more:
// FILE, FILE1, FILE2, ...; with COUNT too, FILE0 .. FILE<COUNT-1> (zero
// padded to one width), the oldest overwritten, a ring of COUNT files.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "probe/result.h"

namespace dw::cli {

// "10" (millions of bytes, as tcpdump), "10k", "10m", "10g" (KiB, MiB, GiB).
std::optional<uint64_t> parse_file_size(std::string_view text);

class OutputFile {
 public:
  // Opens the first file (so a bad path fails before the probe is attached).
  static Result<OutputFile> open(std::string base, uint64_t size_limit, uint32_t count);
  OutputFile(OutputFile&& o) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile();

  // Appends one event (buffered). False (errno set) when a write failed.
  bool add(std::string_view event);
  bool flush();
  // Flushes and closes; removes the file when nothing was ever written to it.
  bool close();
  const std::string& current() const { return name_; }
  uint64_t files_started() const { return started_; }
  uint64_t events() const { return events_; }
  uint64_t written() const { return flushed_; }  // events known to be in the files
  // Events handed to add() that did not reach the file (after a failure).
  uint64_t unwritten() const { return attempted_ - flushed_; }

 private:
  OutputFile(std::string base, uint64_t size_limit, uint32_t count)
      : base_(std::move(base)), limit_(size_limit), count_(count) {}
  std::string name_for(uint64_t index) const;
  bool start(uint64_t index);

  std::string base_, name_;
  uint64_t limit_;
  uint32_t count_;
  FILE* f_ = nullptr;
  bool failed_ = false;
  uint64_t size_ = 0, index_ = 0, started_ = 0, events_ = 0, attempted_ = 0, flushed_ = 0;
};

// Removes `path` when it is an empty regular file (never a device or a pipe).
void remove_if_empty(const std::string& path);

}  // namespace dw::cli
