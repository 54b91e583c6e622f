// Records (pcapng blocks, NDJSON lines) to a file through one buffer, knowing
// which of them reached the file. stdio cannot say that after a write error;
// a full disk must cost only the records that did not fit, counted, and
// leave a file that ends on a whole record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probe/result.h"

namespace dw {

class RecordFile {
 public:
  // Creates or truncates `path`; "-" is standard output.
  static Result<RecordFile> open(const std::string& path);
  RecordFile(RecordFile&& o) noexcept;
  RecordFile& operator=(RecordFile&& o) noexcept;
  ~RecordFile();

  // Buffers one record; writes the buffer once it holds 64 KiB. False after
  // a write error (errno set then); every later record is counted unwritten.
  // `counted` false: a record that is not one of the things counted below
  // (a pcapng header block).
  bool add(std::string_view record, bool counted = true);
  // Writes what is buffered. After a short write the file is cut back to
  // the last whole record (not possible on a pipe or device).
  bool flush();
  // Flush, then close. With `remove_if_none`, a regular file that received
  // no counted record is removed (never a device, a pipe or stdout).
  bool close(bool remove_if_none = false);

  uint64_t records() const { return added_; }         // handed to add()
  uint64_t written() const { return written_; }       // known to be in the file
  uint64_t unwritten() const { return added_ - written_; }
  uint64_t bytes() const { return file_bytes_ + buf_.size(); }
  bool failed() const { return failed_; }
  const std::string& path() const { return path_; }

 private:
  RecordFile(int fd, std::string path, bool regular)
      : fd_(fd), path_(std::move(path)), regular_(regular) {}

  int fd_ = -1;
  std::string path_;
  bool regular_ = false, failed_ = false;
  int error_ = 0;
  std::string buf_;
  std::vector<size_t> ends_;     // end offset in buf_ of each buffered record
  std::vector<bool> counted_;    // whether that record is counted
  uint64_t added_ = 0, written_ = 0, file_bytes_ = 0;
};

}  // namespace dw
