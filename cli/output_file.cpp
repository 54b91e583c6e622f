#include "cli/output_file.h"

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

Result<OutputFile> OutputFile::open(std::string base, uint64_t size_limit, uint32_t count) {
  OutputFile f(std::move(base), size_limit, count);
  if (!f.start(0)) return fail("cannot write " + f.name_ + ": " + std::strerror(errno), errno);
  return f;
}

std::string OutputFile::name_for(uint64_t index) const {
  if (!limit_) return base_;
  if (!count_) return index ? base_ + std::to_string(index) : base_;
  std::string n = std::to_string(index % count_);
  size_t width = std::to_string(count_ - 1).size();
  return base_ + std::string(width - n.size(), '0') + n;
}

bool OutputFile::start(uint64_t index) {
  name_ = name_for(index);
  auto f = RecordFile::open(name_);
  if (!f) {
    errno = f.error().code;
    return false;
  }
  file_.emplace(std::move(*f));
  index_ = index;
  started_++;
  return true;
}

bool OutputFile::finish_file() {
  bool ok = file_->close(/*remove_if_none=*/true);
  int err = errno;
  done_added_ += file_->records();
  done_written_ += file_->written();
  file_.reset();
  errno = err;
  return ok;
}

bool OutputFile::add(std::string_view event) {
  if (failed_ || closed_) {
    done_added_++;
    errno = error_;
    return false;
  }
  if (limit_ && file_->bytes() >= limit_ && (!finish_file() || !start(index_ + 1))) {
    failed_ = true;
    error_ = errno;
    done_added_++;
    return false;
  }
  if (!file_->add(event)) {
    failed_ = true;
    error_ = errno;
    return false;
  }
  return true;
}

bool OutputFile::flush() {
  if (failed_ || closed_) return !failed_;
  if (!file_->flush()) {
    failed_ = true;
    error_ = errno;
  }
  return !failed_;
}

bool OutputFile::close() {
  if (std::exchange(closed_, true) || !file_) return !failed_;
  bool ok = finish_file();
  if (!ok && !failed_) {
    failed_ = true;
    error_ = errno;
  }
  errno = error_;
  return !failed_;
}

}  // namespace dw::cli
