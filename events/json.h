// Minimal streaming JSON building for NDJSON events: strings are escaped and
// invalid UTF-8 becomes U+FFFD, so every line parses (comm and device names
// are arbitrary bytes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dw::events::json {

void append_string(std::string& out, std::string_view s);

// Appends `"key":` after a comma when the object already has members.
class Object {
 public:
  explicit Object(std::string& out) : out_(out) { out_ += '{'; }
  Object& key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    append_string(out_, k);
    out_ += ':';
    return *this;
  }
  Object& str(std::string_view k, std::string_view v) {
    key(k);
    append_string(out_, v);
    return *this;
  }
  Object& num(std::string_view k, uint64_t v) {
    key(k);
    out_ += std::to_string(v);
    return *this;
  }
  Object& snum(std::string_view k, int64_t v) {
    key(k);
    out_ += std::to_string(v);
    return *this;
  }
  Object& boolean(std::string_view k, bool v) {
    key(k);
    out_ += v ? "true" : "false";
    return *this;
  }
  // A nested object; close it before adding to this one.
  Object child(std::string_view k) {
    key(k);
    return Object(out_);
  }
  template <typename Range>
  Object& strings(std::string_view k, const Range& items) {
    key(k);
    out_ += '[';
    bool first = true;
    for (const auto& item : items) {
      if (!first) out_ += ',';
      first = false;
      append_string(out_, item);
    }
    out_ += ']';
    return *this;
  }
  // Raw access for arrays of objects.
  std::string& raw() { return out_; }
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace dw::events::json
