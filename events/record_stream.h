// Records (NDJSON lines, pcapng blocks) to a file, pipe, terminal or socket
// through a bounded queue, knowing which records reached it.
//
// Writes never block the event loop: a pipe, FIFO or terminal is written
// through a file description of our own with O_NONBLOCK (so the shell's is
// left alone), a socket with MSG_DONTWAIT; a record that finds the queue
// full is dropped and counted, and close() gives up at a deadline, counting
// what is left. After a write error (a full disk) the file is cut back to
// its last whole record, and every later record is counted as unwritten.
//
// Output files are opened as tcpdump -w would, minus its dangers: a new file
// is created with O_EXCL, an existing one is truncated only after checking
// it is not one of the inputs, a symbolic link is not followed unless asked,
// and only a file this stream created is ever removed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace dw::events {

using Clock = std::chrono::steady_clock;

// A file that must not be the output: (st_dev, st_ino).
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};
// The identity of an existing path (nothing for "-" or a missing file).
std::optional<FileId> file_id(const std::string& path);

struct OpenOptions {
  bool follow_symlinks = false;   // --follow-symlinks
  std::vector<FileId> not_these;  // inputs and the other outputs
  size_t max_queue = 8u << 20;    // bytes waiting to be written
  // A full queue waits for the reader instead of dropping: for the offline
  // commands, which have no storm to keep up with.
  bool block_when_full = false;
};

class RecordStream {
 public:
  // "-" is standard output. Errors name the path and the reason.
  static Result<RecordStream> open(const std::string& path, const OpenOptions& o = {});
  // A connected stream socket, now ours; `name` for messages.
  static RecordStream adopt_socket(int fd, std::string name, size_t max_queue);
  RecordStream(RecordStream&& o) noexcept;
  RecordStream& operator=(RecordStream&& o) noexcept;
  ~RecordStream();

  // Queues one record. False when it was not queued: the queue was full
  // (dropped) or the stream had failed (unwritten). `counted` false: not
  // one of the things counted below (a pcapng header block), always queued
  // while the stream works.
  bool add(std::string_view record, bool counted = true);
  // Writes what the destination takes now, without blocking. The error
  // when the stream has failed (also on later calls).
  Status pump();
  // Writes until the queue is empty or `deadline`, waiting for the reader
  // (for callers that may block: the offline commands, the end of a run).
  Status drain(Clock::time_point deadline);
  // Drains until `deadline`, then closes; what was
  // not written is counted. With `remove_if_none`, a file this stream
  // created that received no counted record is removed.
  Status close(Clock::time_point deadline, bool remove_if_none = false);

  uint64_t records() const { return added_; }    // counted records handed to add()
  uint64_t written() const { return written_; }  // known to be in the destination
  uint64_t dropped() const { return dropped_; }  // found the queue full
  // Not written and not waiting: dropped, or lost to an error or to
  // close()'s deadline.
  uint64_t unwritten() const { return added_ - written_ - queued_counted(); }
  uint64_t bytes() const { return file_bytes_ + (buf_.size() - sent_); }
  size_t pending() const { return buf_.size() - sent_; }  // bytes queued
  bool failed() const { return failed_; }
  const Error& error() const { return error_; }
  // The reader of a pipe or socket went away (EPIPE): not an error for
  // stdout, where it means "stop" as for any filter in a pipeline.
  bool reader_gone() const { return reader_gone_; }
  bool created() const { return created_; }
  const std::string& path() const { return path_; }
  FileId id() const { return id_; }

 private:
  enum class Kind { File, Stream, Socket, Polled };
  RecordStream() = default;
  uint64_t queued_counted() const;
  void write_some();
  void fail_with(int err);
  void settle(size_t done);

  int fd_ = -1;
  Kind kind_ = Kind::File;
  std::string path_;
  FileId id_;
  bool created_ = false, failed_ = false, reader_gone_ = false;
  Error error_;
  size_t max_queue_ = 8u << 20;
  bool block_ = false;
  std::string buf_;  // queued bytes; [0, sent_) already written
  size_t sent_ = 0;
  std::vector<size_t> ends_;   // end offset in buf_ of each queued record
  std::vector<bool> counted_;  // whether that record is counted
  size_t first_ = 0;           // first record in ends_ not fully written
  uint64_t added_ = 0, written_ = 0, dropped_ = 0, file_bytes_ = 0;
};

}  // namespace dw::events
