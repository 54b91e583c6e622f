#include "cli/output_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace dw::cli {

std::optional<uint64_t> parse_file_size(std::string_view t) {
  uint64_t unit = 1000000;
  if (!t.empty()) {
    switch (t.back()) {
      case 'k': case 'K': unit = 1ull << 10; break;
      case 'm': case 'M': unit = 1ull << 20; break;
      case 'g': case 'G': unit = 1ull << 30; break;
      default: unit = 0;
    }
    if (unit) t.remove_suffix(1);
    else unit = 1000000;
  }
  if (t.empty() || t.size() > 9) return std::nullopt;
  uint64_t n = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + uint64_t(c - '0');
  }
  if (n == 0) return std::nullopt;
  return n * unit;
}

void remove_if_empty(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
    ::unlink(path.c_str());
}

Result<OutputFile> OutputFile::open(std::string base, uint64_t size_limit, uint32_t count) {
  OutputFile f(std::move(base), size_limit, count);
  if (!f.start(0)) return fail("cannot write " + f.name_ + ": " + std::strerror(errno), errno);
  return f;
}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : base_(std::move(o.base_)),
      name_(std::move(o.name_)),
      limit_(o.limit_),
      count_(o.count_),
      f_(std::exchange(o.f_, nullptr)),
      failed_(o.failed_),
      size_(o.size_),
      index_(o.index_),
      started_(o.started_),
      events_(o.events_),
      attempted_(o.attempted_),
      flushed_(o.flushed_) {}

OutputFile::~OutputFile() { close(); }

std::string OutputFile::name_for(uint64_t index) const {
  if (!limit_) return base_;
  if (!count_) return index ? base_ + std::to_string(index) : base_;
  std::string n = std::to_string(index % count_);
  size_t width = std::to_string(count_ - 1).size();
  return base_ + std::string(width - n.size(), '0') + n;
}

bool OutputFile::start(uint64_t index) {
  name_ = name_for(index);
  f_ = std::fopen(name_.c_str(), "w");
  if (!f_) return false;
  index_ = index;
  size_ = 0;
  started_++;
  return true;
}

bool OutputFile::add(std::string_view event) {
  attempted_++;
  if (!f_ || failed_) return false;
  if (limit_ && size_ >= limit_) {
    if (std::fclose(std::exchange(f_, nullptr)) != 0) return failed_ = true, false;
    flushed_ = events_;
    if (!start(index_ + 1)) return failed_ = true, false;
  }
  if (std::fwrite(event.data(), 1, event.size(), f_) != event.size()) return failed_ = true, false;
  size_ += event.size();
  events_++;
  return true;
}

bool OutputFile::flush() {
  if (!f_ || failed_ || std::fflush(f_) != 0) return failed_ = true, false;
  flushed_ = events_;
  return true;
}

bool OutputFile::close() {
  if (!f_) return true;
  bool ok = std::fclose(std::exchange(f_, nullptr)) == 0;
  int err = errno;
  // Once a write failed, what stdio still held is gone with it.
  if (ok && !failed_) flushed_ = events_;
  if (events_ == 0) remove_if_empty(name_);
  errno = err;
  return ok && !failed_;
}

}  // namespace dw::cli
