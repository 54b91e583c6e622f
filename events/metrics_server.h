// The HTTP side of --metrics: libmicrohttpd (Debian's libmicrohttpd12) with
// its own thread and epoll, so many clients are served at once and a slow or
// idle one delays nobody; each connection is closed after kIdleSeconds
// without progress and a request may hold at most kRequestBytes. Serves
// GET /metrics (Metrics::render) and a pointer to it at /.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "events/metrics.h"

struct MHD_Daemon;

namespace dw::events {

class MetricsServer {
 public:
  static constexpr unsigned kIdleSeconds = 10;
  static constexpr size_t kRequestBytes = 16 << 10;
  static constexpr unsigned kMaxConnections = 512;

  // "127.0.0.1:9464", "[::1]:9464", ":9464" (every address). Listens at
  // once, so a bad address or a port in use fails before the probe loads.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& addr_port,
                                                      const Metrics& metrics);
  ~MetricsServer();
  uint64_t scrapes() const { return scrapes_; }
  // libmicrohttpd's request callback (`connection` is its MHD_Connection).
  static int on_request(void* self, void* connection, const char* url, const char* method);

 private:
  explicit MetricsServer(const Metrics& m) : metrics_(m) {}

  const Metrics& metrics_;
  MHD_Daemon* daemon_ = nullptr;
  int fd_ = -1;
  std::atomic<uint64_t> scrapes_{0};
};

}  // namespace dw::events
