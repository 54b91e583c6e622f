#include "events/output_file.h"

#include <utility>

#include "events/format.h"

namespace dw::events {

std::optional<uint64_t> parse_file_size(std::string_view t) {
  uint64_t unit = 1000000;
  if (!t.empty()) {
    switch (t.back()) {
      case 'k':
      case 'K': unit = 1ull << 10; break;
      case 'm':
      case 'M': unit = 1ull << 20; break;
      case 'g':
      case 'G': unit = 1ull << 30; break;
      default: unit = 0;
    }
    if (unit)
      t.remove_suffix(1);
    else
      unit = 1000000;
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

Result<OutputFile> OutputFile::open(std::string base, uint64_t size_limit, uint32_t count,
                                    const OpenOptions& o) {
  OutputFile f(std::move(base), size_limit, count, o);
  if (auto ok = f.start(0); !ok) return std::unexpected(ok.error());
  return f;
}

std::string OutputFile::name_for(uint64_t index) const {
  if (!limit_) return base_;
  if (!count_) return index ? base_ + std::to_string(index) : base_;
  std::string n = std::to_string(index % count_);
  size_t width = std::to_string(count_ - 1).size();
  return base_ + std::string(width - n.size(), '0') + n;
}

Status OutputFile::start(uint64_t index) {
  name_ = name_for(index);
  auto f = RecordStream::open(name_, open_);
  if (!f) return std::unexpected(f.error());
  file_.emplace(std::move(*f));
  index_ = index;
  started_++;
  return {};
}

Status OutputFile::finish_file(Clock::time_point deadline) {
  if (!file_) return {};
  RecordStream& f = *file_;
  Status ok = f.close(deadline, /*remove_if_none=*/true);
  removed_empty_ = f.records() == 0 && f.created();
  done_added_ += f.records();
  done_written_ += f.written();
  file_.reset();
  return ok;
}

bool OutputFile::add(std::string_view event) {
  if (error_ || !file_) {
    done_added_++;
    return false;
  }
  if (limit_ && file_ && file_->bytes() >= limit_) {
    Status ok = finish_file(Clock::now() + std::chrono::seconds(1));
    if (ok) ok = start(index_ + 1);
    if (!ok) {
      error_ = ok.error();
      done_added_++;
      return false;
    }
  }
  if (!file_) {  // a new file could not be started
    done_added_++;
    return false;
  }
  if (!file_->add(event)) {
    if (file_->failed()) error_ = file_->error();
    return false;
  }
  return true;
}

void OutputFile::write(const DropEvent& ev) {
  buf_.clear();
  format_json(ev, buf_, /*packet_data=*/true);
  add(buf_);
}

void OutputFile::flush(const Tick&) {
  if (error_ || !file_) return;
  if (auto ok = file_->pump(); !ok) error_ = ok.error();  // file_ checked above
}

void OutputFile::close(Clock::time_point deadline) {
  if (!file_) return;
  if (auto ok = finish_file(deadline); !ok && !error_) error_ = ok.error();
}

std::string OutputFile::report() const {
  std::string r = "dropwatch: " + std::to_string(written()) + " events written to " + base_;
  if (started_ > 1) r += " (" + std::to_string(started_) + " files, the last " + name_ + ")";
  if (unwritten()) r += "; " + std::to_string(unwritten()) + " events could not be written";
  if (removed_empty_ && !events()) r += " (removed: empty)";
  return r + "\n";
}

}  // namespace dw::events
