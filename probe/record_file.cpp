#include "probe/record_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace dw {

constexpr size_t kFlushAt = 64 << 10;

Result<RecordFile> RecordFile::open(const std::string& path) {
  int fd = path == "-" ? dup(STDOUT_FILENO)
                       : ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot write " + path + ": " + std::strerror(errno), errno);
  struct stat st;
  bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  return RecordFile(fd, path, regular);
}

RecordFile::RecordFile(RecordFile&& o) noexcept { *this = std::move(o); }

RecordFile& RecordFile::operator=(RecordFile&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
    regular_ = o.regular_;
    failed_ = o.failed_;
    error_ = o.error_;
    buf_ = std::move(o.buf_);
    ends_ = std::move(o.ends_);
    counted_ = std::move(o.counted_);
    added_ = o.added_;
    written_ = o.written_;
    file_bytes_ = o.file_bytes_;
  }
  return *this;
}

RecordFile::~RecordFile() { close(); }

bool RecordFile::add(std::string_view record, bool counted) {
  added_ += counted;
  if (failed_ || fd_ < 0) {
    errno = error_;
    return false;
  }
  buf_.append(record);
  ends_.push_back(buf_.size());
  counted_.push_back(counted);
  return buf_.size() < kFlushAt || flush();
}

bool RecordFile::flush() {
  if (failed_ || fd_ < 0) {
    errno = error_;
    return !failed_;
  }
  size_t done = 0;
  while (done < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = n < 0 ? errno : ENOSPC;
      failed_ = true;
      break;
    }
    done += size_t(n);
  }
  // Whole records written; a partial one is cut off where the file allows.
  size_t whole = std::upper_bound(ends_.begin(), ends_.end(), done) - ends_.begin();
  size_t keep = whole ? ends_[whole - 1] : 0;
  written_ += std::count(counted_.begin(), counted_.begin() + whole, true);
  if (failed_ && done > keep && regular_ && ftruncate(fd_, off_t(file_bytes_ + keep)) == 0)
    done = keep;
  file_bytes_ += done;
  buf_.clear();
  ends_.clear();
  counted_.clear();
  if (failed_) errno = error_;
  return !failed_;
}

bool RecordFile::close(bool remove_if_none) {
  if (fd_ < 0) return !failed_;
  bool ok = flush();
  int err = errno;
  if (::close(std::exchange(fd_, -1)) != 0 && ok) {
    ok = false;
    err = errno;
    failed_ = true;
  }
  if (remove_if_none && added_ == 0 && regular_ && path_ != "-") ::unlink(path_.c_str());
  errno = err;
  return ok;
}

}  // namespace dw
