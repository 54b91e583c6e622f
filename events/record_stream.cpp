#include "events/record_stream.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace dw::events {
namespace {

constexpr size_t kWriteAt = 64 << 10;  // add() writes once this much waits

struct Opened {
  int fd = -1;
  bool created = false;
  bool polled = false;  // a blocking pipe or terminal: poll, then <= PIPE_BUF
};

// Standard output on a description of our own where it may block: a pipe
// or terminal reopened with O_NONBLOCK; a file or socket as it is.
Result<Opened> open_stdout() {
  struct stat st;
  if (fstat(STDOUT_FILENO, &st) != 0) return fail_errno("cannot write standard output");
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISSOCK(st.st_mode)) {
    int fd = ::open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) return Opened{fd, false};
  }
  int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return fail_errno("cannot write standard output");
  bool polled = !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISSOCK(st.st_mode);
  return Opened{fd, false, polled};
}

// tcpdump -w's open, without following a planted link or truncating what
// it should not: created with O_EXCL, else opened as it is. O_NONBLOCK: a
// FIFO without a reader is an error, not a hang (files ignore it).
Result<Opened> open_path(const std::string& path, const OpenOptions& o) {
  int flags = O_WRONLY | O_CLOEXEC | O_NONBLOCK;
  int fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
  if (fd >= 0) return Opened{fd, true};
  if (errno != EEXIST) return fail_errno("cannot write " + path);
  fd = ::open(path.c_str(), flags | (o.follow_symlinks ? O_CREAT : O_NOFOLLOW), 0644);
  if (fd < 0 && errno == ELOOP)
    return fail(path +
                    " is a symbolic link: not followed, so that a link planted in a shared "
                    "directory cannot make dropwatch overwrite its target (give the target, "
                    "or --follow-symlinks)",
                ELOOP);
  if (fd < 0) return fail_errno("cannot write " + path);
  return Opened{fd, false};
}

}  // namespace

std::optional<FileId> file_id(const std::string& path) {
  struct stat st;
  if (path == "-" || stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

Result<RecordStream> RecordStream::open(const std::string& path, const OpenOptions& o) {
  auto opened = path == "-" ? open_stdout() : open_path(path, o);
  if (!opened) return std::unexpected(opened.error());
  RecordStream s;
  s.fd_ = opened->fd;
  s.created_ = opened->created;
  s.path_ = path;
  s.max_queue_ = o.max_queue;
  s.block_ = o.block_when_full;
  struct stat st;
  if (fstat(s.fd_, &st) != 0) return fail_errno("cannot write " + path);
  s.id_ = {st.st_dev, st.st_ino};
  if (std::find(o.not_these.begin(), o.not_these.end(), s.id_) != o.not_these.end()) {
    s.created_ = false;  // never removed: it is someone else's
    return fail("cannot write " + path + ": it is also an input or another output");
  }
  if (S_ISREG(st.st_mode) && !s.created_ && path != "-" && ftruncate(s.fd_, 0) != 0)
    return fail_errno("cannot write " + path);
  s.kind_ = S_ISSOCK(st.st_mode)                         ? Kind::Socket
            : S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ? Kind::File
            : opened->polled                             ? Kind::Polled
                                                         : Kind::Stream;
  return s;
}

RecordStream RecordStream::adopt_socket(int fd, std::string name, size_t max_queue) {
  RecordStream s;
  s.fd_ = fd;
  s.kind_ = Kind::Socket;
  s.path_ = std::move(name);
  s.max_queue_ = max_queue;
  return s;
}

RecordStream::RecordStream(RecordStream&& o) noexcept { *this = std::move(o); }

RecordStream& RecordStream::operator=(RecordStream&& o) noexcept {
  if (this == &o) return *this;
  if (fd_ >= 0) (void)close(Clock::now());
  fd_ = std::exchange(o.fd_, -1);
  kind_ = o.kind_;
  path_ = std::move(o.path_);
  id_ = o.id_;
  created_ = std::exchange(o.created_, false);
  failed_ = o.failed_;
  reader_gone_ = o.reader_gone_;
  error_ = std::move(o.error_);
  max_queue_ = o.max_queue_;
  block_ = o.block_;
  buf_ = std::move(o.buf_);
  sent_ = o.sent_;
  ends_ = std::move(o.ends_);
  counted_ = std::move(o.counted_);
  first_ = o.first_;
  added_ = o.added_;
  written_ = o.written_;
  dropped_ = o.dropped_;
  file_bytes_ = o.file_bytes_;
  return *this;
}

RecordStream::~RecordStream() {
  if (fd_ >= 0) (void)close(Clock::now());
}

uint64_t RecordStream::queued_counted() const {
  return uint64_t(std::count(counted_.begin() + long(first_), counted_.end(), true));
}

bool RecordStream::add(std::string_view record, bool counted) {
  added_ += counted;
  if (failed_ || fd_ < 0) return false;
  size_t pending = buf_.size() - sent_;
  if (pending && pending + record.size() > max_queue_) {
    if (block_)
      (void)drain(Clock::time_point::max());
    else
      write_some();
    pending = buf_.size() - sent_;
    if (failed_) return false;
    if (pending && pending + record.size() > max_queue_) {
      dropped_ += counted;
      return false;
    }
  }
  buf_.append(record);
  ends_.push_back(buf_.size());
  counted_.push_back(counted);
  if (buf_.size() - sent_ >= kWriteAt) write_some();
  return !failed_;
}

Status RecordStream::pump() {
  if (!failed_ && fd_ >= 0) write_some();
  if (failed_) return std::unexpected(error_);
  return {};
}

void RecordStream::write_some() {
  while (sent_ < buf_.size()) {
    size_t want = buf_.size() - sent_;
    const char* p = buf_.data() + sent_;
    if (kind_ == Kind::Polled) {
      pollfd pf{fd_, POLLOUT, 0};
      if (poll(&pf, 1, 0) != 1 || !(pf.revents & (POLLOUT | POLLERR | POLLHUP))) break;
      want = std::min<size_t>(want, PIPE_BUF);  // what a writable pipe takes without blocking
    }
    ssize_t n = kind_ == Kind::Socket ? ::send(fd_, p, want, MSG_DONTWAIT | MSG_NOSIGNAL)
                                      : ::write(fd_, p, want);
    if (n > 0) {
      sent_ += size_t(n);
      file_bytes_ += uint64_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    fail_with(n < 0 ? errno : ENOSPC);
    return;
  }
  settle(sent_);
}

// Counts the records written whole up to byte `done` and drops them from
// the queue.
void RecordStream::settle(size_t done) {
  while (first_ < ends_.size() && ends_[first_] <= done) written_ += counted_[first_++];
  if (first_ == ends_.size()) {
    buf_.clear();
    ends_.clear();
    counted_.clear();
    sent_ = first_ = 0;
  } else if (first_ > 0 && ends_[first_ - 1] > buf_.size() / 2) {
    size_t cut = ends_[first_ - 1];
    buf_.erase(0, cut);
    sent_ -= cut;
    ends_.erase(ends_.begin(), ends_.begin() + long(first_));
    counted_.erase(counted_.begin(), counted_.begin() + long(first_));
    for (size_t& e : ends_) e -= cut;
    first_ = 0;
  }
}

// After a write error nothing more is written; a record cut short is cut
// off the file where the file allows, so that it ends on a whole record.
void RecordStream::fail_with(int err) {
  failed_ = true;
  reader_gone_ = err == EPIPE || err == ECONNRESET;
  error_ = Error{"cannot write " + (path_ == "-" ? std::string("standard output") : path_) + ": " +
                     std::strerror(err),
                 err};
  settle(sent_);
  size_t keep = first_ ? ends_[first_ - 1] : 0;
  if (sent_ > keep && kind_ == Kind::File &&
      ftruncate(fd_, off_t(file_bytes_ - (sent_ - keep))) == 0)
    file_bytes_ -= sent_ - keep;
  buf_.clear();
  ends_.clear();
  counted_.clear();
  sent_ = first_ = 0;
}

Status RecordStream::drain(Clock::time_point deadline) {
  while (fd_ >= 0) {
    write_some();
    if (failed_ || sent_ == buf_.size()) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLOUT, 0};
    poll(&p, 1, int(std::min<int64_t>(left.count(), 100)));
  }
  if (failed_) return std::unexpected(error_);
  return {};
}

Status RecordStream::close(Clock::time_point deadline, bool remove_if_none) {
  if (fd_ < 0) return failed_ ? Status(std::unexpected(error_)) : Status();
  (void)drain(deadline);
  // What the reader did not take by the deadline is not written.
  buf_.clear();
  ends_.clear();
  counted_.clear();
  sent_ = first_ = 0;
  if (::close(std::exchange(fd_, -1)) != 0 && !failed_ && errno != EINTR) fail_with(errno);
  if (remove_if_none && created_ && added_ == 0 && kind_ == Kind::File) ::unlink(path_.c_str());
  if (failed_) return std::unexpected(error_);
  return {};
}

}  // namespace dw::events
