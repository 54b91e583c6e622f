// --output-storage unix:PATH: NDJSON events to a reader's unix stream socket
// (huatuo-bamai's way of collecting dropwatch's events). The reader may
// restart: a broken connection is dropped, reconnected at most every 200 ms,
// and every event that could not be sent meanwhile is counted.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "probe/result.h"

namespace dw::cli {

class UnixStream {
 public:
  // "unix:/run/x.sock"; connects once, so a wrong path fails before the
  // probe is attached.
  static Result<UnixStream> open(std::string_view spec);
  UnixStream(UnixStream&& o) noexcept;
  UnixStream& operator=(UnixStream&&) = delete;
  ~UnixStream();

  // Sends one event (a whole line); false when it was not delivered.
  bool send(std::string_view event);
  uint64_t delivered() const { return delivered_; }
  uint64_t undelivered() const { return undelivered_; }
  uint64_t reconnects() const { return reconnects_; }
  const std::string& path() const { return path_; }

 private:
  explicit UnixStream(std::string path) : path_(std::move(path)) {}
  bool connect_now();

  std::string path_;
  int fd_ = -1;
  std::chrono::steady_clock::time_point last_try_{};
  uint64_t delivered_ = 0, undelivered_ = 0, reconnects_ = 0;
};

}  // namespace dw::cli
