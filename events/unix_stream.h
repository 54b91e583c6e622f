// --output-storage unix:PATH: NDJSON events to a reader's unix stream socket
// (huatuo-bamai's way of collecting dropwatch's events). The reader may
// restart or stall: the socket is written without blocking through a
// bounded queue; a broken connection is dropped and reconnected at most
// every 200 ms; every event that could not be delivered is counted.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "events/record_stream.h"
#include "events/sink.h"

namespace dw::events {

class UnixStream : public Sink {
 public:
  // "unix:/run/x.sock"; connects once, so a wrong path fails before the
  // probe is attached.
  static Result<UnixStream> open(std::string_view spec, size_t max_queue = 8u << 20);
  UnixStream(UnixStream&&) noexcept = default;
  UnixStream& operator=(UnixStream&&) = delete;

  void write(const DropEvent& ev) override;
  void flush(const Tick& t) override;
  void close(Clock::time_point deadline) override;
  // "dropwatch: N events sent to unix:PATH, M not delivered (reader away),
  // K reconnects\n"; a reader that does not read counts as away.
  std::string report() const override;

  // Queues one event (a whole line); false when it is already known not to
  // be delivered (counted).
  bool send(std::string_view event);
  uint64_t delivered() const { return delivered_ + (conn_ ? conn_->written() : 0); }
  uint64_t undelivered() const { return undelivered_ + (conn_ ? conn_->unwritten() : 0); }
  uint64_t reconnects() const { return reconnects_; }
  const std::string& path() const { return path_; }

 private:
  UnixStream(std::string path, size_t max_queue) : path_(std::move(path)), max_queue_(max_queue) {}
  Status connect_now();
  void drop_connection(Clock::time_point deadline);

  std::string path_;
  size_t max_queue_;
  std::optional<RecordStream> conn_;
  Clock::time_point last_try_{};
  std::string buf_;
  uint64_t delivered_ = 0, undelivered_ = 0, reconnects_ = 0;
};

}  // namespace dw::events
